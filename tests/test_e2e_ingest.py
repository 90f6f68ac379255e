"""Ingest through the real process: publics by keyword, restarts, forwarded messages."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from storage import incidents as repo
from tests.harness import CITY_CHAT, STAFF_GROUP, button, eventually, running

pytestmark = pytest.mark.e2e

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Saratov"))


async def _count(env) -> int:
    return await repo.count(env.app.db.reader)


async def test_public_post_with_a_watch_keyword_becomes_an_incident(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.post("vk/post", {"group_id": 100003, "from_id": 500201,
                                 "text": "Котики на закате, красота"})
        await c.post("vk/post", {"group_id": 100003, "from_id": 500202,
                                 "text": "В Шиханах опять не вывозят мусор третью неделю"})
        card = await eventually(lambda: c.card(1))
        assert "мусор" in card["text"]
        assert "Подслушано" in card["text"]
        await eventually(lambda: _seen_public_scans(c, 2))
        assert await _count(env) == 1


async def _seen_public_scans(c, n: int) -> bool:
    scans = [e for e in await c.log(method="wall.get") if e["params"].get("owner_id") == "-100003"]
    return len(scans) >= n


async def test_restart_neither_loses_nor_repeats(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.vk_comment(100001, 21, 500301, "Нет воды в доме 7")
        await eventually(lambda: c.card(1))
        await env.stop_bot()
        # written while the bot is down: the stored long-poll ts brings it after restart
        await c.vk_comment(100001, 21, 500302, "Темно в подъезде дома 9, нет света")
        await env.start_bot()
        await eventually(lambda: c.card(2))
        await c.vk_comment(100001, 22, 500303, "Яма у остановки")
        await eventually(lambda: c.card(3))
        assert len(await c.cards()) == 3
        assert await _count(env) == 3


async def test_staff_forward_registers_a_manual_incident(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.tg_message(1004, 1004, "С ПОС: во дворе школы №2 сломаны качели",
                           forward_from={"name": "Житель с ПОС"})
        ask = await eventually(lambda: _with(c, 1004, "Откуда это сообщение"))
        await c.press(ask, 1004, button(ask, "ПОС"))
        card = await eventually(lambda: c.card(1))
        assert "ПОС" in card["text"] and "качели" in card["text"]
        assert "Образование" in card["text"]
        # the same forward pressed twice registers once
        await c.press(ask, 1004, button(ask, "ПОС"))
        answers = await eventually(lambda: _answers_with(c, "уже зарегистрировано"))
        assert answers
        assert await _count(env) == 1


async def _with(c, chat: int, words: str):
    for m in await c.sent(chat):
        if words in (m.get("text") or ""):
            return m
    return None


async def _answers_with(c, words: str):
    return [a for a in await c.callback_answers() if words in (a.get("text") or "")]


async def test_citizen_dm_is_acknowledged_and_noise_is_skipped(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.tg_message(CITY_CHAT, 2010, "+")
        await c.tg_message(CITY_CHAT, 2010, "👍👍")
        await c.tg_message(2011, 2011, "Когда откроют каток в парке?")
        ack = await eventually(lambda: _with(c, 2011, "сообщение принято"))
        assert ack
        await eventually(lambda: c.card(1))
        assert await _count(env) == 1


async def test_follow_up_within_the_window_joins_and_an_edit_updates(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        first = await c.tg_message(CITY_CHAT, 2020, "Не горит фонарь у дома 3")
        await c.tg_message(CITY_CHAT, 2020, "И второй тоже, весь двор в темноте")
        await eventually(lambda: _card_with(c, "весь двор"))
        await c.post("tg/edit", {"chat_id": CITY_CHAT, "message_id": first["message_id"],
                                 "text": "Не горят фонари у дома 3 по ул. Мира"})
        await eventually(lambda: _card_with(c, "ул. Мира"))
        assert await _count(env) == 1
        incident = await repo.get(env.app.db.reader, 1)
        events = [e.action for e in await repo.events(env.app.db.reader, 1)]
        assert incident is not None and "edited" in events and "joined" in events


async def _card_with(c, words: str):
    for m in await c.cards():
        if words in m["text"]:
            return m
    return None


async def test_a_storm_is_stored_at_once_and_cards_follow_without_429(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        items = [{"from_id": 500400 + i, "text": f"Не убирают снег во дворе дома {i}"}
                 for i in range(200)]
        await c.post("vk/comments", {"group_id": 100001, "post_id": 40, "items": items})

        async def stored() -> bool:
            return await _count(env) == 200
        await eventually(stored, timeout=20)
        await eventually(lambda: c.card(3), timeout=15)
        refused = [e for e in await c.log(platform="tg") if e["status"] == 429
                   and str(e["params"].get("chat_id")) == str(STAFF_GROUP)]
        assert refused == []
