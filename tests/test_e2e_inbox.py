"""The coordinator's Monday through the real process: /find that finds, /inbox, the status
message in the General topic, gathered approval notices, the interim reply with a date."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.harness import CITY_CHAT, STAFF_GROUP, button, eventually, running

pytestmark = pytest.mark.e2e

TZ = ZoneInfo("Europe/Saratov")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
COORDINATOR, EXECUTOR, ROADS = 1004, 1005, 1006
HEATING = "Нет отопления в доме 5 по ул. Ленина"
POTHOLE = "Огромная яма на дороге у дома 12 по улице Мира"
LEAK = "В подвале течёт труба, дом 7 по Ленинскому проспекту"


async def _reply_with(c, chat: int, words: str, after: int = 0):
    for m in reversed(await c.sent(chat)):
        if m["message_id"] > after and words in (m.get("text") or ""):
            return m
    return None


async def _last_id(c, chat: int) -> int:
    sent = await c.sent(chat)
    return max((m["message_id"] for m in sent), default=0)


async def _stored(env, n: int) -> bool:
    from storage import incidents

    return await incidents.count(env.app.db.reader) >= n


async def _ask(c, who: int, command: str, words: str) -> dict:
    after = await _last_id(c, who)
    await c.tg_message(who, who, command)
    return await eventually(lambda: _reply_with(c, who, words, after))


async def test_find_ignores_case_and_word_forms_and_pages_past_ten(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.vk_comment(100001, 17, 500101, HEATING)
        await eventually(lambda: c.card(1))
        await c.tg_message(CITY_CHAT, 2001, POTHOLE)
        await eventually(lambda: c.card(2))
        await c.tg_message(CITY_CHAT, 2002, LEAK)
        await eventually(lambda: c.card(3))

        # «ленина» finds «ул. Ленина» (Cyrillic case), a form finds its word
        found = await _ask(c, COORDINATOR, "/find ленина", "Найдено")
        assert "№1" in found["text"] and "№2" not in found["text"]
        found = await _ask(c, COORDINATOR, "/find ЛЕНИНА", "Найдено")
        assert "№1" in found["text"]
        found = await _ask(c, COORDINATOR, "/find отоплением", "Найдено")
        assert "№1" in found["text"] and "№3" not in found["text"]
        found = await _ask(c, COORDINATOR, "/find трубы", "Найдено")
        assert "№3" in found["text"]
        # by street with its number, and by the message's number
        found = await _ask(c, COORDINATOR, "/find мира 12", "Найдено")
        assert "№2" in found["text"] and "№1" not in found["text"]
        found = await _ask(c, COORDINATOR, "/find №3", "Найдено")
        assert found["text"].index("№3") < found["text"].find("№1") or "№1" not in found["text"]
        # the buttons bring up the card, with its own buttons
        found = await _ask(c, COORDINATOR, "/find ленина", "Найдено")
        after = await _last_id(c, COORDINATOR)
        await c.press(found, COORDINATOR, button(found, "№1"))
        copy = await eventually(lambda: _reply_with(c, COORDINATOR, "Сообщение №1", after))
        assert button(copy, "Назначить") and "Карточка в теме блока" in copy["text"]
        # a stranger's /find changes nothing and learns nothing
        await c.tg_message(2005, 2005, "/find ленина")
        nothing = await eventually(lambda: _reply_with(c, 2005, "сотрудников"))
        assert "№1" not in nothing["text"]

        # twelve more about garbage: ten, then «Дальше», then the last two
        for n in range(12):
            await c.tg_message(CITY_CHAT, 2010 + n, f"Не вывозят мусор во дворе дома {n + 20}")
        await eventually(lambda: _stored(env, 15), timeout=30)
        page = await _ask(c, COORDINATOR, "/find Мусор", "Найдено")
        assert page["text"].count("•") == 10 and "1–10" in page["text"]
        await c.press(page, COORDINATOR, button(page, "Дальше"))

        async def second_page():
            for m in await c.sent(COORDINATOR):
                if m["message_id"] == page["message_id"] and "11–12" in m["text"]:
                    return m
            return None

        second = await eventually(second_page)
        assert second["text"].count("•") == 2 and "Назад" in str(second["reply_markup"])


def _board(sent: list[dict]) -> list[dict]:
    return [m for m in sent if "Сообщения сейчас" in (m.get("text") or "")]


async def _card_with(c, number: int, words: str):
    card = await c.card(number)
    if card and (words in card["text"] or words in str(card.get("reply_markup"))):
        return card
    return None


async def _press(c, number: int, who: int, label: str, then: str) -> dict:
    card = await eventually(lambda: _card_with(c, number, label))
    await c.press(card, who, button(card, label))
    return await eventually(lambda: _card_with(c, number, then))


async def test_interim_with_a_date_inbox_status_message_and_gathered_approvals(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.vk_comment(100001, 17, 500101, HEATING)
        await eventually(lambda: c.card(1))
        await c.tg_message(CITY_CHAT, 2001, POTHOLE)
        await eventually(lambda: c.card(2))
        await c.tg_message(CITY_CHAT, 2002, LEAK)
        await eventually(lambda: c.card(3))

        # the status message: in the General topic (no thread), the counts per block
        board = (await eventually(lambda: _wait_board(c, "ЖКХ: 🆕 2")))
        assert not board.get("message_thread_id")
        assert "Дороги и транспорт: 🆕 1" in board["text"]

        # №3: assigned; the executor promises the works for tomorrow, edits the text
        await _press(c, 3, COORDINATOR, "Назначить", "Исполнитель ЖКХ")
        await _press(c, 3, COORDINATOR, "Исполнитель ЖКХ", "назначено")
        await _press(c, 3, EXECUTOR, "Промежуточный ответ", "Завтра")
        card = await _press(c, 3, EXECUTOR, "Завтра", "черновик")
        assert "Работы планируется выполнить завтра" in card["text"]
        after = await _last_id(c, STAFF_GROUP)
        await _press(c, 3, EXECUTOR, "Изменить текст", "черновик")
        prompt = await eventually(lambda: _reply_with(c, STAFF_GROUP, "новый текст", after))
        await c.tg_message(STAFF_GROUP, EXECUTOR, "Здравствуйте! Трубу заменим завтра до 18:00.",
                           reply_to_message_id=prompt["message_id"])
        await eventually(lambda: _card_with(c, 3, "Трубу заменим"))
        card = await _press(c, 3, EXECUTOR, "Отправить жителю", "обещано выполнить: 24.11.2026")
        assert "(черновик" not in card["text"] and "Ответ готов" in str(card["reply_markup"])

        async def interim_sent():
            return [m for m in await c.sent(CITY_CHAT) if "Трубу заменим" in (m.get("text") or "")]

        assert len(await eventually(interim_sent)) == 1

        # №1 answered: one gathered notice to the coordinator, with a button to the card
        await _press(c, 1, COORDINATOR, "Назначить", "Исполнитель ЖКХ")
        card = await _press(c, 1, COORDINATOR, "Исполнитель ЖКХ", "назначено")
        await c.tg_message(STAFF_GROUP, EXECUTOR, "Котельную запустили, тепло дали.",
                           reply_to_message_id=card["message_id"])
        await eventually(lambda: _card_with(c, 1, "на согласовании"))
        notice = await eventually(lambda: _reply_with(c, COORDINATOR, "ждёт согласования"))
        assert "1 ответ ждёт согласования" in notice["text"] and "№1" in notice["text"]
        after = await _last_id(c, COORDINATOR)
        await c.press(notice, COORDINATOR, button(notice, "№1"))
        copy = await eventually(lambda: _reply_with(c, COORDINATOR, "Сообщение №1", after))
        await c.press(copy, COORDINATOR, button(copy, "Согласовать"))
        await eventually(lambda: _card_with(c, 1, "ответ опубликован"))

        # the status message is edited in place, at most once a minute, after a change
        await c.set_clock(MONDAY + timedelta(minutes=2))
        board = await eventually(lambda: _wait_board(c, "ЖКХ: 🆕 0"), timeout=70)
        assert len(_board(await c.sent(STAFF_GROUP))) == 1
        edits = await _board_edits(c)
        await asyncio.sleep(6)  # nothing changed: no edit
        assert await _board_edits(c) == edits
        # deleted by an admin: the next change posts a new one
        await c.tg_delete(STAFF_GROUP, board["message_id"])
        await c.tg_message(CITY_CHAT, 2003, "Не горит свет в подъезде дома 3")
        await eventually(lambda: c.card(4))
        await c.set_clock(MONDAY + timedelta(minutes=4))
        # (the staff group's 20 messages a minute are spent on the cards: it waits its turn)
        await eventually(lambda: _wait_board(c, "ЖКХ: 🆕 1"), timeout=70)
        assert len(_board(await c.sent(STAFF_GROUP))) == 2

        # Tuesday 09:05: №2 (due Monday 17:00) is overdue by an hour of working time
        tuesday = MONDAY + timedelta(days=1, minutes=5)
        await c.set_clock(tuesday)
        inbox = await eventually(lambda: _inbox_with(c, "Просрочены: 3"))
        assert "№2 · Дороги и транспорт · просрочено на 1 ч" in inbox["text"]
        assert "Обещано на сегодня: 1" in inbox["text"] and "№3" in inbox["text"]
        assert button(inbox, "№2")
        # the executor is reminded of the promise on the day
        promise = await eventually(lambda: _reply_with(c, EXECUTOR, "Обещано на сегодня"))
        assert "№3" in promise["text"]
        # Wednesday: the promise was not kept; the card and /inbox say so
        await c.set_clock(tuesday + timedelta(days=1))
        await eventually(lambda: _card_with(c, 3, "обещанный срок прошёл"), timeout=70)
        inbox = await eventually(lambda: _inbox_with(c, "обещанный срок прошёл"))
        assert "№3" in inbox["text"]
        # a stranger has no inbox
        await c.tg_message(2005, 2005, "/inbox")
        refused = await eventually(lambda: _reply_with(c, 2005, "Входящие видят"))
        assert "№" not in refused["text"]


async def _wait_board(c, words: str):
    for m in _board(await c.sent(STAFF_GROUP)):
        if not m.get("deleted") and words in m["text"]:
            return m
    return None


async def _board_count(c, n: int) -> bool:
    return len(_board(await c.sent(STAFF_GROUP))) >= n


async def _board_edits(c) -> int:
    return sum(1 for e in await c.log() if e["method"] == "editMessageText"
               and "Сообщения сейчас" in str(e["params"].get("text")))


async def _inbox_with(c, words: str):
    after = await _last_id(c, COORDINATOR)
    await c.tg_message(COORDINATOR, COORDINATOR, "/inbox")
    found = await eventually(lambda: _reply_with(c, COORDINATOR, "Входящие", after))
    return found if words in found["text"] else None
