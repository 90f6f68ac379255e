"""Telegram delivery under the real bot: answers that are not JSON, a server that answers
garbage for a while, half-sent albums, permanent refusals, a busy staff group.

What is checked is what people see: each card in the staff group once, the album in the
channel once, staff messages untouched, the coordinator told once of what could not be
delivered, and the bot still serving afterwards.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from bot.outbox import outcomes
from bot.outbox import worker as outbox_module
from storage import outbox as rows
from storage.db import fetch_all
from tests.harness import STAFF_GROUP, eventually, running
from tests.test_faults import (
    MONDAY,
    answer_ready,
    assert_each_once,
    card_counts,
    comment,
    press,
    start_scaled,
    still_serving,
)

pytestmark = pytest.mark.e2e

CHANNEL = -1001000000003
COORDINATOR = 1004


async def _statuses(c: Any, method: str, chat: int = STAFF_GROUP) -> list[int]:
    return [e["status"] for e in await c.log(method=method)
            if str(e["params"].get("chat_id")) == str(chat)]


async def _outbox(env: Any) -> Counter[str]:
    assert env.app is not None
    return Counter(row["status"] for row in await fetch_all(
        env.app.db.reader, "SELECT status FROM outbox"))


async def _notices(c: Any, words: str) -> list[dict[str, Any]]:
    return [m for m in await c.sent(COORDINATOR) if words in m["text"]]


async def test_unreadable_answers_post_each_card_once(tmp_path):
    async with running(tmp_path, clock=MONDAY, start_bot=False) as env:
        await start_scaled(env)
        c = env.control
        # carried out, answer lost (x3); not carried out, HTML (x1)
        for kind in ("garbage", "html504", "html502", "garbage"):
            await c.fault(platform="tg", method="sendMessage", chat_id=STAFF_GROUP, kind=kind,
                          count=1)
        keys = [await comment(c, 13, 500700 + n, f"Нет горячей воды в доме {n}")
                for n in range(4)]
        await assert_each_once(env, c, keys)
        statuses = await _statuses(c, "sendMessage")
        assert statuses.count(504) == 1 and statuses.count(502) == 1
        # the three that went were adopted, not sent again: 4 cards from 5 calls
        assert statuses.count(200) + statuses.count(504) == 4
        # looking costs little: card 1 looked at ids 1–6 (the forum's service messages,
        # then its own: a fresh bot knew no id in the group), the others at one or two
        probes = await _statuses(c, "editMessageReplyMarkup")
        assert 0 < len(probes) <= 10 and "deleteMessages" not in str(await c.log())
        await asyncio.sleep(1.0)  # nothing shows up twice later either
        assert set((await card_counts(c)).values()) == {1}
        assert (await _outbox(env))["failed"] == 0
        await still_serving(env, c, keys)


async def test_a_server_answering_html_and_garbage_for_a_while(tmp_path, monkeypatch):
    # retries a second apart at most: the subject is what is sent, not how long it waits
    monkeypatch.setattr(outcomes, "backoff",
                        lambda attempts, base=0.5, cap=60.0: min(1.0, 0.1 * 2 ** attempts))
    async with running(tmp_path, clock=MONDAY, start_bot=False) as env:
        await start_scaled(env)
        c = env.control
        keys = [await comment(c, 14, 500800, "Не убирают мусор во дворе дома 1")]
        await eventually(lambda: card_counts(c), timeout=15)
        # every call but getUpdates: nginx pages for a while, then bodies cut short
        await c.fault(platform="tg", kind="html502", count=6)
        await c.fault(platform="tg", kind="garbage", count=6)
        keys += [await comment(c, 14, 500801 + n, f"Не убирают мусор во дворе дома {n + 2}")
                 for n in range(3)]
        await press(env, 1, "tk")  # an edit meets the garbage too
        await assert_each_once(env, c, keys)

        async def taken() -> bool:
            card = await c.card(1)
            return bool(card) and "в работе" in card["text"]
        await eventually(taken, timeout=30)
        assert not env.sandbox.state.faults  # they were all met
        await asyncio.sleep(1.0)
        assert set((await card_counts(c)).values()) == {1}
        counts = await _outbox(env)
        assert counts["failed"] == 0 and counts["pending"] == counts["sending"] == 0
        await still_serving(env, c, keys)


async def test_a_half_sent_album_is_posted_once(tmp_path):
    async with running(tmp_path, clock=MONDAY, start_bot=False) as env:
        await start_scaled(env)
        c = env.control
        assert env.app is not None
        await c.fault(platform="tg", method="sendMediaGroup", kind="album_partial", sent=2,
                      count=1)
        media = [{"type": "photo", "media": f"https://example.org/subbotnik-{n}.png"}
                 for n in range(4)]
        media[0] |= {"caption": "Субботник в парке", "parse_mode": "HTML"}
        async with env.app.db.tx() as conn:
            await rows.enqueue(conn, key="album", platform="tg", lane=f"tg:{CHANNEL}",
                               method="sendMediaGroup",
                               params={"chat_id": CHANNEL, "media": media},
                               now=env.app.clock.now())
        env.app.outbox.wake()
        await eventually(lambda: _statuses(c, "sendMediaGroup", CHANNEL), timeout=10,
                         interval=0.01)
        # an admin posts by hand while the bot waits to try again: never touched
        hand = await c.post("tg/channel_post", {"chat_id": CHANNEL, "text": "Пост вручную"})

        async def done() -> bool:
            return (await _outbox(env))["done"] >= 1 and not await rows.lane_heads(
                env.app.db.reader)
        await eventually(done, timeout=20)
        everything = await c.get("tg/messages", chat_id=CHANNEL)
        shown = [m for m in everything if not m["deleted"]]
        photos = [m for m in shown if m["kind"] == "media_group"]
        assert len(photos) == 4 and len({m["media_group_id"] for m in photos}) == 1
        assert [m["text"] for m in photos if m["text"]] == ["Субботник в парке"]
        assert next(m for m in shown if not m["by_bot"])["message_id"] == hand["message_id"]
        assert all(m["edits"] == 0 for m in everything if not m["by_bot"])
        assert len([m for m in everything if m["deleted"]]) == 2  # the half album went
        assert await _statuses(c, "sendMediaGroup", CHANNEL) == [500, 200]


async def test_permanent_failures_are_told_to_the_coordinator_once(tmp_path, monkeypatch):
    monkeypatch.setattr(outbox_module, "MAX_ATTEMPTS", 3)
    async with running(tmp_path, clock=MONDAY, start_bot=False) as env:
        await start_scaled(env)
        c = env.control
        # a refusal: the card of the first message cannot be posted
        env.sandbox.state.add_fault(platform="tg", kind="403", method="sendMessage",
                                    chat_id=STAFF_GROUP, count=1)
        keys = [await comment(c, 15, 500900, "Сломана скамейка у дома 5")]
        notice = await eventually(lambda: _notices(c, "карточку сообщения №1"), timeout=15)
        assert "в группу МЦУ" in notice[0]["text"] and "Error 403" in notice[0]["text"]
        # the lane is not blocked: the next message gets its card
        keys.append(await comment(c, 15, 500901, "Сломана скамейка у дома 7"))
        await eventually(lambda: c.card(2), timeout=15)
        # an edit the server never answers properly: given up after the attempt limit
        await c.fault(platform="tg", method="editMessageText", kind="html502", count=50)
        await press(env, 2, "tk")
        gave_up = await eventually(lambda: _notices(c, "ни на одну из 3 попыток"), timeout=30)
        assert "карточку сообщения №2" in gave_up[0]["text"]
        assert "HTML page «502 Bad Gateway»" in gave_up[0]["text"]
        assert "<html>" not in gave_up[0]["text"]
        env.sandbox.state.faults.clear()
        await asyncio.sleep(1.5)  # once each
        assert len(await _notices(c, "карточку сообщения №1")) == 1
        assert len(await _notices(c, "ни на одну из 3 попыток")) == 1
        assert (await _outbox(env))["failed"] == 2


async def test_a_busy_group_gets_new_cards_before_stale_edits_and_one_edit_a_card(tmp_path):
    async with running(tmp_path, clock=MONDAY, start_bot=False) as env:
        await start_scaled(env)
        c = env.control
        assert env.app is not None
        keys = [await comment(c, 16, 501000 + n, f"Не горит фонарь у дома {n}")
                for n in range(30)]
        await eventually(lambda: c.card(1), timeout=15, interval=0.02)

        async def all_queued() -> bool:  # every card waits in the lane before card 1 changes
            [(n,)] = await fetch_all(env.app.db.reader, "SELECT count(*) FROM incidents")
            return n == len(keys)
        await eventually(all_queued, timeout=15, interval=0.02)
        # card 1 changes four times while 29 cards wait: taken, answered, returned, answered
        await answer_ready(env, 1, "Фонарь заменят сегодня.")
        await env.app.workflow.return_with_reason(COORDINATOR, 1, "Уточните время")
        await env.app.workflow.answer(COORDINATOR, 1, "Фонарь заменят до 18:00.", [])
        await assert_each_once(env, c, keys)

        async def answered() -> bool:
            card = await c.card(1)
            return bool(card) and "18:00" in card["text"]
        await eventually(answered, timeout=20)
        card_one = (await c.card(1))["message_id"]
        log = [e for e in await c.log() if str(e["params"].get("chat_id")) == str(STAFF_GROUP)]
        edits = [n for n, e in enumerate(log) if e["method"] == "editMessageText"
                 and str(e["params"].get("message_id")) == str(card_one)]
        sends = [n for n, e in enumerate(log) if e["method"] == "sendMessage"]
        assert len(edits) == 1  # four changes, one edit: the latest state
        assert edits[0] > sends[-1]  # every new card went before it
        assert [e["status"] for e in log].count(429) == 0
        assert env.app is not None
        [(count,)] = await fetch_all(env.app.db.reader,
                                     "SELECT count(*) FROM outbox WHERE key = 'card:1'")
        assert count == 1
