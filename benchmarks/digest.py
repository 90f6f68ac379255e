"""How long the head's daily digest takes with 100,000 incidents in the database.

A year of a busy town (about 275 incidents a day) is written straight into a fresh
SQLite file migrated by the project's own migrations: four blocks, five sources, most
incidents answered and closed, the last three days' still open, with the audit events
the digest reads (published, returns, citizens' replies). Then, on a Tuesday morning:

- ``digest_seconds``: the first digest of the process (cold caches: the morphological
  analyser, the templates, SQLite's pages) — what the 09:00 tick costs;
- ``digest_warm_seconds``: the median of the next five;
- ``chart_seconds``, ``note_week_seconds``, ``export_month_seconds``: the week's chart,
  the analytical note and the XLSX, each after one warm-up (matplotlib's import alone
  takes about a second);
- ``peak_rss_mb``: the process's peak resident memory up to the end of the digests
  (the data generation included: it is written in chunks to keep it small); then
  before the first digest and at the end, after the chart and the export.

Prints one JSON line. ``python benchmarks/digest.py [--incidents N]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
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
from bot.domain.calendar import WorkCalendar
from bot.domain.routing import Router
from bot.render import Renderer
from bot.sandbox import world
from bot.services.reports.periods import digest_period
from bot.services.reports.reports import Reports
from storage.db import Database
from storage.incidents import iso

TZ = ZoneInfo("Europe/Saratov")
NOW = datetime(2026, 11, 24, 9, 0, 3, tzinfo=TZ)  # a working Tuesday, digest time

TOPICS = {
    "ЖКХ": ["нет отопления в доме {n}", "прорвало трубу в подвале", "не вывозят мусор",
            "течёт крыша над подъездом", "холодные батареи в квартире", "нет горячей воды"],
    "Дороги и транспорт": ["яма на дороге по улице Мира", "не ходит автобус маршрут {n}",
                           "гололёд на тротуаре у остановки", "не работает светофор",
                           "не чистят снег во дворе"],
    "Образование": ["в школе {n} холодно", "нет мест в детском саду", "кружок закрыли"],
    "Прочее": ["бродячие собаки у магазина", "шумят соседи по ночам", "спасибо за праздник"],
}
BLOCKS = list(TOPICS)
SOURCES = ["vk:100001", "vk:100002", "vk:100003", f"tg:{world.CITY_CHAT}", "tg:private"]
OPEN_STATES = ["new", "assigned", "in_progress", "answer_ready", "returned", "reopened"]

INCIDENT = (
    "INSERT INTO incidents(id, source, source_kind, source_key, author_id, text, written_at,"
    " received_at, block, priority, policy, state, assignee_id, assigned_at, due_at,"
    " first_reply_at, published_at, closed_at, returns, reopens, rating)"
    " VALUES (?, ?, 'vk_comment', ?, ?, ?, ?, ?, ?, 'normal', 'answer', ?, ?, ?, ?, ?, ?,"
    " ?, ?, ?, ?)"
)
EVENT = "INSERT INTO incident_events(incident_id, at, action) VALUES (?, ?, ?)"


def generate(total: int, calendar: WorkCalendar, chunk: int = 10_000):
    """Rows of incidents and of their events, ``chunk`` incidents at a time (so that the
    peak memory measured is the digest's, not the generator's)."""
    rng = random.Random(8)
    incidents: list[tuple] = []
    events: list[tuple] = []
    span = timedelta(days=365)
    for n in range(1, total + 1):
        # spread evenly over the year before NOW, the newest last
        received = NOW - span * (1 - n / total) - timedelta(minutes=rng.uniform(0, 30))
        block = rng.choices(BLOCKS, weights=[5, 3, 1, 1])[0]
        text = rng.choice(TOPICS[block]).format(n=rng.randint(1, 40))
        due = calendar.add(received, timedelta(hours=8))
        executor = 1005 if block == "ЖКХ" else 1006
        at = iso(received)
        events.append((n, at, "created"))
        returns = reopens = 0
        rating = first = published = closed = assigned = None
        if received > NOW - timedelta(days=3) and rng.random() < 0.4:
            state = rng.choice(OPEN_STATES)
            assignee = None if state == "new" else executor
        else:
            state, assignee = "closed", executor
            work = timedelta(hours=rng.uniform(0.2, 12))
            published = received + work
            first = received + min(work, timedelta(minutes=rng.uniform(10, 90)))
            closed = published + timedelta(days=2)
            returns = int(rng.random() < 0.1)
            rating = rng.choice([None, None, None, 3, 4, 5])
            events.append((n, iso(published), "published"))
            if returns:
                events.append((n, iso(published - timedelta(minutes=20)), "return"))
            if rng.random() < 0.03:
                reopens = 1
                events.append((n, iso(published + timedelta(hours=5)), "citizen_reply"))
        if assignee is not None:
            assigned = received + timedelta(minutes=15)
            events.append((n, iso(assigned), "assign"))
        incidents.append((
            n, rng.choice(SOURCES), f"bench:{n}", f"vk:{500000 + n % 900}", text, at, at,
            block, state, assignee, iso(assigned) if assigned else None, iso(due),
            iso(first) if first else None, iso(published) if published else None,
            iso(closed) if closed else None, returns, reopens, rating,
        ))
        if len(incidents) == chunk or n == total:
            yield incidents, events
            incidents, events = [], []


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = await call()
    return time.perf_counter() - started, result


async def main(total: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        config = parse_config(world.config_dict("http://sandbox.invalid", str(path)),
                              environ={})
        calendar = WorkCalendar.from_config(config.municipality, config.calendar)
        db = await Database(str(path)).open()  # the project's migrations
        event_count = 0
        for incidents, events in generate(total, calendar):
            async with db.tx() as conn:
                await conn.executemany(INCIDENT, incidents)
                await conn.executemany(EVENT, events)
            event_count += len(events)
        await db.close()

        db = await Database(str(path)).open()  # a fresh process's connections
        hub = make_hub(config=config, clock=FakeClock(NOW), db=db,
                  render=Renderer(config.municipality.tz), calendar=calendar,
                  router=Router(config))
        reports = Reports(hub)
        period = digest_period(NOW.date(), calendar)
        try:
            async def digest() -> str:
                return reports.digest_text(await reports.summary(period, NOW))

            loaded_mb = _peak_mb()
            cold, text = await timed(digest)
            warm = [(await timed(digest))[0] for _ in range(5)]
            digest_mb = _peak_mb()
            week = period.__class__(period.end - timedelta(days=7), period.end, TZ)
            await reports.chart(week)
            chart, _ = await timed(lambda: reports.chart(week))
            await reports.note("week", NOW)
            note, _ = await timed(lambda: reports.note("week", NOW))
            await reports.export("month", NOW)
            export, reply = await timed(lambda: reports.export("month", NOW))
        finally:
            await db.close()
    assert isinstance(text, str) and "Сводка" in text.splitlines()[0]
    return {
        "incidents": total,
        "digest_seconds": round(cold, 4),
        "peak_rss_mb": digest_mb,
        "peak_rss_mb_before_digest": loaded_mb,
        "peak_rss_mb_with_chart_and_export": _peak_mb(),
        "digest_warm_seconds": round(statistics.median(warm), 4),
        "chart_seconds": round(chart, 3),
        "note_week_seconds": round(note, 3),
        "export_month_seconds": round(export, 3),
        "export_month_bytes": len(reply.document or b""),  # type: ignore[attr-defined]
        "digest_chars": len(text),
        "events": event_count,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.incidents)), ensure_ascii=False))
