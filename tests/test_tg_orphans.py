"""A send whose answer was lost, against the Telegram sandbox through the real aiogram
client: the bot finds its own orphan above the watermark and adopts it, removes a
half-sent album and sends it whole, cleans the window after a resend — and never
touches anyone else's message. Plus the config's General-topic rule.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram.types import InlineKeyboardMarkup

from bot.config import ConfigError, parse_config
from bot.outbox.outcomes import Retry
from bot.platforms.telegram import sends as tg
from bot.sandbox import world
from bot.sandbox.telegram import RateLimiter
from tests.sandbox.test_tg_api import CHANNEL, STAFF, TgWorld
from tests.sandbox.test_tg_api import tg as tg_world

__all__ = ["tg_world"]  # the fixture

MARKUP = {"inline_keyboard": [[{"text": "✋ Взять в работу", "callback_data": "c:1:1:tk:0"}]]}
KEYBOARD = InlineKeyboardMarkup.model_validate(MARKUP)


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def sandbox(tg_world: TgWorld) -> TgWorld:
    tg_world.sandbox.limiter = RateLimiter(burst=1000, per_chat_rate=1e9,
                                           group_per_minute=1000)
    return tg_world


def pacer(calls: list[str]) -> Any:
    @contextlib.asynccontextmanager
    async def pace() -> AsyncIterator[None]:
        calls.append("call")
        yield
    return pace


async def staff_says(w: TgWorld, text: str) -> int:
    return int((await w.control("message", chat_id=STAFF, from_id=1004, text=text))
               ["message_id"])


def card(text: str = "🆕 Сообщение №1 · новое") -> dict[str, Any]:
    return {"chat_id": STAFF, "text": text, "reply_markup": MARKUP, "message_thread_id": 2}


async def visible(w: TgWorld, chat: int = STAFF) -> list[dict[str, Any]]:
    return [m for m in await w.sent(chat) if not m["deleted"]]


async def test_a_lost_send_is_adopted_and_others_are_untouched(sandbox: TgWorld,
                                                               calls: list[str]) -> None:
    w = sandbox
    watermark = (await w.bot.send_message(STAFF, "прежнее")).message_id
    first = await staff_says(w, "сотрудник пишет")
    orphan = await w.bot.send_message(STAFF, card()["text"], message_thread_id=2,
                                      reply_markup=KEYBOARD)  # the try whose answer was lost
    later = await staff_says(w, "и ещё")
    sent = await tg.deliver_send(w.bot, "sendMessage", card(), 2, uncertain=True,
                                 watermark=watermark, pace=pacer(calls))
    assert sent.adopted and sent.ids == [orphan.message_id] and sent.window is None
    assert sent.result["message_thread_id"] == 2 and sent.result["chat"]["id"] == STAFF
    assert len(calls) == 2  # one probe on the staff message, one on the orphan
    cards = [m for m in await visible(w) if "Сообщение" in m["text"]]
    assert len(cards) == 1
    people = {m["message_id"]: m for m in await w.get("messages", chat_id=STAFF)
              if not m["by_bot"]}
    assert {first, later} <= set(people)
    assert all(m["edits"] == 0 and not m["deleted"] for m in people.values())


async def test_nothing_there_sends_once_and_costs_one_probe(sandbox: TgWorld,
                                                            calls: list[str]) -> None:
    w = sandbox
    watermark = (await w.bot.send_message(STAFF, "прежнее")).message_id
    sent = await tg.deliver_send(w.bot, "sendMessage", card(), 2, uncertain=True,
                                 watermark=watermark, pace=pacer(calls))
    assert not sent.adopted and sent.window is None and len(calls) == 1
    assert len([m for m in await visible(w) if "Сообщение" in m["text"]]) == 1


async def test_an_orphan_beyond_a_gap_is_removed_after_the_resend(sandbox: TgWorld,
                                                                  calls: list[str]) -> None:
    w = sandbox
    watermark = (await w.bot.send_message(STAFF, "прежнее")).message_id
    gone = await staff_says(w, "удалю")
    await w.bot.delete_message(STAFF, gone)  # a gap: looking up stops there
    orphan = await w.bot.send_message(STAFF, card()["text"], message_thread_id=2,
                                      reply_markup=KEYBOARD)
    staff = await staff_says(w, "сотрудник")
    sent = await tg.deliver_send(w.bot, "sendMessage", card(), 2, uncertain=True,
                                 watermark=watermark, pace=pacer(calls))
    assert not sent.adopted and sent.window == (watermark, sent.ids[0])
    assert len([m for m in await visible(w) if "Сообщение" in m["text"]]) == 2
    cleaned = await tg.delete_orphans(
        w.bot, {"chat_id": STAFF, "after": watermark, "before": sent.ids[0],
                "reply_markup": MARKUP}, 1, pacer(calls), others={staff})
    assert cleaned["deleted"] == [orphan.message_id]
    assert cleaned["looked"] == 2  # the orphan and the gap; the known staff message skipped
    cards = [m for m in await visible(w) if "Сообщение" in m["text"]]
    assert [m["message_id"] for m in cards] == sent.ids
    person = [m for m in await w.get("messages", chat_id=STAFF) if m["message_id"] == staff]
    assert person[0]["edits"] == 0 and not person[0]["deleted"]


async def test_a_half_sent_album_goes_whole_once(sandbox: TgWorld, calls: list[str]) -> None:
    w = sandbox
    media = [{"type": "photo", "media": f"https://example.org/{n}.png"} for n in range(4)]
    media[0]["caption"] = "Субботник"
    params = {"chat_id": CHANNEL, "media": media}
    w.state.add_fault(platform="tg", kind="album_partial", method="sendMediaGroup", sent=2,
                      count=1)
    with pytest.raises(Retry) as lost:
        await tg.deliver_send(w.bot, "sendMediaGroup", params, 1, uncertain=False,
                              watermark=0, pace=pacer(calls))
    assert lost.value.uncertain
    hand = await w.control("channel_post", chat_id=CHANNEL, text="Пост вручную")
    sent = await tg.deliver_send(w.bot, "sendMediaGroup", params, 2, uncertain=True,
                                 watermark=0, pace=pacer(calls), others={hand["message_id"]})
    assert not sent.adopted and len(sent.ids) == 4
    shown = [m for m in await w.get("messages", chat_id=CHANNEL) if not m["deleted"]]
    assert [m["message_id"] for m in shown] == [hand["message_id"], *sent.ids]
    assert len({m.get("media_group_id") for m in shown if m["kind"] == "media_group"}) == 1
    every = await w.get("messages", chat_id=CHANNEL)
    assert [m["message_id"] for m in every if m["deleted"]] == [1, 2]  # the half album
    assert [m["edits"] for m in every if not m["by_bot"]] == [0]


async def test_unreadable_answers_while_looking_send_nothing(sandbox: TgWorld,
                                                             calls: list[str]) -> None:
    w = sandbox
    w.state.add_fault(platform="tg", kind="html502", method="editMessageReplyMarkup",
                      count=1)
    with pytest.raises(Retry) as again:
        await tg.deliver_send(w.bot, "sendMessage", card(), 3, uncertain=True, watermark=0,
                              pace=pacer(calls))
    assert again.value.uncertain and "<html>" not in again.value.reason
    assert "unreadable answer (Failed to decode object: HTML page «502 Bad Gateway»)" in (
        again.value.reason)
    assert await w.sent(STAFF) == []


async def test_a_refusal_is_permanent_and_a_flood_is_not_uncertain(sandbox: TgWorld,
                                                                   calls: list[str]) -> None:
    from bot.outbox.outcomes import Permanent

    w = sandbox
    with pytest.raises(Permanent, match="message thread not found"):
        await tg.deliver_send(w.bot, "sendMessage", {**card(), "message_thread_id": 1}, 1,
                              uncertain=False, watermark=0, pace=pacer(calls))
    w.state.add_fault(platform="tg", kind="429", method="sendMessage", retry_after=3, count=1)
    with pytest.raises(Retry) as flood:
        await tg.deliver_send(w.bot, "sendMessage", card(), 1, uncertain=False, watermark=0,
                              pace=pacer(calls))
    assert flood.value.pause_lane and not flood.value.uncertain and flood.value.after == 3


def test_check_config_refuses_the_general_topic(tmp_path: Any) -> None:
    raw = world.config_dict("http://127.0.0.1:1", str(tmp_path / "db.sqlite3"))
    raw["telegram"]["topics"]["ЖКХ"] = 1
    with pytest.raises(ConfigError) as err:
        parse_config(raw, environ={})
    [problem] = [p for p in err.value.problems if "topics" in p]
    assert problem.startswith("telegram.topics.ЖКХ: 1 is the forum's General topic")


async def test_a_card_never_names_the_general_topic(tmp_path: Any) -> None:
    from datetime import UTC, datetime

    from bot.platforms.telegram.workspace import card_call
    from bot.render import Renderer
    from storage import incidents as repo
    from storage.db import Database

    config = world.config("http://127.0.0.1:1", tmp_path / "db.sqlite3")
    db = await Database(str(tmp_path / "db.sqlite3")).open()
    now = datetime.now(UTC)
    try:
        async with db.tx() as conn:
            incident = await repo.insert(conn, repo.NewIncident(
                source="vk:100001", source_kind="vk_comment", source_key="k",
                author_id="vk:500101", text="Яма", written_at=now, received_at=now,
                block="ЖКХ", priority="normal", policy="answer"))
        assert incident is not None
        render = Renderer(config.municipality.tz)
        general = await card_call(db.reader, config, render, incident, now, {"ЖКХ": 1})
        topic = await card_call(db.reader, config, render, incident, now, {"ЖКХ": 2})
        assert general is not None and "message_thread_id" not in general.params
        assert topic is not None and topic.params["message_thread_id"] == 2
    finally:
        await db.close()
