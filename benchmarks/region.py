"""The region: 50 municipalities and 1,000,000 incidents in one PostgreSQL; SQLite at 100,000.

Figures: the fixture's bulk load (rows/s), ingest events/s of one process (the real App
with the sandbox's VK long poll, as ``benchmarks.ingest``) and in total with 4 processes
at once (4 municipalities), the regional report's time over all 50 municipalities (a
month), and for SQLite the same ingest figures and one municipality's figures at
100,000. A throwaway PostgreSQL cluster is started for it (tests/pgcluster.py).
``MCU_BENCH_INCIDENTS`` scales the PostgreSQL fixture down for a quick look.

    python -m benchmarks.region
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks.common import config, emit, quiet, start, stop, wait_for
from benchmarks.ingest import TEXTS, _post
from bot.app import App
from bot.sandbox.server import Sandbox
from storage import incidents as repo
from storage.db import Database

MUNICIPALITIES = 50
INCIDENTS = int(os.environ.get("MCU_BENCH_INCIDENTS", "1000000"))
SQLITE_INCIDENTS = 100_000
EVENTS = int(os.environ.get("MCU_BENCH_EVENTS", "5000"))  # ingested by each process
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Saratov"))

# the fixture, generated in the database: 14 days of messages, most answered and closed
# (as the quiet close leaves them), some rated, a tenth in work
_FIXTURE = """
INSERT INTO incidents (source, source_kind, source_key, thread_key, author_id, author_name,
    text, written_at, received_at, block, priority, policy, state, assignee_id, due_at,
    first_reply_at, published_at, rating, reopens)
SELECT 'vk:100001', 'vk_comment', 'bench:' || g, 'vk:100001:wall:' || (g % 500),
    'vk:' || (700000 + g % 5000), 'Житель ' || g,
    (ARRAY['Нет отопления в доме', 'Яма на дороге', 'Не вывозят мусор',
           'Не горит свет во дворе'])[1 + g % 4] || ' ' || g,
    r, r, (ARRAY['ЖКХ', 'Дороги и транспорт', 'Благоустройство', 'Социальная сфера'])[1 + g % 4],
    'normal', 'answer',
    CASE WHEN g % 10 = 0 THEN 'in_progress' WHEN g % 37 = 0 THEN 'new' ELSE 'closed' END,
    1000 + g % 7, d, CASE WHEN g % 10 <> 0 AND g % 37 <> 0 THEN p END,
    CASE WHEN g % 10 <> 0 AND g % 37 <> 0 THEN p END,
    CASE WHEN g % 3 = 0 THEN 1 + g % 5 END, CASE WHEN g % 41 = 0 THEN 1 ELSE 0 END
FROM (SELECT g,
        to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"') AS r,
        to_char((t + interval '8 hours') AT TIME ZONE 'UTC',
                'YYYY-MM-DD"T"HH24:MI:SS"+00:00"') AS d,
        to_char((t + (g % 12) * interval '1 hour') AT TIME ZONE 'UTC',
                'YYYY-MM-DD"T"HH24:MI:SS"+00:00"') AS p
      FROM (SELECT g, $3::timestamptz - (g % 86400 * 60) * interval '1 second' AS t
            FROM generate_series($1::int, $2::int) AS g) AS s) AS f
"""


async def load_postgres(url: str, municipalities: int, per: int) -> float:
    """The fixture, one municipality at a time through its own connection (row-level
    security checks every row); rows per second."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    for m in range(municipalities):
        db = await Database(url, f"m{m:02d}").open()
        try:
            async with db.tx() as conn:
                for first in range(1, per + 1, 50_000):
                    await conn.raw.execute(_FIXTURE, first, min(per, first + 49_999), now)
                # as the deadline scan leaves it: every reminder and escalation owed so far
                # sent, nothing left to look at until the next change
                await conn.raw.execute("DELETE FROM deadline_queue")
        finally:
            await db.close()
    rate = municipalities * per / (time.perf_counter() - started)
    # a database in service is vacuumed: the load's autovacuum must not fall on the
    # figures that follow
    db = await Database(url, "m00").open()
    try:
        for table in ("incidents", "incident_events", "deadline_queue", "outbox"):
            await db.reader.raw.execute(f"VACUUM ANALYZE {table}")
    finally:
        await db.close()
    return rate


_DEADLINE_TRIGGER = """
CREATE TRIGGER deadline_queue_on_insert AFTER INSERT ON incidents
WHEN NEW.due_at IS NOT NULL OR NEW.first_reply_due_at IS NOT NULL
BEGIN
    INSERT OR REPLACE INTO deadline_queue(incident_id, next_at) VALUES (NEW.id, '');
END;
"""


def load_sqlite(path: Path, per: int) -> float:
    """The same fixture in one SQLite file, through the app's schema; rows per second."""
    import sqlite3

    async def schema() -> None:
        await (await Database(str(path)).open()).close()

    asyncio.run(schema())
    started = time.perf_counter()
    db = sqlite3.connect(path)
    now = datetime.now(UTC).timestamp()
    rows = []
    for g in range(1, per + 1):
        t = now - (g % 86400) * 60
        iso = datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")
        due = datetime.fromtimestamp(t + 8 * 3600, UTC).isoformat(timespec="seconds")
        answered = datetime.fromtimestamp(t + (g % 12) * 3600, UTC).isoformat(timespec="seconds")
        done = g % 10 != 0 and g % 37 != 0
        rows.append(("vk:100001", "vk_comment", f"bench:{g}", f"vk:100001:wall:{g % 500}",
                     f"vk:{700000 + g % 5000}", f"Житель {g}", f"Яма на дороге {g}", iso, iso,
                     "ЖКХ", "normal", "answer", "closed" if done else "in_progress",
                     1000 + g % 7, due, answered if done else None, answered if done else None,
                     1 + g % 5 if g % 3 == 0 else None, 1 if g % 41 == 0 else 0))
    db.execute("DROP TRIGGER deadline_queue_on_insert")  # as the scan leaves it (above)
    db.executemany(
        "INSERT INTO incidents (source, source_kind, source_key, thread_key, author_id,"
        " author_name, text, written_at, received_at, block, priority, policy, state,"
        " assignee_id, due_at, first_reply_at, published_at, rating, reopens)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.executescript(_DEADLINE_TRIGGER)
    db.execute("ANALYZE")
    db.close()
    return per / (time.perf_counter() - started)


async def ingest(target: str, municipality: str, events: int) -> tuple[float, float]:
    """One real App on ``target``, ``events`` VK comments through the sandbox: when the
    comments were posted and when the last was stored (epoch seconds)."""
    quiet()
    sandbox = Sandbox()
    sandbox.state.clock.set(MONDAY)
    base = await sandbox.start(0)
    overrides = {"municipality.id": municipality}
    if target.startswith("postgresql://"):
        overrides["storage.url"] = target
    app = App(config(base, target if not target.startswith("postgresql") else "x.sqlite3",
                     **overrides))
    task = await start(app, sandbox)
    before = await repo.count(app.db.reader)
    items = [{"from_id": 600000 + n, "text": TEXTS[n % len(TEXTS)].format(n=n % 97 + 1)}
             for n in range(events)]
    started = time.time()
    await _post(base, items)

    async def stored() -> bool:
        return await repo.count(app.db.reader) >= before + events

    await wait_for(stored, 600, interval=0.05)
    finished = time.time()
    await stop(app, task)
    await sandbox.stop()
    return started, finished


def ingest_processes(target_of: list[tuple[str, str]]) -> tuple[list[float], float]:
    """Each (target, municipality) ingesting in its own OS process, all at once: each
    one's events/s, and all events over the time from the first post to the last store."""
    procs = [subprocess.Popen([sys.executable, "-m", "benchmarks.region", "ingest", target,
                               municipality, str(EVENTS)], stdout=subprocess.PIPE, text=True)
             for target, municipality in target_of]
    windows = [json.loads(p.communicate(timeout=900)[0].strip().splitlines()[-1])["window"]
               for p in procs]
    each = [EVENTS / (end - begin) for begin, end in windows]
    total = EVENTS * len(windows) / (max(e for _, e in windows) - min(b for b, _ in windows))
    return each, total


async def region_report(url: str, municipalities: int) -> tuple[float, int]:
    from bot.config.region import RegionConfig
    from bot.render import Renderer
    from bot.services import region

    settings = RegionConfig.model_validate({
        "region": {"name": "Область", "timezone": "Europe/Saratov"},
        "storage": {"url": url},
        "municipalities": [{"id": f"m{m:02d}", "name": f"Город {m}"}
                           for m in range(municipalities)]})
    render = Renderer(settings.region.tz)
    started = time.perf_counter()
    period, rows = await region.collect(settings, "month", datetime.now(UTC))
    region.text(render, settings, "month", period, rows)
    await region.files(render, rows, "Область")
    return time.perf_counter() - started, sum(r.volume for r in rows)


async def one_municipality(path: str) -> float:
    from bot.config.sections import Municipality
    from bot.domain.calendar import WorkCalendar
    from bot.services import region

    tz = ZoneInfo("Europe/Saratov")
    started = time.perf_counter()
    period = region.period_of("month", datetime.now(UTC), tz)
    await region.municipality_row(path, Municipality(name="Шиханы"), period,
                                  datetime.now(UTC), WorkCalendar(tz), 5)
    return time.perf_counter() - started


def main() -> None:
    from tests.pgcluster import Cluster

    quiet()
    figures: dict[str, object] = {"benchmark": "region"}
    cluster = Cluster()
    if not cluster.available:
        emit({**figures, "error": "PostgreSQL is not installed"})
        return
    cluster.start()
    try:
        cluster.psql("CREATE DATABASE region OWNER mcu")
        url = cluster.url("region")
        per = INCIDENTS // MUNICIPALITIES
        print(f"loading {MUNICIPALITIES} × {per} incidents…", file=sys.stderr, flush=True)
        figures["pg_incidents"] = MUNICIPALITIES * per
        figures["pg_load_rows_per_second"] = round(asyncio.run(
            load_postgres(url, MUNICIPALITIES, per)))
        seconds, volume = asyncio.run(region_report(url, MUNICIPALITIES))
        figures["pg_region_report_seconds"] = round(seconds, 2)
        figures["pg_region_report_month_messages"] = volume
        one, _ = ingest_processes([(url, "m00")])
        figures["pg_ingest_per_second_one_process"] = round(one[0])
        four, total = ingest_processes([(url, f"m{m:02d}") for m in range(1, 5)])
        figures["pg_ingest_per_second_each_of_4"] = [round(x) for x in four]
        figures["pg_ingest_per_second_total_4"] = round(total)
    finally:
        cluster.stop()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.sqlite3"
        figures["sqlite_incidents"] = SQLITE_INCIDENTS
        figures["sqlite_load_rows_per_second"] = round(load_sqlite(path, SQLITE_INCIDENTS))
        figures["sqlite_municipality_figures_seconds"] = round(
            asyncio.run(one_municipality(str(path))), 2)
        one, _ = ingest_processes([(str(path), "main")])
        figures["sqlite_ingest_per_second_one_process"] = round(one[0])
        four, total = ingest_processes([(str(Path(tmp) / f"m{m}.sqlite3"), "main")
                                        for m in range(4)])
        figures["sqlite_ingest_per_second_each_of_4"] = [round(x) for x in four]
        figures["sqlite_ingest_per_second_total_4"] = round(total)
    emit(figures)


if __name__ == "__main__":
    if sys.argv[1:2] == ["ingest"]:
        target, municipality, events = sys.argv[2], sys.argv[3], int(sys.argv[4])
        emit({"window": asyncio.run(ingest(target, municipality, events))})
    else:
        main()
