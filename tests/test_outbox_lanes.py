"""The outbox's pure parts: one budget per Telegram chat, and which row a lane sends next."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.outbox.limits import Limits, Window
from storage import incidents as repo
from storage import outbox as rows
from storage.db import Database
from tests.test_storage import new

GROUP, PRIVATE = -1001000000001, 1004
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def test_edits_and_sends_share_a_groups_twenty_a_minute():
    limits = Limits()
    lane = f"tg:{GROUP}"
    for n in range(10):
        limits.note(lane, "send", n * 1.5)
    for n in range(10, 20):
        assert limits.wait(lane, "edit", n * 1.5) == 0
        limits.note(lane, "edit", n * 1.5)
    # the 21st call of the minute waits, be it a send or an edit
    assert limits.wait(lane, "send", 30.0) == pytest.approx(30.0)
    assert limits.wait(lane, "edit", 30.0) == pytest.approx(30.0)
    assert limits.wait(lane, "call", 30.0) == 0  # not a message: the overall limit only
    assert limits.wait(f"tg:{GROUP - 1}", "send", 30.0) == 0  # another group


def test_a_private_chat_sends_once_a_second_and_edits_twenty_a_minute():
    limits = Limits()
    lane = f"tg:{PRIVATE}"
    limits.note(lane, "edit", 0.0)  # a press: its keyboard edited, a reply, another
    assert limits.wait(lane, "send", 0.0) == 0
    limits.note(lane, "send", 0.0)
    limits.note(lane, "send", 0.1)
    assert limits.wait(lane, "edit", 0.5) == pytest.approx(2.5)  # 3 in any 3 s, shared
    for n in range(1, 20):  # 20 edits within a minute, from 0 to 57
        limits.note(lane, "edit", float(n * 3))
    assert limits.wait(lane, "send", 58.0) == 0  # sends do not pay the minute in private
    assert limits.wait(lane, "edit", 58.0) == pytest.approx(2.0)  # until the 1st is 60 s old


def test_an_album_takes_as_many_places_as_it_has_messages():
    window = Window(20, 60.0)
    for n in range(17):
        window.note(float(n))
    assert window.wait(17.0, weight=3) == 0
    assert window.wait(17.0, weight=5) == pytest.approx(44.0)  # two must leave: at 1 + 60
    window.note(17.0, weight=3)
    assert len(window.times) == 20
    window.settle(17.0, 18.0)  # the album's three places count from its answer
    assert list(window.times)[-3:] == [18.0, 18.0, 18.0]


async def _lane(db: Database, keys_methods: list[tuple[str, str, str]]) -> dict[str, int]:
    ids = {}
    async with db.tx() as conn:
        for key, platform, method in keys_methods:
            await rows.enqueue(conn, key=key, platform=platform, lane=f"tg:{GROUP}",
                               method=method, params={"chat_id": GROUP}, now=NOW,
                               ref_id=int(key[5:]) if platform == "card" else None)
            item = await _by_key(conn, key)
            ids[key] = item.id
    return ids


async def _head(db: Database, **kw: Any) -> str:
    """The key of the row the staff group's lane sends next."""
    return next(i.key for i in await rows.lane_heads(db.reader, **kw)
                if i.lane == f"tg:{GROUP}")


async def _by_key(conn, key: str) -> rows.Item:
    row = await (await conn.execute("SELECT id FROM outbox WHERE key = ?", (key,))).fetchone()
    item = await rows.get(conn, row[0])
    assert item is not None
    return item


async def test_a_lane_behind_sends_new_messages_before_stale_edits(tmp_path):
    db = await Database(str(tmp_path / "db.sqlite3")).open()
    try:
        async with db.tx() as conn:
            incident = await repo.insert(conn, new("k1"))
            assert incident == 1
            await repo.set_card(conn, 1, GROUP, 77, 2)  # card 1 is in the group: edits now
        ids = await _lane(db, [("card:1", "card", "sync"), ("card:2", "card", "sync"),
                               ("pressedit", "tg", "editMessageReplyMarkup"),
                               ("prompt", "tg", "sendMessage")])
        async with db.tx() as conn:
            await conn.execute("UPDATE outbox SET armed_at = 1000.0")
            await conn.execute("INSERT INTO outbox(key, platform, lane, method, params,"
                               " created_at) VALUES ('vk1', 'vk', 'vk:community:1', 'x',"
                               " '{}', ''), ('vk2', 'vk', 'vk:community:1', 'y', '{}', '')")
        # card 1's edit is the oldest row, yet card 2 (never sent) goes first, then the
        # prompt after it; VK keeps its order
        [head, vk] = await rows.lane_heads(db.reader, now=1010.0, patience=60.0)
        assert head.key == "card:2" and vk.key == "vk1"
        async with db.tx() as conn:
            await rows.claim(conn, ids["card:2"])
            await rows.mark_done(conn, ids["card:2"], {}, NOW)
        assert await _head(db, now=1010.0, patience=60.0) == "prompt"
        # an edit that waited its patience gets its turn; without a clock edits wait
        assert await _head(db, now=1061.0, patience=60.0) == "card:1"
        # … every other turn: right after an edit the new message goes
        assert await _head(db, now=1061.0, patience=60.0, after_edit={f"tg:{GROUP}"}) == (
            "prompt")
        assert await _head(db) == "prompt"
        # a try to finish goes first: a row left sending, the removal of orphans
        async with db.tx() as conn:
            await rows.enqueue(conn, key="orphans", platform="tg", lane=f"tg:{GROUP}",
                               method="deleteOrphans", params={}, now=NOW)
        assert await _head(db, now=1010.0) == "orphans"
        async with db.tx() as conn:
            await rows.claim(conn, ids["pressedit"])
        assert await _head(db, now=1010.0) == "pressedit"
        # with nothing new waiting, edits go in their order
        async with db.tx() as conn:
            for key in ("orphans", "prompt"):
                item = await _by_key(conn, key)
                await rows.claim(conn, item.id)
                await rows.mark_done(conn, item.id, {}, NOW)
            await rows.mark_done(conn, ids["pressedit"], {}, NOW)
        assert await _head(db, now=1010.0) == "card:1"
    finally:
        await db.close()


async def test_the_intent_is_recorded_and_a_lost_try_is_uncertain(tmp_path):
    db = await Database(str(tmp_path / "db.sqlite3")).open()
    try:
        ids = await _lane(db, [("send", "tg", "sendMessage")])
        async with db.tx() as conn:
            first = await rows.claim(conn, ids["send"], watermark=40)
            assert first is not None and not first.uncertain and first.watermark == 40
        # the process died during the call: claimed again, the row is uncertain and keeps
        # the watermark of its first try
        async with db.tx() as conn:
            again = await rows.claim(conn, ids["send"], watermark=45)
            assert again is not None and again.uncertain and again.watermark == 40
            await rows.retry_later(conn, ids["send"], 0.0, "html", uncertain=True,
                                   watermark=43)
            # re-armed (a card brought up to date): what is known of the try stays
            await rows.enqueue(conn, key="send", platform="tg", lane=f"tg:{GROUP}",
                               method="sendMessage", params={}, now=NOW, refresh=True)
            item = await rows.get(conn, ids["send"])
            assert item is not None and item.uncertain and item.watermark == 43
            await rows.claim(conn, ids["send"])
            await rows.mark_done(conn, ids["send"], {"message_id": 44}, NOW)
            item = await rows.get(conn, ids["send"])
            assert item is not None and not item.uncertain and item.watermark is None
            await rows.note_message_ids(conn, GROUP, 44)
            await rows.note_message_ids(conn, GROUP, 12)
            assert await rows.known_message_id(conn, GROUP) == 44
            assert await rows.known_message_id(conn, PRIVATE) == 0
    finally:
        await db.close()
