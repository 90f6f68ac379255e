"""MAX and Одноклассники at their pace: a storm of citizens in MAX, answers drained to
MAX, and topics posted to an OK group — through the real App against the sandbox.

MAX allows about 30 requests a second per bot token (dev.max.ru); the outbox keeps MAX
rows to 24 a second, leaving room for the long poll. OK publishes no rate; the sandbox
holds it to 5 calls a second, the bot to 4 rows a second. Figures: the time for
``CITIZENS`` MAX messages to become stored incidents (the marker stored with them), the
drain time of ``ANSWERS`` MAX replies against their floor (answers / 24 s; target ratio
≤ 1.3), ``TOPICS`` OK topics against theirs (topics / 4 s), and the 429s and OK error 8
received (target 0 each).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks.common import config, emit, quiet, start, stop, wait_for
from bot.app import App
from bot.outbox.limits import MAX_ROWS_PER_SECOND, OK_ROWS_PER_SECOND
from bot.sandbox import world
from bot.sandbox.server import Sandbox
from storage import cursors, outbox
from storage import incidents as repo

CITIZENS = 300
ANSWERS = 300
TOPICS = 20
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Saratov"))


def _refusals(sandbox: Sandbox, platform: str, status: int) -> int:
    return sum(1 for e in sandbox.state.log if e["platform"] == platform
               and e["status"] == status)


async def main(citizens: int = CITIZENS, answers: int = ANSWERS, topics: int = TOPICS) -> None:
    quiet()
    sandbox = Sandbox()
    sandbox.state.clock.set(MONDAY)
    base = await sandbox.start(0)
    mx = sandbox.max
    with tempfile.TemporaryDirectory() as tmp:
        app = App(config(base, Path(tmp) / "bot.sqlite3"))
        task = await start(app, sandbox)
        await asyncio.sleep(1.0)  # the start-up checks first

        # 1. a storm: citizens write to the MAX bot at once
        started = time.perf_counter()
        for n in range(citizens):
            mx._c_message({"user_id": 620001 + n, "text": f"Не вывозят мусор у дома {n}"})

        async def stored() -> bool:
            return await repo.count(app.db.reader) >= citizens

        await wait_for(stored, 120)
        ingest_seconds = time.perf_counter() - started
        marker = await cursors.get(app.db.reader, "max:longpoll")

        # 2. answers drained to MAX: one row each, at MAX's pace
        page = app.hub.pages["max"]
        now = app.clock.now()
        async with app.db.tx() as conn:
            for n in range(answers):
                chat = mx.dialogs[620001 + (n % citizens)]
                await page.publish_answer(conn, 0, {"platform": "max",
                                                    "params": {"chat_id": chat}},
                                          f"Ответ №{n}", key=f"bench:{n}", purpose="",
                                          now=now)
        queued_at = time.perf_counter()
        app.outbox.wake()

        def sent_answers() -> int:
            return sum(1 for m in mx.messages.values()
                       if m["sender_id"] == world.MAX_BOT_ID and (m["text"] or "")
                       .startswith("Ответ №"))

        async def answered() -> bool:
            return sent_answers() >= answers

        await wait_for(answered, answers / MAX_ROWS_PER_SECOND * 4 + 30)
        answers_seconds = time.perf_counter() - queued_at

        # 3. topics in the OK group
        ok = app.hub.pages["ok"]
        from bot.ports import PagePost

        async with app.db.tx() as conn:
            for n in range(topics):
                post = PagePost(10_000 + n, f"Новость {n}", f"Новость {n}", [], None, now)
                await ok.publish_post(conn, post, int(world.OK_GROUP), part=0,
                                      key=f"okbench:{n}", purpose="", now=now)
        ok_queued = time.perf_counter()
        app.outbox.wake()

        async def posted() -> bool:
            return len(sandbox.ok.topics) >= topics

        await wait_for(posted, topics / OK_ROWS_PER_SECOND * 4 + 30)
        topics_seconds = time.perf_counter() - ok_queued
        counts = await outbox.counts(app.db.reader)
        await stop(app, task)
    answer_floor = answers / MAX_ROWS_PER_SECOND
    topic_floor = topics / OK_ROWS_PER_SECOND
    figures = {
        "benchmark": "max_ok", "citizens": citizens,
        "ingest_seconds": round(ingest_seconds, 2),
        "ingest_per_second": round(citizens / ingest_seconds, 1),
        "marker_stored": bool(marker),
        "answers": answers, "answers_seconds": round(answers_seconds, 2),
        "answers_floor_seconds": round(answer_floor, 2),
        "answers_ratio": round(answers_seconds / answer_floor, 3),
        "answers_sent": sent_answers(),
        "topics": topics, "topics_seconds": round(topics_seconds, 2),
        "topics_floor_seconds": round(topic_floor, 2),
        "topics_ratio": round(topics_seconds / topic_floor, 3),
        "topics_in_group": len(sandbox.ok.topics),
        "max_429": _refusals(sandbox, "max", 429), "ok_error_8": _refusals(sandbox, "ok", 8),
        "outbox": counts,
    }
    await sandbox.stop()
    figures["ok"] = (figures["max_429"] == 0 and figures["ok_error_8"] == 0
                     and figures["answers_ratio"] <= 1.3 and figures["topics_ratio"] <= 1.3
                     and figures["answers_sent"] == answers and figures["topics_in_group"]
                     == topics)
    emit(figures)


if __name__ == "__main__":
    asyncio.run(main(*(int(a) for a in sys.argv[1:])))
