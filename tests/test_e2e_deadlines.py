"""Deadlines through the real process: move the sandbox clock, the reminders come.

Also `/deadline` in a private chat, on the same run (one start of the bot is enough)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.harness import button, eventually, running

pytestmark = pytest.mark.e2e

TZ = ZoneInfo("Europe/Saratov")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)  # 8 working hours: due 17:00
HEATING = "У нас третий день нет отопления в доме 5 по ул. Ленина"
EXECUTOR, COORDINATOR, MANAGER = 1005, 1004, 1003


def at(hhmm: str) -> datetime:
    hours, minutes, *seconds = (int(x) for x in hhmm.split(":"))
    return MONDAY.replace(hour=hours, minute=minutes, second=seconds[0] if seconds else 0)


async def _count(c, chat_id: int, word: str) -> int:
    return sum(word in (m.get("text") or "") for m in await c.sent(chat_id))


async def _card_after(c, number: int, words: str) -> dict:
    async def check():
        card = await c.card(number)
        return card if card and words in card["text"] else None

    return await eventually(check)


async def test_assigned_incident_through_the_day_reminds_then_escalates_once(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        # «when is it due?» in a private chat: staff get the date, junk gets the usage
        await c.tg_message(COORDINATOR, COORDINATOR, "/deadline fast_track 06.03.2026 17:00")
        await c.tg_message(EXECUTOR, EXECUTOR, "/deadline что-то не то")
        await c.vk_comment(100001, 17, 500101, HEATING)
        card = await eventually(lambda: c.card(1))
        await c.press(card, COORDINATOR, button(card, "Назначить"))
        card = await eventually(lambda: _with_button(c, 1, "Исполнитель ЖКХ"))
        await c.press(card, COORDINATOR, button(card, "Исполнитель ЖКХ"))
        await _card_after(c, 1, "назначено")

        answer = await eventually(lambda: _texts(c, COORDINATOR, "Срок по регламенту"))
        assert "06.03.2026 17:00: 10.03.2026 12:00 по местному времени" in answer[0]
        assert "«срочный» (4 рабочих часа)" in answer[0]
        await eventually(lambda: _texts(c, EXECUTOR, "/deadline [регламент]"))

        async def reminders(n: int) -> bool:
            return await _count(c, EXECUTOR, "Напоминание") == n

        # before half the time is gone: nothing
        await c.set_clock(at("12:59:30"))
        await asyncio.sleep(2.5)
        assert await _count(c, EXECUTOR, "Напоминание") == 0

        await c.set_clock(at("13:00:30"))  # half the working time gone
        await eventually(lambda: reminders(1))
        await c.set_clock(at("16:00:30"))  # one working hour left
        await eventually(lambda: reminders(2))
        await c.set_clock(at("17:00:30"))  # the deadline, then overdue: the coordinator
        await eventually(lambda: reminders(3))
        await eventually(lambda: _count(c, COORDINATOR, "Просрочено"))
        card = await _card_after(c, 1, "ПРОСРОЧЕНО")
        assert "срок ответа истёк" in card["text"]

        # later ticks and more time repeat nothing
        await c.set_clock(at("17:20"))
        await asyncio.sleep(2.5)
        assert await _count(c, EXECUTOR, "Напоминание") == 3
        assert await _count(c, EXECUTOR, "Просрочено") == 0
        assert await _count(c, COORDINATOR, "Просрочено") == 1
        # the manager two working hours past the deadline (the ladder): Tuesday 10:00
        assert await _count(c, MANAGER, "Просрочено") == 0
        await c.set_clock(at("10:00:30") + timedelta(days=1))
        await eventually(lambda: _count(c, MANAGER, "Просрочено"))
        assert await _count(c, COORDINATOR, "Просрочено") == 1
        # assigned in time: no first-reply alert
        assert await _count(c, COORDINATOR, "без первого ответа") == 0
        texts = [m["text"] for m in await c.sent(EXECUTOR) if "Напоминание" in m["text"]]
        assert "осталось 4 ч" in texts[0] and "осталось 1 ч" in texts[1]
        assert "наступил" in texts[2]


async def _texts(c, chat_id: int, words: str) -> list[str]:
    return [m["text"] for m in await c.sent(chat_id) if words in (m.get("text") or "")]


async def _with_button(c, number: int, label: str):
    card = await c.card(number)
    if card and label in str(card.get("reply_markup")):
        return card
    return None
