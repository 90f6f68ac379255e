"""The digest, the note and the export through the real process, as the head sees them."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.sandbox import world
from tests.harness import CITY_CHAT, STAFF_GROUP, button, eventually, running

pytestmark = pytest.mark.e2e

TZ = ZoneInfo("Europe/Saratov")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)  # 8 working hours: due 17:00
TUESDAY = datetime(2026, 11, 24, 9, 0, 5, tzinfo=TZ)
HEAD, COORDINATOR, EXECUTOR, CITIZEN = 1001, 1004, 1005, 2001


async def _card_after(c, number: int, predicate):
    async def check():
        card = await c.card(number)
        return card if card and predicate(card) else None

    return await eventually(check)


async def _answer(c, number: int, text: str) -> dict:
    """Assign the executor of ЖКХ, who answers; the card waits for approval."""
    card = await eventually(lambda: c.card(number))
    await c.press(card, COORDINATOR, button(card, "Назначить"))
    card = await _card_after(c, number, lambda m: "Исполнитель ЖКХ" in str(m["reply_markup"]))
    await c.press(card, COORDINATOR, button(card, "Исполнитель ЖКХ"))
    card = await _card_after(c, number, lambda m: "назначено" in m["text"])
    await c.tg_message(STAFF_GROUP, EXECUTOR, text, reply_to_message_id=card["message_id"])
    return await _card_after(c, number, lambda m: "на согласовании" in m["text"])


async def _approve(c, number: int, card: dict) -> None:
    await c.press(card, COORDINATOR, button(card, "Согласовать"))
    await _card_after(c, number, lambda m: "ответ опубликован" in m["text"])


async def _bot_time_at_least(env, moment: datetime) -> bool:
    return env.app.clock.now() >= moment


async def _messages(c, chat_id: int, word: str, kind: str | None = None) -> list[dict]:
    return [m for m in await c.sent(chat_id)
            if word in (m.get("text") or "") and (kind is None or m["kind"] == kind)]


async def test_next_working_day_brings_the_digest_then_reports_on_demand(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        # Monday: four incidents in three blocks from three sources
        await c.vk_comment(100001, 17, 500101, "Третий день нет отопления в доме 5")
        await eventually(lambda: c.card(1))
        await c.tg_message(CITY_CHAT, CITIZEN, "Огромная яма на дороге по ул. Мира")
        await eventually(lambda: c.card(2))
        await c.vk_comment(100001, 17, 500102, "Мусор во дворе не вывозят неделю")
        await eventually(lambda: c.card(3))
        await c.tg_message(2002, 2002, "В школе на Ленина холодно, дети сидят в куртках")
        await eventually(lambda: c.card(4))

        # №1 answered in time; №3 answered after its 17:00 deadline
        await _approve(c, 1, await _answer(c, 1, "Отопление включили в 12:00."))
        ready = await _answer(c, 3, "Мусор вывезут сегодня.")
        late = MONDAY.replace(hour=17, minute=20)
        await c.set_clock(late)
        await eventually(lambda: _bot_time_at_least(env, late))
        await _approve(c, 3, ready)

        # Tuesday 09:00: one digest to the head with the day's numbers, and the chart
        await c.set_clock(TUESDAY)
        digests = await eventually(lambda: _messages(c, HEAD, "Сводка"), timeout=30)
        text = digests[0]["text"]
        assert "Сводка" in text.splitlines()[0] and "23.11" in text.splitlines()[0]
        assert "Поступило 4, отвечено 2 (с нарушением срока 1), возвращено в работу 0." in text
        assert "Сейчас в работе 2 (не разобрано 2), просрочено 2." in text
        assert "• ЖКХ: 2 · 0 · 2 · 0 · 0" in text
        assert "• Дороги и транспорт: 1 · 1 · 0 · 1 · 0" in text
        assert "• Образование: 1 · 1 · 0 · 1 · 0" in text
        assert "• ВКонтакте «Администрация»: 2 · 0 · 2 · 0 · 0" in text
        assert "№2 · Дороги и транспорт · не назначен · срок 23.11 17:00" in text
        charts = await eventually(lambda: _messages(c, HEAD, "по блокам и дням", "photo"))
        await asyncio.sleep(4)  # a few more ticks of the schedule: still one of each
        assert len(await _messages(c, HEAD, "Сводка")) == 1
        assert len(await _messages(c, HEAD, "по блокам и дням", "photo")) == len(charts) == 1
        for recipient in (1002, 1003):
            await eventually(lambda r=recipient: _messages(c, r, "Сводка"))

        # on demand: the head gets the note, a citizen is refused (not taken for an incident)
        await c.tg_message(HEAD, HEAD, "/report неделя")
        note = await eventually(lambda: _messages(c, HEAD, "Аналитическая справка"))
        assert "Поступило 4" in note[0]["text"] and "Рейтинг исполнителей" in note[0]["text"]
        await c.tg_message(CITIZEN, CITIZEN, "/report week")
        refused = await eventually(lambda: _messages(c, CITIZEN, "Отчёты доступны"))
        assert len(refused) == 1 and await c.card(5) is None

        # the export: an XLSX that opens and holds the incidents
        await c.tg_message(HEAD, HEAD, "/export month")
        documents = await eventually(lambda: _messages(c, HEAD, "", "document"))
        assert documents[0]["file_name"].endswith(".xlsx")
        book = openpyxl.load_workbook(io.BytesIO(await _download(c, documents[0]["file_id"])))
        rows = list(book["Сообщения"].iter_rows(values_only=True))
        assert sorted(row[0] for row in rows[1:]) == [1, 2, 3, 4]


async def _download(c, file_id: str) -> bytes:
    """The file the bot sent, fetched the way a Telegram client would."""
    api = f"{c.base}/tg/bot{world.BOT_TOKEN}"
    async with c.session.get(f"{api}/getFile", params={"file_id": file_id}) as response:
        path = (await response.json())["result"]["file_path"]
    async with c.session.get(f"{c.base}/tg/file/bot{world.BOT_TOKEN}/{path}") as response:
        return await response.read()
