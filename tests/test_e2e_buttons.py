"""Wrong clicks through the real process: stale cards, two presses at once, forged data."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from storage import incidents as repo
from tests.harness import STAFF_GROUP, button, eventually, running

pytestmark = pytest.mark.e2e

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Saratov"))


async def _card_after(c, number, predicate):
    async def check():
        card = await c.card(number)
        return card if card and predicate(card) else None
    return await eventually(check)


async def _answer(c, callback_query_id: str):
    async def check():
        for a in await c.callback_answers():
            if a["callback_query_id"] == callback_query_id:
                return a
        return None
    return await eventually(check)


async def test_stale_button_answers_and_refreshes(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.vk_comment(100001, 3, 500101, "Течёт крыша в подъезде")
        old = await eventually(lambda: c.card(1))
        await c.press(old, 1004, button(old, "Взять в работу"))
        await _card_after(c, 1, lambda m: "в работе" in m["text"])
        # the old card's «Не по компетенции» was pressed before the refresh arrived
        pressed = await c.press(old, 1004, button(old, "Не по компетенции"), stale=True)
        answer = await _answer(c, pressed["callback_query_id"])
        assert "устарела" in answer["text"] and answer["show_alert"]
        incident = await repo.get(env.app.db.reader, 1)
        assert incident.state == "in_progress"


async def test_two_coordinators_pressing_at_once_one_wins(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.vk_comment(100001, 3, 500101, "Течёт крыша в подъезде")
        card = await eventually(lambda: c.card(1))
        data = button(card, "Взять в работу")
        first, second = await asyncio.gather(c.press(card, 1004, data),
                                             c.press(card, 1003, data))
        answers = [await _answer(c, p["callback_query_id"]) for p in (first, second)]
        assert sorted(a["show_alert"] for a in answers) == [False, True]
        events = [e.action for e in await repo.events(env.app.db.reader, 1)]
        assert events.count("take") == 1


async def test_forged_and_foreign_callback_data_change_nothing(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.vk_comment(100001, 3, 500101, "Течёт крыша в подъезде")
        card = await eventually(lambda: c.card(1))
        before = await repo.get(env.app.db.reader, 1)
        for data in ["c:1:0:zz:0", "c:999:0:tk:0", "c:1:0:to:2001", "garbage", "c:x:y",
                     "r:1:9", "f:7:1"]:
            pressed = await c.post("tg/callback", {"chat_id": STAFF_GROUP,
                                                   "message_id": card["message_id"],
                                                   "from_id": 1004, "data": data,
                                                   "forged": True})
            answer = await _answer(c, pressed["callback_query_id"])
            assert answer["text"]
        after = await repo.get(env.app.db.reader, 1)
        assert (after.state, after.version, after.assignee_id) == (
            before.state, before.version, before.assignee_id)


async def test_template_answer_then_manual_publication_for_a_forwarded_one(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.tg_message(1004, 1004, "С портала: нет отопления в школе №1",
                           forward_from={"name": "Портал"})
        ask = await eventually(lambda: _with(c, 1004, "Откуда"))
        await c.press(ask, 1004, button(ask, "Региональный портал"))
        card = await eventually(lambda: c.card(1))
        await c.press(card, 1004, button(card, "Взять в работу"))
        card = await _card_after(c, 1, lambda m: "Шаблоны" in str(m["reply_markup"]))
        await c.press(card, 1004, button(card, "Шаблоны"))
        card = await _card_after(c, 1, lambda m: "Нет отопления" in str(m["reply_markup"]))
        await c.press(card, 1004, button(card, "Нет отопления"))
        card = await _card_after(c, 1, lambda m: "на согласовании" in m["text"])
        assert "управляющую компанию" in card["text"]
        await c.press(card, 1004, button(card, "Согласовать"))
        card = await _card_after(c, 1, lambda m: "Опубликовано вручную" in str(
            m["reply_markup"]))
        paste = await eventually(lambda: _with(c, STAFF_GROUP, "Опубликуйте ответ вручную"))
        assert "управляющую компанию" in paste["text"]
        await c.press(card, 1004, button(card, "Опубликовано вручную"))
        await _card_after(c, 1, lambda m: "ответ опубликован" in m["text"])


async def test_private_commands_and_a_citizens_rating(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.tg_message(2050, 2050, "Когда уберут снег у дома 4?")
        card = await eventually(lambda: c.card(1))
        await c.press(card, 1004, button(card, "Назначить"))
        card = await _card_after(c, 1, lambda m: "Исполнитель дорог" in str(m["reply_markup"]))
        await c.press(card, 1004, button(card, "Исполнитель дорог"))
        notice = await eventually(lambda: _with(c, 1006, "Вам назначено"))
        await c.tg_message(1006, 1006, "/my")
        mine = await eventually(lambda: _with(c, 1006, "Ваши сообщения в работе"))
        assert "№1" in mine["text"]
        await c.tg_message(2050, 2050, "/my")
        await eventually(lambda: _with(c, 2050, "для сотрудников"))
        await c.tg_message(1004, 1004, "/incident abc")
        await eventually(lambda: _with(c, 1004, "/incident НОМЕР"))
        await c.tg_message(1004, 1004, "/find снег")
        await eventually(lambda: _with(c, 1004, "Найдено по запросу «снег»"))
        # the executor answers by replying to the private notice
        await c.tg_message(1006, 1006, "Снег уберут завтра до 12:00.",
                           reply_to_message_id=notice["message_id"])
        card = await _card_after(c, 1, lambda m: "на согласовании" in m["text"])
        await c.press(card, 1004, button(card, "Согласовать"))
        rate = await eventually(lambda: _with(c, 2050, "Оцените"))
        answer = await eventually(lambda: _with(c, 2050, "Снег уберут"))
        assert answer
        await c.press(rate, 2050, button(rate, "5"))
        await _card_after(c, 1, lambda m: "Оценка жителя: 5" in m["text"])


async def _with(c, chat: int, words: str):
    for m in await c.sent(chat):
        if words in (m.get("text") or ""):
            return m
    return None
