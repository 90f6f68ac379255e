"""The health core: what is stale, by which threshold; the outbox's wait as the tables keep it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.sandbox import world
from bot.services import health
from storage import health as tables
from storage import outbox
from storage.db import Database

NOW = 1_800_000_000.0


def config(**health_settings):
    return world.config("http://sandbox", ":memory:", **(
        {"health": health_settings} if health_settings else {}))


def test_sources_expected_from_the_config_with_their_limits() -> None:
    limits = health.expected_sources(config())
    assert limits == {"process": 300.0, "telegram": 300.0, "vk:100001": 300.0,
                      "vk:100002": 300.0, "vk:public:100003": 300.0,
                      "max": 300.0}  # the MAX long poll (issue 19)
    slow = world.config("http://sandbox", ":memory:", **{"vk.poll_interval_seconds": 600})
    assert health.expected_sources(slow)["vk:public:100003"] == 1800.0


def test_stale_sources_and_lanes() -> None:
    snap = tables.Snapshot(now=NOW, beats={
        "process": tables.Beat("process", NOW - 3, None, None),
        "telegram": tables.Beat("telegram", NOW - 301, NOW - 1, "Bad Gateway"),
        "vk:100001": tables.Beat("vk:100001", NOW - 299, None, None),
        "max": tables.Beat("max", NOW - 2, None, None),
    }, lanes=[tables.Lane("tg:-1001000000001", 40, NOW - 1201),
              tables.Lane("tg:1003", 1, NOW - 10)])
    report = health.assess(config(), snap)
    assert report.stale == ["telegram", "vk:100002", "vk:public:100003",
                            "lane:tg:-1001000000001"]
    text = health.plain(report)
    assert "telegram                 5m ago       STALE  (last error 1s ago: Bad Gateway)" in text
    assert "vk:100002                never        STALE" in text
    assert text.endswith("STALE: telegram, vk:100002, vk:public:100003, lane:tg:-1001000000001")
    lenient = health.assess(config(source_stale_seconds=400, outbox_stale_seconds=1300), snap)
    assert lenient.stale == ["vk:100002", "vk:public:100003"]


def test_ago() -> None:
    assert [health.ago(s) for s in (None, 0, 59, 61, 7199, 7200, 172800)] == [
        "never", "0s", "59s", "1m", "119m", "2h", "2d"]


def test_an_outbox_row_waits_from_when_it_was_queued_or_re_armed() -> None:
    async def run() -> None:
        db = await Database(":memory:").open()
        now = datetime(2026, 11, 23, tzinfo=UTC)
        try:
            async with db.tx() as conn:
                await outbox.enqueue(conn, key="card:1", platform="card", lane="tg:-1",
                                     method="sync", params={}, now=now, refresh=True)
            first = (await tables.snapshot(db.reader, 0)).lanes[0].oldest
            await asyncio.sleep(0.05)
            async with db.tx() as conn:  # retried: still waiting since it was queued
                item = (await outbox.lane_heads(conn))[0]
                await outbox.mark_sending(conn, item.id)
                await outbox.retry_later(conn, item.id, 0, "429")
            assert (await tables.snapshot(db.reader, 0)).lanes[0].oldest == first
            async with db.tx() as conn:  # delivered, then re-armed: waits anew
                await outbox.mark_sending(conn, item.id)
                await outbox.mark_done(conn, item.id, None, now)
                await outbox.enqueue(conn, key="card:1", platform="card", lane="tg:-1",
                                     method="sync", params={}, now=now, refresh=True)
            snap = await tables.snapshot(db.reader, 0)
            assert snap.lanes[0].oldest > first and snap.beats["lane:tg:-1"].ok_at
            async with db.tx() as conn:
                await outbox.mark_sending(conn, item.id)
                await outbox.mark_failed(conn, item.id, "Forbidden: bot was blocked", now)
            snap = await tables.snapshot(db.reader, 0)
            assert snap.lanes == [] and snap.failures["lane:tg:-1"] == (
                1, "Forbidden: bot was blocked")
        finally:
            await db.close()

    asyncio.run(run())
