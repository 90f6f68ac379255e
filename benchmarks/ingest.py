"""Ingest: 10,000 VK comments through the sandbox's Bots Long Poll into the real App.

Figures: stored incidents per second and the time from the events being posted to the
last one stored (target ≥ 2,000 events/s on a 2-core machine).
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks.common import config, emit, quiet, start, stop, wait_for
from bot.app import App
from bot.sandbox.server import Sandbox

EVENTS = 10_000
GROUP = 100001
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Saratov"))
TEXTS = [
    "Третий день нет отопления в доме {n} по улице Ленина, батареи холодные",
    "Огромная яма на дороге у остановки, дом {n}, машины бьют колёса",
    "Не вывозят мусор во дворе дома {n}, контейнеры переполнены",
    "Когда откроют кружок в школе номер {n}?",
    "Во дворе дома {n} не горит свет, темно вечером",
    "Управляющая компания не отвечает, течёт крыша в подъезде дома {n}",
    "Автобус по маршруту {n} не ходит с утра",
    "Благоустройство парка: кто отвечает за скамейки у дома {n}?",
]


def count(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT count(*) FROM incidents").fetchone()[0])
    finally:
        db.close()


async def main() -> None:
    quiet()
    sandbox = Sandbox()
    sandbox.state.clock.set(MONDAY)
    base = await sandbox.start(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bot.sqlite3"
        app = App(config(base, path))
        task = await start(app, sandbox)
        items = [{"from_id": 600000 + n, "text": TEXTS[n % len(TEXTS)].format(n=n % 97 + 1)}
                 for n in range(EVENTS)]
        started = time.perf_counter()
        await _post(base, items)
        posted = time.perf_counter()

        async def stored() -> bool:
            return await asyncio.to_thread(count, path) >= EVENTS

        await wait_for(stored, 300, interval=0.05)
        elapsed = time.perf_counter() - started
        total = await asyncio.to_thread(count, path)
        await stop(app, task)
    await sandbox.stop()
    emit({"benchmark": "ingest", "events": EVENTS, "stored": total,
          "seconds": round(elapsed, 2), "post_seconds": round(posted - started, 2),
          "events_per_second": round(EVENTS / elapsed), "target_per_second": 2000,
          "ok": EVENTS / elapsed >= 2000 and total == EVENTS})


async def _post(base: str, items: list[dict]) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/control/vk/comments",
                                json={"group_id": GROUP, "post_id": 7, "items": items}) as r:
            r.raise_for_status()


if __name__ == "__main__":
    asyncio.run(main())
