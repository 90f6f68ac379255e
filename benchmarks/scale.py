"""Scale: 100,000 incidents in the database — the scans and lookups a running bot makes.

A year of a busy town is generated in SQL straight into a fresh, migrated SQLite file
(one recursive CTE: incidents over 365 days, most closed or rejected, the last 2,000
open; three audit events each). Then a *separate* process — as the bot would be after a
restart — opens that file and times:

- ``deadline_cold_scan_s``: the first deadline tick, with every incident put in front of
  the scan by the import (bot/services/deadlines/scan.py), and ``deadline_idle_tick_ms`` afterwards;
- ``open_query_ms``: all open incidents (the workflow's and the digest's question);
- ``card_build_ms``: rendering one card with its history (median of 50);
- ``find_ms`` (``/find``, a LIKE over every text) and ``my_ms`` (``/my``);
- ``peak_rss_mb``: that process's peak resident memory (target < 150 MB), with
  ``rss_after_imports_mb`` (the libraries before any data: aiogram's pydantic models
  alone take ``import_aiogram_alone_mb``) and ``rss_data_mb`` (what the data added).
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

INCIDENTS = 100_000
OPEN = 2_000
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/Saratov"))  # Monday midday

GENERATE = """
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :total),
t AS (SELECT n,
    strftime('%Y-%m-%dT%H:%M:%S+00:00', :now, '-' || ((:total - n) * :step) || ' seconds')
        AS at,
    strftime('%Y-%m-%dT%H:%M:%S+00:00', :now,
             '-' || ((:total - n) * :step - 3600) || ' seconds') AS plus1h,
    strftime('%Y-%m-%dT%H:%M:%S+00:00', :now,
             '-' || ((:total - n) * :step - 28800) || ' seconds') AS plus8h,
    strftime('%Y-%m-%dT%H:%M:%S+00:00', :now,
             '-' || ((:total - n) * :step - 259200) || ' seconds') AS plus3d FROM seq)
INSERT INTO incidents (id, source, source_kind, source_key, thread_key, link, author_id,
    author_name, text, written_at, received_at, block, priority, policy, state, version,
    assignee_id, assigned_at, due_at, first_reply_due_at, first_reply_at, answer_text,
    answer_by, publications, published_at, closed_at, rating, returns, card_chat_id,
    card_message_id)
SELECT n,
    CASE n % 5 WHEN 0 THEN 'tg:-1001000000002' WHEN 1 THEN 'vk:100003' ELSE 'vk:100001' END,
    CASE n % 5 WHEN 0 THEN 'tg_chat' WHEN 1 THEN 'vk_public_comment' ELSE 'vk_comment' END,
    'gen:' || n, 'gen:thread:' || (n / 3), 'https://vk.com/wall-100001_' || n,
    'vk:' || (500000 + n % 7919), 'Житель ' || (n % 7919),
    CASE n % 6
        WHEN 0 THEN 'Третий день нет отопления в доме ' || (n % 97) || ' по улице Ленина'
        WHEN 1 THEN 'Огромная яма на дороге у остановки, дом ' || (n % 89)
        WHEN 2 THEN 'Не вывозят мусор во дворе дома ' || (n % 83) || ', контейнеры полны'
        WHEN 3 THEN 'Когда откроют кружок в школе номер ' || (n % 7) || '?'
        WHEN 4 THEN 'Во дворе дома ' || (n % 79) || ' не горит свет, темно вечером'
        ELSE 'Управляющая компания не отвечает, течёт крыша в подъезде ' || (n % 11) END,
    t.at, t.at,
    CASE n % 4 WHEN 0 THEN 'ЖКХ' WHEN 1 THEN 'Дороги и транспорт' WHEN 2 THEN 'Образование'
        ELSE 'Прочее' END,
    CASE WHEN n % 17 = 0 THEN 'fast' ELSE 'normal' END, 'answer',
    CASE WHEN n > :total - :open THEN
            CASE n % 4 WHEN 0 THEN 'new' WHEN 1 THEN 'assigned' WHEN 2 THEN 'in_progress'
                ELSE 'answer_ready' END
        WHEN n % 20 = 0 THEN 'rejected' ELSE 'closed' END,
    5,
    CASE WHEN n > :total - :open AND n % 4 = 0 THEN NULL ELSE 1005 + n % 2 END,
    CASE WHEN n > :total - :open AND n % 4 = 0 THEN NULL ELSE t.plus1h END,
    t.plus8h, t.plus1h, CASE WHEN n > :total - :open THEN NULL ELSE t.plus1h END,
    CASE WHEN n > :total - :open THEN NULL ELSE 'Сделаем в течение дня.' END,
    CASE WHEN n > :total - :open THEN NULL ELSE 1004 END,
    CASE WHEN n > :total - :open THEN 0 ELSE 1 END,
    CASE WHEN n > :total - :open OR n % 20 = 0 THEN NULL ELSE t.plus8h END,
    CASE WHEN n > :total - :open OR n % 20 = 0 THEN NULL ELSE t.plus3d END,
    CASE WHEN n % 7 = 0 THEN 1 + n % 5 END, n % 9 = 0, -1001000000001, n
FROM t
"""

EVENTS = """
INSERT INTO incident_events(incident_id, at, actor_id, actor_name, action, from_state,
    to_state, button, detail)
SELECT id, received_at, NULL, '', 'created', NULL, 'new', NULL, 'keyword' FROM incidents;
INSERT INTO incident_events(incident_id, at, actor_id, actor_name, action, from_state,
    to_state, button, detail)
SELECT id, assigned_at, 1004, 'Координатор', 'assign', 'new', 'assigned', 'to',
    'Исполнитель ЖКХ' FROM incidents WHERE assigned_at IS NOT NULL;
INSERT INTO incident_events(incident_id, at, actor_id, actor_name, action, from_state,
    to_state, button, detail)
SELECT id, coalesce(closed_at, published_at, due_at), NULL, '',
    CASE state WHEN 'rejected' THEN 'reject' ELSE 'close' END, 'published', state, NULL, ''
FROM incidents WHERE state IN ('closed', 'rejected');
"""


async def generate(path: Path) -> dict[str, float]:
    """The fresh database, migrated by the project's migrations, then filled in SQL."""
    from storage.db import Database, fetch_value

    started = time.perf_counter()
    db = await Database(str(path)).open()
    try:
        step = 365 * 86400 // INCIDENTS
        async with db.tx() as conn:
            await conn.execute(GENERATE, {"total": INCIDENTS, "open": OPEN, "step": step,
                                          "now": NOW.isoformat()})
            for statement in EVENTS.split(";"):
                if statement.strip():
                    await conn.execute(statement)
        events = await fetch_value(db.reader, "SELECT count(*) FROM incident_events")
    finally:
        await db.close()
    return {"generate_s": round(time.perf_counter() - started, 2), "events": events}


async def measure(path: Path) -> dict[str, object]:
    """What a bot process opening this database does with it."""
    from bot.app import make_hub
    from bot.clock import FakeClock
    from bot.config import parse_config
    from bot.domain.calendar import WorkCalendar
    from bot.domain.incident import OPEN_STATES
    from bot.domain.routing import Router
    from bot.platforms.telegram.workspace import card_call
    from bot.render import Renderer
    from bot.sandbox import world
    from bot.services.deadlines.scan import Deadlines
    from storage import incidents as repo
    from storage.db import Database, fetch_value

    config = parse_config(world.config_dict("http://sandbox.invalid", str(path)), environ={})
    imported = _rss_mb()  # the libraries alone, before any data
    db = await Database(str(path)).open()
    hub = make_hub(config=config, clock=FakeClock(NOW), db=db,
              render=Renderer(config.municipality.tz),
              calendar=WorkCalendar.from_config(config.municipality, config.calendar),
              router=Router(config))
    figures: dict[str, object] = {}
    try:
        figures["incidents"] = await fetch_value(db.reader, "SELECT count(*) FROM incidents")
        started = time.perf_counter()
        found = await repo.in_states(db.reader, [s.value for s in OPEN_STATES])
        figures["open_query_ms"] = round((time.perf_counter() - started) * 1000, 1)
        figures["open_incidents"] = len(found)

        target = INCIDENTS - OPEN - 1  # a closed one with its whole history
        builds = []
        for _ in range(50):
            started = time.perf_counter()
            call = await card_call(db.reader, config, hub.render, target, NOW,
                                   hub.workspace.topics)
            builds.append(time.perf_counter() - started)
        assert call is not None and "Сообщение №" in call.params["text"]
        figures["card_build_ms"] = round(statistics.median(builds) * 1000, 2)

        started = time.perf_counter()
        await repo.search(db.reader, "крыша в подъезде")
        figures["find_ms"] = round((time.perf_counter() - started) * 1000, 1)
        started = time.perf_counter()
        await repo.assigned_to(db.reader, 1005, [s.value for s in OPEN_STATES])
        figures["my_ms"] = round((time.perf_counter() - started) * 1000, 1)
        scan = Deadlines(hub)
        figures["deadline_queue_before"] = await fetch_value(
            db.reader, "SELECT count(*) FROM deadline_queue")
        started = time.perf_counter()
        figures["deadline_cold_notices"] = await scan.tick()
        figures["deadline_cold_scan_s"] = round(time.perf_counter() - started, 3)
        idle = []
        for _ in range(20):
            started = time.perf_counter()
            await scan.tick()
            idle.append(time.perf_counter() - started)
        figures["deadline_idle_tick_ms"] = round(statistics.median(idle) * 1000, 3)

    finally:
        await db.close()
    figures["peak_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    figures["rss_after_imports_mb"] = imported
    figures["rss_data_mb"] = round(float(figures["peak_rss_mb"]) - imported, 1)  # type: ignore[arg-type]
    return figures


def _rss_mb() -> float:
    """The resident memory now (Linux), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _aiogram_alone_mb() -> float:
    """What importing aiogram alone costs a process (its pydantic models), in MB."""
    done = subprocess.run([sys.executable, "-c", "import resource, aiogram; print("
                           "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
                          capture_output=True, text=True, check=True)
    return round(int(done.stdout.strip()) / 1024, 1)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(json.dumps(asyncio.run(measure(Path(sys.argv[2])))), flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scale.sqlite3"
        made = asyncio.run(generate(path))
        size = path.stat().st_size
        done = subprocess.run([sys.executable, "-m", "benchmarks.scale", "--measure",
                               str(path)], capture_output=True, text=True, check=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures = {"benchmark": "scale", **figures, **made,
               "db_mb": round(size / 2**20, 1), "import_aiogram_alone_mb": _aiogram_alone_mb(),
               "target_rss_mb": 150}
    figures["ok"] = float(figures["peak_rss_mb"]) < 150  # type: ignore[arg-type]
    print(json.dumps(figures, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
