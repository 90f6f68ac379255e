"""A third-party public read under a small app's service token (3 requests/s).

15 posts, each with two comments (one with a watch word), on the public before the bot
starts; the real App reads them through the sandbox, which refuses past 3 requests/s.
Two runs: a poll interval long enough for one scan to read every post (the scan's own
time), and the sandbox world's 2 s interval, where each scan's budget reads a few
posts and the next resumes (the time until everything is stored).

Figures: requests/s the sandbox saw (the most in any one second), error 6 answers (must
be 0), the first scan's requests and time (first request to last), the time from the
start of the bot to everything stored.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.common import config, emit, quiet, start, stop, wait_for
from bot.app import App
from bot.sandbox.server import Sandbox

PUBLIC = 100003
POSTS = 15
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Saratov"))


def count(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT count(*) FROM incidents").fetchone()[0])
    finally:
        db.close()


def most_in_a_second(times: list[float]) -> int:
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


async def run(interval: int) -> dict[str, Any]:
    sandbox = Sandbox()
    sandbox.state.clock.set(MONDAY)
    base = await sandbox.start(0)
    vk = sandbox.vk
    wall = vk._wall(-PUBLIC)
    for n in range(POSTS):
        post = vk._add_post(wall, from_id=510000 + n, text=f"Шиханы: яма на дороге у дома {n}",
                            post_type="post", attachments=[], via="control")
        vk._add_comment(wall, post, from_id=511000 + n, text=f"И мусор у дома {n} не вывозят",
                        reply_to=None, attachments=[], via="control")
        vk._add_comment(wall, post, from_id=512000 + n, text="Согласен", reply_to=None,
                        attachments=[], via="control")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bot.sqlite3"
        app = App(config(base, path, **{"vk.poll_interval_seconds": interval}))
        started = time.monotonic()
        task = await start(app, sandbox)

        async def stored() -> bool:
            return await asyncio.to_thread(count, path) >= 2 * POSTS

        await wait_for(stored, 120, interval=0.05)
        all_stored = time.monotonic() - started
        await stop(app, task)
        total = await asyncio.to_thread(count, path)
    await sandbox.stop()
    reads = [e for e in sandbox.state.log if e["method"] in ("wall.get", "wall.getComments")
             and e["params"].get("owner_id") == f"-{PUBLIC}"]
    times = [datetime.fromisoformat(e["at"]).timestamp() for e in reads]
    scans = [n for n, e in enumerate(reads) if e["method"] == "wall.get"]
    first = reads[: scans[1]] if len(scans) > 1 else reads
    first_times = times[: len(first)]
    scan_seconds = first_times[-1] - first_times[0] if len(first_times) > 1 else 0.0
    return {
        "poll_interval": interval, "posts": POSTS, "stored": total,
        "requests": len(reads), "scans": len(scans),
        "first_scan_requests": len(first), "first_scan_seconds": round(scan_seconds, 2),
        "most_rps_in_any_second": most_in_a_second(times),
        "error_6": sum(1 for e in sandbox.state.log if e["status"] == 6),
        "seconds_to_store_all": round(all_stored, 2),
    }


async def main() -> None:
    quiet()
    one_scan = await run(interval=30)
    resumed = await run(interval=2)
    emit({"benchmark": "vk_publics", "service_rps_limit": 3, "one_scan": one_scan,
          "budgeted_scans": resumed,
          "ok": all(r["error_6"] == 0 and r["most_rps_in_any_second"] <= 3
                    and r["stored"] == 2 * POSTS for r in (one_scan, resumed))})


if __name__ == "__main__":
    asyncio.run(main())
