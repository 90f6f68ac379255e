"""Thanks that do not reopen and notices an executor can act on, through the real process
(issue 17, items 5 and 7)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.sandbox import world
from tests.harness import CITY_CHAT, STAFF_GROUP, button, eventually, running

pytestmark = pytest.mark.e2e

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Saratov"))
COORDINATOR, HOUSING, ROADS = 1004, 1005, 1006
GROUP = world.VK_ADMIN


async def _card_after(c, number: int, predicate, timeout: float = 15):
    async def check():
        card = await c.card(number)
        return card if card and predicate(card) else None

    return await eventually(check, timeout=timeout)


async def _assign(c, number: int, executor: str) -> dict:
    card = await _card_after(c, number, lambda m: "Назначить" in str(m["reply_markup"]))
    await c.press(card, COORDINATOR, button(card, "Назначить"))
    card = await _card_after(c, number, lambda m: executor in str(m["reply_markup"]))
    await c.press(card, COORDINATOR, button(card, executor))
    return await _card_after(c, number, lambda m: "назначено" in m["text"])


async def _private(c, user_id: int, words: str) -> list[dict]:
    return [m for m in await c.sent(user_id) if words in (m.get("text") or "")]


async def _published(c, number: int, words: str, executor: int = HOUSING) -> dict:
    card = await c.card(number)
    assert card is not None
    await c.tg_message(STAFF_GROUP, executor, words, reply_to_message_id=card["message_id"])
    card = await _card_after(c, number, lambda m: "на согласовании" in m["text"])
    await c.press(card, COORDINATOR, button(card, "Согласовать"))
    return await _card_after(c, number, lambda m: "ответ опубликован" in m["text"])


async def test_thanks_close_the_loop_and_a_real_question_still_reopens(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.vk_comment(GROUP, 17, 500101, "Нет отопления в доме 5 по ул. Ленина")
        await c.vk_comment(GROUP, 18, 500102, "Нет воды в доме 9 по ул. Мира")
        for number in (1, 2):
            await _assign(c, number, "Исполнитель ЖКХ")
            await _published(c, number, f"Сделано, проверили {number}.")

        await c.vk_comment(GROUP, 17, 500101, "Спасибо большое!")
        await c.vk_comment(GROUP, 17, 500101, "👍")
        card = await _card_after(c, 1, lambda m: "поблагодарил" in m["text"]
                                 and "закрыто" in m["text"])
        assert "возвращено в работу" not in card["text"]
        assert "Житель поблагодарил за ответ" in card["text"]

        await c.vk_comment(GROUP, 18, 500102, "Спасибо, а когда дадут горячую?")
        await _card_after(c, 2, lambda m: "возвращено в работу" in m["text"])
        notice = await eventually(lambda: _private(c, HOUSING, "Житель снова написал"))
        assert len(notice) == 1 and "когда дадут горячую" in notice[0]["text"]  # item 7
        assert len(await c.cards()) == 2  # no thank-you became a message of its own
        card = await c.card(1)
        assert card is not None and "закрыто" in card["text"]


async def test_the_assignment_notice_carries_what_the_executor_needs(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.tg_message(CITY_CHAT, 2001, "Третий день нет отопления в доме 5 по ул. Ленина",
                           photo=True)
        card = await _assign(c, 1, "Исполнитель ЖКХ")
        notice = (await eventually(lambda: _private(c, HOUSING, "Вам назначено")))[0]
        text = notice["text"]
        assert "Третий день нет отопления" in text and "Срок ответа" in text
        assert "Фото жителя: 1" in text
        links = [e["url"] for e in notice["entities"] if e["type"] == "text_link"]
        assert links, "the source link"
        rows = notice["reply_markup"]["inline_keyboard"]
        labels = [b["text"] for row in rows for b in row]
        assert any("Открыть карточку" in label for label in labels)
        assert any("Шаблоны" in label for label in labels)
        url = next(b["url"] for row in rows for b in row if "url" in b)
        assert url.endswith(f"/{card['message_id']}")
        # «Шаблоны» from the notice offers the block's templates on the card
        await c.press(notice, HOUSING, button(notice, "Шаблоны"))
        await _card_after(c, 1, lambda m: "Нет отопления" in str(m["reply_markup"]))
        # a reply to the notice is the answer
        await c.tg_message(HOUSING, HOUSING, "Отопление дадут сегодня к 18:00.",
                           reply_to_message_id=notice["message_id"])
        await _card_after(c, 1, lambda m: "на согласовании" in m["text"])


async def test_a_notice_that_cannot_be_delivered_is_said_on_the_card_and_told_once(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.post("tg/block", {"user_id": ROADS, "state": "not_started"})
        await c.tg_message(CITY_CHAT, 2001, "Огромная яма на дороге по ул. Мира")
        await c.tg_message(CITY_CHAT, 2002, "Яма на асфальте у остановки на ул. Лесной")
        for number in (1, 2):
            await _assign(c, number, "Исполнитель дорог")
            card = await _card_after(c, number, lambda m: "не получил уведомление" in m["text"])
            assert "ни разу не открывал(а) чат с ботом" in card["text"]
        told = await eventually(lambda: _private(c, COORDINATOR, "не получил(а) уведомление"))
        assert len(told) == 1
        refused = [e for e in await c.log(method="sendMessage")
                   if e["params"].get("chat_id") == ROADS]
        assert refused and all(e["status"] == 403 for e in refused)


async def test_a_thank_you_in_the_private_chat_is_answered_and_reopens_nothing(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.tg_message(2005, 2005, "Нет отопления в доме 1 по ул. Садовой")
        await _assign(c, 1, "Исполнитель ЖКХ")
        await _published(c, 1, "Отопление включили.")
        await c.tg_message(2005, 2005, "Спасибо, всё работает!")
        await _card_after(c, 1, lambda m: "поблагодарил" in m["text"])
        assert await eventually(lambda: _private(c, 2005, "Спасибо за отзыв"))
        assert len(await c.cards()) == 1
        assert not await _private(c, HOUSING, "Житель снова написал")
