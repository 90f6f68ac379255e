"""MAX through the real process (issue 19): a citizen writes to the bot in MAX or in a MAX
city chat, the card appears in the staff group, and the approved answer arrives in their
MAX chat as a reply to their message; the long-poll marker survives a restart."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.sandbox import world
from storage import cursors
from tests.harness import STAFF_GROUP, button, eventually, running

pytestmark = pytest.mark.e2e

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo(world.TIMEZONE))
CITIZEN = 620001
HEATING = "Нет отопления в доме 5 по ул. Ленина, третий день холодно"


async def _card_after(c, number: int, predicate):
    async def check():
        card = await c.card(number)
        return card if card and predicate(card) else None

    return await eventually(check, timeout=15)


async def test_citizen_in_max_gets_a_card_and_the_approved_answer(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        made = await c.max_message(CITIZEN, HEATING)
        card = await eventually(lambda: c.card(1), timeout=15)
        assert HEATING in card["text"]
        assert "MAX, личное сообщение боту" in card["text"]
        assert card["message_thread_id"] == env.config.telegram.topics["ЖКХ"]

        await c.press(card, 1004, button(card, "Назначить"))
        card = await _card_after(c, 1, lambda m: "Исполнитель ЖКХ" in str(m["reply_markup"]))
        await c.press(card, 1004, button(card, "Исполнитель ЖКХ"))
        card = await _card_after(c, 1, lambda m: "назначено" in m["text"])
        await c.tg_message(STAFF_GROUP, 1005, "Отопление включат сегодня к 18:00.",
                           reply_to_message_id=card["message_id"])
        card = await _card_after(c, 1, lambda m: "на согласовании" in m["text"])
        await c.press(card, 1004, button(card, "Согласовать"))
        await _card_after(c, 1, lambda m: "ответ опубликован" in m["text"])

        (answer,) = await c.max_sent(user_id=CITIZEN)
        assert "Отопление включат сегодня к 18:00." in answer["body"]["text"]
        assert answer["link"]["type"] == "reply"
        assert answer["link"]["message"]["mid"] == made["mid"]

        # the marker was stored with the incident: a restart asks for nothing twice
        marker = await cursors.get(env.app.db.reader, "max:longpoll")
        assert marker and int(marker) > 1
        await env.stop_bot()
        await c.max_message(CITIZEN + 1, "Яма на дороге у школы, колесо пробил")
        await env.start_bot()
        await eventually(lambda: c.card(2), timeout=15)
        assert len(await c.cards()) == 2


async def test_city_chat_in_max_becomes_an_incident_and_the_answer_replies_there(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        made = await c.max_message(CITIZEN, "Огромная яма на дороге по ул. Мира",
                                   chat_id=world.MAX_CITY_CHAT)
        card = await eventually(lambda: c.card(1), timeout=15)
        assert "MAX, городской чат" in card["text"]
        links = [e["url"] for e in card["entities"] if e["type"] == "text_link"]
        assert "https://max.ru/join/shikhany-city-chat" in links  # the link back
        assert "Дороги и транспорт" in card["text"]
        await c.press(card, 1004, button(card, "Назначить"))
        card = await _card_after(c, 1, lambda m: "Исполнитель дорог" in str(m["reply_markup"]))
        await c.press(card, 1004, button(card, "Исполнитель дорог"))
        card = await _card_after(c, 1, lambda m: "назначено" in m["text"])
        await c.tg_message(STAFF_GROUP, 1006, "Яму заделают до пятницы.",
                           reply_to_message_id=card["message_id"])
        card = await _card_after(c, 1, lambda m: "на согласовании" in m["text"])
        await c.press(card, 1004, button(card, "Согласовать"))
        await _card_after(c, 1, lambda m: "ответ опубликован" in m["text"])
        (answer,) = await c.max_sent(chat_id=world.MAX_CITY_CHAT)
        assert "Яму заделают до пятницы." in answer["body"]["text"]
        assert answer["link"]["message"]["mid"] == made["mid"]
