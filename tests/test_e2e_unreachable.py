"""People who blocked the bot (403 from Telegram): the answer is not retried, the
coordinator is told on the card what to do, a staff member's lost notices are reported."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.harness import STAFF_GROUP, button, eventually, running

pytestmark = pytest.mark.e2e

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Saratov"))
BLOCKED = "житель заблокировал бота — ответить в личные сообщения нельзя"


async def _card_after(c, number: int, predicate):
    async def check():
        card = await c.card(number)
        return card if card and predicate(card) else None
    return await eventually(check, timeout=15)


async def _answer_ready(c, citizen: int, text: str) -> dict:
    """A citizen's private message, taken and answered by the coordinator (1004)."""
    await c.tg_message(citizen, citizen, text)
    card = await eventually(lambda: c.card(1))
    await c.press(card, 1004, button(card, "Взять в работу"))
    card = await _card_after(c, 1, lambda m: "в работе" in m["text"])
    await c.tg_message(STAFF_GROUP, 1004, "Отопление включат сегодня к 18:00.",
                       reply_to_message_id=card["message_id"])
    return await _card_after(c, 1, lambda m: "на согласовании" in m["text"])


async def _sends_to(c, chat: int) -> list[dict]:
    return [e for e in await c.log(method="sendMessage")
            if str(e["params"].get("chat_id")) == str(chat)]


async def test_an_answer_to_a_citizen_who_blocked_the_bot_goes_to_the_coordinator(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        card = await _answer_ready(c, 2040, "Когда включат отопление в доме 4?")
        await c.post("tg/block", {"user_id": 2040})
        await c.press(card, 1004, button(card, "Согласовать"))
        card = await _card_after(c, 1, lambda m: BLOCKED in m["text"])
        # still approved: the only way on is «Опубликовано вручную», nothing goes again
        assert "согласовано" in card["text"]
        assert button(card, "Опубликовано вручную")
        # the coordinator also gets the gathered «1 ответ ждёт согласования» about №1
        notice = await eventually(lambda: _text_to(c, 1004, BLOCKED))
        assert "№1" in notice["text"]
        await asyncio.sleep(2)
        refused = [e for e in await _sends_to(c, 2040) if e["status"] == 403]
        assert len(refused) == 1  # no retries
        assert len([m for m in await c.sent(1004) if BLOCKED in (m["text"] or "")]) == 1
        await c.press(card, 1004, button(card, "Опубликовано вручную"))
        await _card_after(c, 1, lambda m: "опубликовано вручную" in m["text"])


async def _text_to(c, chat: int, words: str):
    for m in await c.sent(chat):
        if words in (m.get("text") or ""):
            return m
    return None


async def test_a_staff_member_who_blocked_the_bot_is_reported_once(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.post("tg/block", {"user_id": 1005})
        # two assignments to 1005: both notices are refused, the staff group is told once
        for n, text in enumerate(["Нет отопления в доме 2", "Течёт крыша в доме 6"], 1):
            await c.vk_comment(100001, 30 + n, 500400 + n, text)
            card = await eventually(lambda n=n: c.card(n))
            await c.press(card, 1004, button(card, "Назначить"))
            card = await _card_after(c, n, lambda m: "Исполнитель ЖКХ" in str(m["reply_markup"]))
            await c.press(card, 1004, button(card, "Исполнитель ЖКХ"))
            await _card_after(c, n, lambda m: "назначено" in m["text"])

        async def refused_twice():
            return len([e for e in await _sends_to(c, 1005) if e["status"] == 403]) >= 2
        await eventually(refused_twice, timeout=15)
        report = await eventually(lambda: _text_to(c, STAFF_GROUP, "Исполнитель ЖКХ не получает"))
        assert "заблокировал" in report["text"]
        await asyncio.sleep(2)
        reports = [m for m in await c.sent(STAFF_GROUP)
                   if "Исполнитель ЖКХ не получает" in (m["text"] or "")]
        assert len(reports) == 1
        # unblocked and blocked again: a new report
        await c.post("tg/block", {"user_id": 1005, "state": "active"})
        await asyncio.sleep(1.5)
        await c.post("tg/block", {"user_id": 1005})
        await c.vk_comment(100001, 40, 500450, "Не горит свет в подъезде дома 1")
        card = await eventually(lambda: c.card(3))
        await c.press(card, 1004, button(card, "Назначить"))
        card = await _card_after(c, 3, lambda m: "Исполнитель ЖКХ" in str(m["reply_markup"]))
        await c.press(card, 1004, button(card, "Исполнитель ЖКХ"))

        async def reported_twice():
            return len([m for m in await c.sent(STAFF_GROUP)
                        if "Исполнитель ЖКХ не получает" in (m["text"] or "")]) == 2
        await eventually(reported_twice, timeout=15)
