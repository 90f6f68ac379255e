"""Ingest and the staff workflow through the real process, as people see it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.harness import CITY_CHAT, STAFF_GROUP, button, eventually, running

pytestmark = pytest.mark.e2e

# a Monday morning in Шиханы: working hours
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Saratov"))
HEATING = "У нас третий день нет отопления в доме 5 по ул. Ленина"


async def test_vk_comment_becomes_one_card_in_its_topic(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        made = await c.vk_comment(100001, 17, 500101, HEATING)
        card = await eventually(lambda: c.card(1))
        assert HEATING in card["text"]
        assert card["message_thread_id"] == env.config.telegram.topics["ЖКХ"]
        links = [e["url"] for e in card["entities"] if e["type"] == "text_link"]
        assert f"https://vk.com/wall-100001_17?reply={made['comment_id']}" in links
        assert len(await c.cards()) == 1


async def test_city_chat_pothole_routes_to_roads_and_staff_is_ignored(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.tg_message(CITY_CHAT, 1005, "яма на дороге у школы")  # staff: not an incident
        await c.tg_message(CITY_CHAT, 2001, "Огромная яма на дороге по ул. Мира <b>&")
        card = await eventually(lambda: c.card(1))
        assert "Дороги и транспорт" in card["text"]
        assert "<b>&" in card["text"]  # escaped, shown as written
        assert card["message_thread_id"] == env.config.telegram.topics["Дороги и транспорт"]
        await eventually(lambda: _outbox_idle(env))
        assert len(await c.cards()) == 1


async def _outbox_idle(env) -> bool:
    from storage import outbox

    counts = await outbox.counts(env.app.db.reader)
    return not counts.get("pending") and not counts.get("sending")


async def _card_after(c, number: int, predicate):
    async def check():
        card = await c.card(number)
        return card if card and predicate(card) else None

    return await eventually(check)


async def test_full_cycle_assign_answer_return_approve_publish_once(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        made = await c.vk_comment(100001, 17, 500101, HEATING)
        card = await eventually(lambda: c.card(1))

        # 1004 assigns 1005
        await c.press(card, 1004, button(card, "Назначить"))
        card = await _card_after(c, 1, lambda m: "Исполнитель ЖКХ" in str(m["reply_markup"]))
        await c.press(card, 1004, button(card, "Исполнитель ЖКХ"))
        card = await _card_after(c, 1, lambda m: "назначено" in m["text"])
        assert "Исполнитель: Исполнитель ЖКХ" in card["text"]

        # 1005 answers by replying to the card
        await c.tg_message(STAFF_GROUP, 1005, "Отопление включат сегодня к 18:00.",
                           reply_to_message_id=card["message_id"])
        card = await _card_after(c, 1, lambda m: "на согласовании" in m["text"])

        # an executor cannot approve; a citizen can do nothing
        await c.press(card, 1005, button(card, "Согласовать"))
        await c.press(card, 2001, button(card, "Согласовать"))
        answers = await eventually(lambda: _alerts(c, 2))
        assert all(a["show_alert"] for a in answers[-2:])

        # 1004 returns it with a reason (replying to the bot's prompt)
        await c.press(card, 1004, button(card, "На доработку"))
        prompt = await eventually(lambda: _prompt(c, "причину возврата"))
        await c.tg_message(STAFF_GROUP, 1004, "Укажите точное время",
                           reply_to_message_id=prompt["message_id"])
        card = await _card_after(c, 1, lambda m: "на доработке" in m["text"])

        await c.tg_message(STAFF_GROUP, 1005, "Отопление включат сегодня к 18:00, проверим.",
                           reply_to_message_id=card["message_id"])
        card = await _card_after(c, 1, lambda m: "на согласовании" in m["text"])

        # pressing «Согласовать» twice quickly publishes once
        data = button(card, "Согласовать")
        await c.press(card, 1004, data)
        await c.press(card, 1004, data)
        card = await _card_after(c, 1, lambda m: "ответ опубликован" in m["text"])

        wall = await c.wall(100001)
        post = next(p for p in wall if p["id"] == 17)
        replies = [m for m in post["comments"] if m.get("reply_to_comment") == made["comment_id"]]
        assert len(replies) == 1
        assert replies[0]["from_id"] == -100001
        assert "проверим" in replies[0]["text"]
        for word in ("назначил", "подготовил", "вернул", "согласовал", "опубликован"):
            assert word in card["text"]

        # the citizen writes again in the thread within 2 days: reopened
        await c.vk_comment(100001, 17, 500101, "Так и не включили!")
        await _card_after(c, 1, lambda m: "возвращено в работу" in m["text"])
        assert len(await c.cards()) == 1


async def _alerts(c, n: int):
    answers = await c.callback_answers()
    alerts = [a for a in answers if a["show_alert"]]
    return alerts if len(alerts) >= n else None


async def _prompt(c, words: str):
    for m in await c.sent(STAFF_GROUP):
        if words in (m.get("text") or ""):
            return m
    return None
