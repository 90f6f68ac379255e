"""``mcu-hub demo``: a working week of the МЦУ, played in about a minute.

The sandbox and the real bot (the same ``App`` that ``mcu-hub run`` starts, with the
real aiogram and vk_api clients over HTTP) run in this process; a script plays the
citizens, the coordinator, the executors, the press secretary and the head through the
control API, moves the sandbox clock through the week, and prints what each person
saw, in the order it happened. Every step waits for what people should see; if it does
not come, or the week's counts differ from what it must show (``EXPECTED``), the demo
says what went wrong and exits 1. Every run starts from an empty database, so two runs
show the same week.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

import aiohttp

from bot.cli.demo_transcript import Transcript
from bot.cli.demo_week import START, DemoFailed, Week
from bot.sandbox import world
from bot.sandbox.client import Control, eventually

# What the week must show, counted from what people saw. A run that differs (a reminder
# too many, a digest missing) is not the week as it should play: the demo exits 1.
EXPECTED = {
    "cards": 2,          # №1 heating (VK), №2 pothole (city chat)
    "vk_replies": 3,     # №1: the interim reply, the answer, the answer after reopening
    "reminders": 3,      # №2: half the time gone, one hour left, the deadline
    "escalations": 1,    # №2 overdue, told to the coordinator, the manager and the curator
    "digests": 5,        # the head's morning digest, Monday to Friday
    "posts_vk": 6,       # the press secretary's six posts on «Администрация»
    "posts_tg": 6,       # ... and in the channel
    "posts_max": 6,      # ... and in the MAX channel
    "posts_ok": 6,       # ... and in the OK group
}
COUNT_LABELS = [
    ("cards", "карточек сообщений"), ("vk_replies", "ответов во ВКонтакте"),
    ("reminders", "напоминаний исполнителям"), ("escalations", "эскалаций о просрочке"),
    ("digests", "утренних сводок главе"), ("posts_vk", "постов во ВКонтакте"),
    ("posts_tg", "постов в канале"), ("posts_max", "постов в канале MAX"),
    ("posts_ok", "тем в Одноклассниках"),
]


def count_problems(counts: dict[str, int], expected: dict[str, int] = EXPECTED) -> list[str]:
    """The counts that differ from the week as it should play, in words."""
    return [f"{label}: {counts.get(key, 0)}, а должно быть {expected[key]}"
            for key, label in COUNT_LABELS if counts.get(key, 0) != expected[key]]


async def _ready(control: Control) -> None:
    async def check() -> bool:
        log = await control.log()
        polling = any(e["method"] == "getUpdates" for e in log)
        listening = {str(e["params"].get("group_id")) for e in log
                     if e["method"] == "groups.getLongPollServer" and e["status"] == 200}
        return polling and {str(world.VK_ADMIN), str(world.VK_HEAD)} <= listening
    await eventually(check, timeout=30)


DEMO_FILES = ("demo.toml", "demo.sqlite3", "demo.sqlite3-wal", "demo.sqlite3-shm")


async def run(out: TextIO, keep: bool, port: int, workdir: Path,
              expected: dict[str, int] = EXPECTED) -> int:
    """Play the week; 0 when everything people should see came and the counts agree."""
    from bot import logs
    from bot.app import App
    from bot.config import parse_config
    from bot.sandbox.server import Sandbox
    from storage import outbox

    logs.setup("ERROR", fmt="text")
    for name in DEMO_FILES:  # every run is the same week, from an empty database
        (workdir / name).unlink(missing_ok=True)
    sandbox = Sandbox(rate_limits=True)
    sandbox.state.clock.set(START)
    base = await sandbox.start(port)
    config_path = workdir / "demo.toml"
    world.write_config(config_path, base, str(workdir / "demo.sqlite3"))
    app = App(parse_config(world.config_dict(base, str(workdir / "demo.sqlite3"))))
    task = asyncio.create_task(app.run())

    async def settle() -> None:
        """Wait until the bot has sent everything it meant to (its outbox is empty)."""
        deadline = time.monotonic() + 90
        quiet = 0
        while quiet < 2:
            if time.monotonic() > deadline:
                raise DemoFailed("бот не разослал свои сообщения за 90 с")
            pending = await outbox.unsettled(app.db.reader)
            quiet = quiet + 1 if not pending else 0
            await asyncio.sleep(0.15)

    async def follow(moment: datetime) -> None:
        """The bot's clock has caught up with the sandbox's; then every job acts once."""
        deadline = time.monotonic() + 10
        while app.clock.now() < moment - timedelta(seconds=1):
            if time.monotonic() > deadline:
                raise DemoFailed("часы бота не догнали часы песочницы за 10 с")
            await asyncio.sleep(0.1)
        await app.jobs.run_all_once()

    code = 0
    async with aiohttp.ClientSession() as session:
        control = Control(base, session)
        transcript = Transcript(control, out)
        transcript.say(f"mcu-hub demo: МЦУ {world.MUNICIPALITY}, неделя с 23 ноября 2026 "
                       f"(песочница {base})")
        try:
            await _ready(control)
            week = Week(control, transcript, settle=settle, follow=follow)
            # every job looks once before the clock moves: the schedule starts at 08:50
            # (the reports remember when they first ran; a digest due after that is owed)
            await follow(START)
            await week.settle()
            await transcript.show_new()
            await week.play()
            await week.settle()
            await transcript.show_new()
        except DemoFailed as exc:
            transcript.say(f"\n✗ Неделя прошла не так, как должна: {exc}")
            code = 1
        counts = transcript.counts
        transcript.say("")
        transcript.say("── Итоги недели ──")
        for key, label in COUNT_LABELS:
            transcript.say(f"  {label}: {counts.get(key, 0)}")
        wrong = count_problems(counts, expected)
        if code == 0 and wrong:
            transcript.say("✗ Неделя прошла не так, как должна — не сходятся итоги:")
            for line in wrong:
                transcript.say(f"  {line}")
            code = 1
        if code == 0:
            transcript.say("✓ Неделя прошла как должна: всё, что люди должны были увидеть, "
                           "пришло, итоги сходятся.")
        if keep:
            transcript.say(f"\nПесочница и бот продолжают работать: API управления "
                           f"{base}/control, настройки бота {config_path}. "
                           "Остановить — Ctrl+C.")
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
    app.request_stop()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 10)
    await sandbox.stop()
    return code


def cmd_demo(args: argparse.Namespace) -> int:
    if args.dir:
        workdir = Path(args.dir)
        workdir.mkdir(parents=True, exist_ok=True)
        return asyncio.run(run(sys.stdout, args.keep, args.port, workdir))
    with tempfile.TemporaryDirectory(prefix="mcu-hub-demo-") as tmp:
        return asyncio.run(run(sys.stdout, args.keep, args.port, Path(tmp)))


def add_parser(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="play a working week against the sandbox")
    demo.add_argument("--keep", action="store_true",
                      help="leave the sandbox and the bot running afterwards")
    demo.add_argument("--port", type=int, default=0, help="the sandbox's port (default: any)")
    demo.add_argument("--dir", help="keep the last run's database and config here (each "
                      "run starts the week afresh)")
    demo.set_defaults(func=cmd_demo)
