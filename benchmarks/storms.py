"""Storms: 1,000 comments about water under one VK post through the real App, grouping on.

Figures: how long until every comment is stored as a member of the one group incident,
comments per second, how many incidents they made (1 is right), and how many Bot API
calls the card cost (one send, then edits coalesced by the outbox — not 1,000).
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from benchmarks.common import config, emit, quiet, start, stop, wait_for
from bot.app import App
from bot.sandbox.server import Sandbox

COMMENTS = 1_000
GROUP = 100001
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Saratov"))
TEXTS = ["Когда дадут воду?", "Воды нет третий день", "Где вода??",
         "Опять отключили воду в доме {n}", "Вода будет сегодня? Дом {n}"]


def counts(path: Path) -> tuple[int, int]:
    db = sqlite3.connect(path)
    try:
        return (int(db.execute("SELECT count(*) FROM incidents").fetchone()[0]),
                int(db.execute("SELECT count(*) FROM incident_members").fetchone()[0]))
    finally:
        db.close()


async def main() -> None:
    quiet()
    sandbox = Sandbox()
    sandbox.state.clock.set(MONDAY)
    base = await sandbox.start(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bot.sqlite3"
        app = App(config(base, path, **{"storms.enabled": True}))
        task = await start(app, sandbox)
        items = [{"from_id": 610000 + n, "text": TEXTS[n % len(TEXTS)].format(n=n % 97 + 1)}
                 for n in range(COMMENTS)]
        started = time.perf_counter()
        async with aiohttp.ClientSession() as session, session.post(
                f"{base}/control/vk/comments",
                json={"group_id": GROUP, "post_id": 7, "items": items}) as r:
            r.raise_for_status()

        async def stored() -> bool:
            made, joined = await asyncio.to_thread(counts, path)
            return made + joined >= COMMENTS

        await wait_for(stored, 300, interval=0.05)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(3)  # the card's last edit
        incidents, members = await asyncio.to_thread(counts, path)
        calls = [e for e in sandbox.state.log if e["platform"] == "tg"
                 and e["method"] in ("sendMessage", "editMessageText")]
        await stop(app, task)
    await sandbox.stop()
    emit({"benchmark": "storms", "comments": COMMENTS, "incidents": incidents,
          "members": members, "seconds": round(elapsed, 2),
          "comments_per_second": round(COMMENTS / elapsed), "card_calls": len(calls),
          "ok": incidents == 1 and members == COMMENTS - 1})


if __name__ == "__main__":
    asyncio.run(main())
