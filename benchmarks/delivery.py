"""Delivery: 1,000 cards for one staff group, drained at the platform's pace.

Telegram lets a bot post about 20 messages a minute into one group: 1,000 cards cannot
take less than 50 minutes. The bot's outbox windows and the sandbox's flood limits are
both scaled by ``SCALE`` (0.02: the floor becomes 60 s) — the same rules, faster.
Figures: drain time from the moment all cards are queued to the last one in the group,
its ratio to the floor (target ≤ 1.05), and the number of 429s received (target 0).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks.common import config, emit, quiet, scaled_sandbox, start, stop, wait_for
from bot.app import App
from bot.sandbox import world
from storage import outbox
from storage.db import fetch_value

CARDS = 1000
SCALE = 0.02
GROUP = 100001
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Saratov"))


async def main(cards: int = CARDS, scale: float = SCALE) -> None:
    quiet()
    sandbox = scaled_sandbox(scale)
    sandbox.state.clock.set(MONDAY)
    base = await sandbox.start(0)
    sent_at: list[float] = []
    name, send = sandbox.telegram._methods["sendmessage"]

    async def counted(params: dict, files: dict) -> dict:
        result = await send(params, files)
        if "Сообщение №" in str(params.get("text", "")):
            sent_at.append(time.perf_counter())
        return result

    sandbox.telegram._methods["sendmessage"] = (name, counted)
    with tempfile.TemporaryDirectory() as tmp:
        app = App(config(base, Path(tmp) / "bot.sqlite3"), rate_scale=scale)
        task = await start(app, sandbox)
        await asyncio.sleep(1.0)  # the start-up messages go first
        before_429 = _refusals(sandbox)
        items = [{"from_id": 610000 + n, "text": f"Не вывозят мусор во дворе дома {n}"}
                 for n in range(cards)]
        poll = sandbox.vk.polls[GROUP]
        wall = sandbox.vk._wall(-GROUP)
        post = sandbox.vk._ensure_post(wall, 5)
        events = []
        for item in items:
            comment = sandbox.vk._add_comment(wall, post, from_id=item["from_id"],
                                              text=item["text"], reply_to=None,
                                              attachments=[], via="control")
            events.append(("wall_reply_new", sandbox.vk._event_comment(wall, comment)))
        poll.emit_many(events)

        async def queued() -> bool:
            value = await fetch_value(app.db.reader,
                                      "SELECT count(*) FROM outbox WHERE purpose = 'card'")
            return int(value or 0) >= cards  # type: ignore[arg-type]

        await wait_for(queued, 60)
        queued_at = time.perf_counter()
        floor = cards / 20 * 60.0 * scale
        await wait_for(lambda: _done(sent_at, cards), floor * 3 + 60, interval=0.05)
        drain = sent_at[-1] - queued_at
        counts = await outbox.counts(app.db.reader)
        await stop(app, task)
    refusals = _refusals(sandbox) - before_429
    in_group = [m for m in sandbox.telegram.messages.get(world.STAFF_GROUP, {}).values()
                if m["by_bot"] and "Сообщение №" in (m["msg"].get("text") or "")]
    await sandbox.stop()
    ratio = drain / floor
    emit({"benchmark": "delivery", "cards": cards, "scale": scale,
          "floor_seconds": round(floor, 2), "drain_seconds": round(drain, 2),
          "ratio": round(ratio, 3), "target_ratio": 1.05, "http_429": refusals,
          "cards_in_group": len(in_group), "outbox": counts,
          "real_floor_minutes": round(cards / 20, 1),
          "ok": ratio <= 1.05 and refusals == 0 and len(in_group) == cards})


async def _done(sent_at: list[float], cards: int) -> bool:
    return len(sent_at) >= cards


def _refusals(sandbox) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for e in sandbox.state.log if e["platform"] == "tg" and e["status"] == 429)


if __name__ == "__main__":
    asyncio.run(main(*(float(a) if "." in a else int(a) for a in sys.argv[1:])))
