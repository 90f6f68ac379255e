"""How long one deadline scan tick takes with 100,000 incidents in the database.

A year of incidents: most answered and closed, a few thousand open and assigned across
the working day. Measured on a real SQLite file through ``bot.services.deadlines.scan.Deadlines``:

- ``cold_scan_s``: the first tick after every incident was put in front of the scan
  (what the 0002 migration's back-fill or a bulk import causes): it works through all;
- ``idle_tick_ms``: a tick when nothing is due (the steady state, every second);
- ``busy_tick_ms``: a tick one minute of domain time later, with what fell due then.

Prints one JSON line. ``python benchmarks/deadline_scan.py [--incidents N] [--open N]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import make_hub
from bot.clock import FakeClock
from bot.config import parse_config
from bot.domain import sla
from bot.domain.calendar import WorkCalendar
from bot.domain.routing import Router
from bot.render import Renderer
from bot.sandbox import world
from bot.services.deadlines.scan import Deadlines
from bot.services.hub import Hub
from storage.db import Database, fetch_value
from storage.incidents import iso

TZ = ZoneInfo("Europe/Saratov")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=TZ)  # a working Monday, midday

INSERT = (
    "INSERT INTO incidents(source, source_kind, source_key, author_id, text, written_at,"
    " received_at, block, priority, policy, state, assignee_id, assigned_at, due_at,"
    " first_reply_due_at, first_reply_at) VALUES ('vk:100001', 'vk_comment', ?, 'vk:500101',"
    " 'Нет отопления в доме 5', ?, ?, 'ЖКХ', 'normal', 'answer', ?, ?, ?, ?, ?, ?)"
)


def _rows(total: int, open_: int, cal: WorkCalendar, hub: Hub) -> list[tuple]:
    rng = random.Random(7)
    policy = hub.config.sla.policies["answer"]
    first = hub.config.sla.policies["first_reply"]
    rows = []
    for n in range(total):
        if n < total - open_:
            # answered long ago
            received = NOW - timedelta(days=rng.uniform(3, 365))
            state, assignee, assigned = "closed", 1005, received
        else:
            # open today: received this morning or on the previous working days
            received = NOW - timedelta(minutes=rng.uniform(5, 60 * 24 * 3))
            state = rng.choice(["assigned", "in_progress", "new", "returned"])
            assignee = None if state == "new" else rng.choice([1005, 1006])
            assigned = received + timedelta(minutes=10) if assignee else None
        due = sla.deadline(policy, received, cal)
        first_due = sla.deadline(first, received, cal)
        rows.append((f"b{n}", iso(received), iso(received), state, assignee,
                     iso(assigned) if assigned else None, iso(due), iso(first_due),
                     iso(received + timedelta(minutes=30)) if assignee else None))
    return rows


async def main(total: int, open_: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        config = parse_config(world.config_dict("http://sandbox.invalid", str(path)),
                              environ={})
        clock = FakeClock(NOW)
        db = await Database(str(path)).open()
        cal = WorkCalendar.from_config(config.municipality, config.calendar)
        hub = make_hub(config=config, clock=clock, db=db, render=Renderer(config.municipality.tz),
                  calendar=cal, router=Router(config))
        scan = Deadlines(hub)
        try:
            rows = _rows(total, open_, cal, hub)
            async with db.tx() as conn:
                await conn.executemany(INSERT, rows)
            queued = await fetch_value(db.reader, "SELECT count(*) FROM deadline_queue")

            started = time.perf_counter()
            cold_notices = await scan.tick()
            cold = time.perf_counter() - started
            watched = await fetch_value(db.reader, "SELECT count(*) FROM deadline_queue")

            idle = []
            for _ in range(50):
                started = time.perf_counter()
                assert await scan.tick() == 0
                idle.append(time.perf_counter() - started)

            busy, busy_notices = [], []
            for minute in range(1, 31):
                clock.set(NOW + timedelta(minutes=minute))
                started = time.perf_counter()
                busy_notices.append(await scan.tick())
                busy.append(time.perf_counter() - started)
        finally:
            await db.close()
    return {
        "benchmark": "deadline_scan",
        "incidents": total,
        "open": open_,
        "queued_before_cold_scan": queued,
        "cold_scan_s": round(cold, 3),
        "cold_scan_notices": cold_notices,
        "watched_after": watched,
        "idle_tick_ms": round(statistics.median(idle) * 1000, 3),
        "busy_tick_ms_median": round(statistics.median(busy) * 1000, 3),
        "busy_tick_ms_max": round(max(busy) * 1000, 3),
        "busy_notices_per_minute_median": statistics.median(busy_notices),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=3_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.incidents, args.open)), ensure_ascii=False))
