"""Latency: one citizen's message at a time → its card in the staff group.

50 messages (VK comments and Telegram city-chat messages in turn), each written after
the previous card arrived and a pause that keeps the group below its limits. The time is
taken from the moment the platform has the message (the sandbox's control call returns)
to the moment the card's ``sendMessage`` reaches the sandbox. The bot's and the
sandbox's pacing windows are scaled by ``SCALE`` so that 50 messages below the limits
take seconds, not minutes; nothing waits on a window here.
Figures: p50, p95 and max in milliseconds (target p95 < 1 s), per source too.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from benchmarks.common import config, emit, quiet, scaled_sandbox, start, stop, wait_for
from bot.app import App
from bot.sandbox import world

MESSAGES = 50
SCALE = 0.1  # the group's 20 a minute becomes 20 in 6 s: a message every 0.35 s is below
PAUSE = 0.35
GROUP = 100001
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Saratov"))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main() -> None:
    quiet()
    sandbox = scaled_sandbox(SCALE)
    sandbox.state.clock.set(MONDAY)
    base = await sandbox.start(0)
    arrived: dict[int, float] = {}
    name, send = sandbox.telegram._methods["sendmessage"]

    async def timed(params: dict[str, Any], files: dict[str, Any]) -> Any:
        result = await send(params, files)
        text = str(params.get("text", ""))
        if "Сообщение №" in text:
            number = int(text.split("Сообщение №", 1)[1].split()[0].strip("<>/b"))
            arrived.setdefault(number, time.perf_counter())
        return result

    sandbox.telegram._methods["sendmessage"] = (name, timed)
    latencies: dict[str, list[float]] = {"vk": [], "tg": []}
    with tempfile.TemporaryDirectory() as tmp:
        app = App(config(base, Path(tmp) / "bot.sqlite3"), rate_scale=SCALE)
        task = await start(app, sandbox)
        await asyncio.sleep(1.0)
        async with aiohttp.ClientSession() as session:
            for n in range(1, MESSAGES + 1):
                source = "vk" if n % 2 else "tg"
                if source == "vk":
                    body = {"group_id": GROUP, "post_id": 100 + n, "from_id": 620000 + n,
                            "text": f"Нет отопления в доме {n} по улице Ленина"}
                    path = "vk/comment"
                else:
                    body = {"chat_id": world.CITY_CHAT, "from_id": 2001 + n,
                            "text": f"Яма на дороге у дома {n}, объезжаем по газону"}
                    path = "tg/message"
                async with session.post(f"{base}/control/{path}", json=body) as response:
                    response.raise_for_status()
                written = time.perf_counter()

                async def carded(number: int = n) -> bool:
                    return number in arrived

                await wait_for(carded, 10, interval=0.001)
                latencies[source].append((arrived[n] - written) * 1000)
                await asyncio.sleep(PAUSE)
        await stop(app, task)
    await sandbox.stop()
    every = latencies["vk"] + latencies["tg"]
    p95 = percentile(every, 0.95)
    emit({"benchmark": "latency", "messages": len(every),
          "p50_ms": round(statistics.median(every), 1), "p95_ms": round(p95, 1),
          "max_ms": round(max(every), 1),
          "vk_p50_ms": round(statistics.median(latencies["vk"]), 1),
          "vk_p95_ms": round(percentile(latencies["vk"], 0.95), 1),
          "tg_p50_ms": round(statistics.median(latencies["tg"]), 1),
          "tg_p95_ms": round(percentile(latencies["tg"], 0.95), 1),
          "target_p95_ms": 1000, "ok": p95 < 1000})


if __name__ == "__main__":
    asyncio.run(main())
