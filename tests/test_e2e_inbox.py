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
