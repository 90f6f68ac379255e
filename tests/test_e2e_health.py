"""Health you can monitor: heartbeats per source and lane, ``mcu-hub status``, ``/status``."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import tomli_w

from bot.sandbox import world
from bot.sandbox.server import Sandbox
from bot.services import health
from tests.harness import Control, eventually, running

pytestmark = pytest.mark.e2e

SOURCES = {"process", "telegram", "vk:100001", "vk:100002", "vk:public:100003", "max"}


async def _fresh(env) -> health.Report | None:
    report = await health.read(env.app.config, env.app.db)
    polled = {s.name for s in report.sources if s.ok_at is not None}
    return report if polled >= SOURCES else None


async def test_every_source_beats_and_a_silent_one_is_stale(tmp_path):
    async with running(tmp_path) as env:
        c = env.control
        report = await eventually(lambda: _fresh(env), timeout=30)
        assert {s.name for s in report.sources} == SOURCES and report.stale == []
        # nothing polled for six minutes: every source is stale by the default 300 s
        later = await health.read(env.config, env.app.db, now=time.time() + 360)
        assert set(later.stale) == SOURCES
        # a lane that does not drain: its oldest row's wait, not its row's age, counts
        await c.fault(platform="tg", method="sendMessage", chat_id=1003, kind="429",
                      retry_after=60, count=1)
        await c.tg_message(1003, 1003, "/help")

        async def waiting() -> health.Report | None:
            found = await health.read(env.config, env.app.db)
            lane = next((x for x in found.lanes if x.lane == "tg:1003"), None)
            return found if lane and lane.pending else None
        found = await eventually(waiting, timeout=15)
        lane = next(x for x in found.lanes if x.lane == "tg:1003")
        assert lane.delivered_at is not None  # the start-up report went out on this lane
        assert lane.age(found.now) < 30 and not found.stale
        later = await health.read(env.config, env.app.db, now=time.time() + 1300)
        assert "lane:tg:1003" in later.stale


async def _reply(c: Control, chat: int, words: str):
    for m in await c.sent(chat):
        if words in (m.get("text") or ""):
            return m
    return None


async def test_status_command_for_admins_in_russian(tmp_path):
    async with running(tmp_path) as env:
        c = env.control
        await eventually(lambda: _fresh(env), timeout=30)
        await asyncio.sleep(health.FLUSH_SECONDS + 1)
        await c.tg_message(1003, 1003, "/status")
        reply = await eventually(lambda: _reply(c, 1003, "Состояние бота"), timeout=15)
        text = reply["text"]
        assert "✅ Telegram (сообщения и кнопки)" in text
        assert "ВКонтакте «Администрация» (Long Poll)" in text
        assert "паблик ВКонтакте «Подслушано»" in text
        assert "Сбоев за последний час: 0" in text and "Всё работает." in text
        await c.tg_message(1005, 1005, "/status")
        refused = await eventually(lambda: _reply(c, 1005, "для администраторов"), timeout=15)
        assert "Состояние" not in refused["text"]


async def _status(config: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "status", "-c", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode or 0, out.decode()


async def test_status_command_exits_1_when_the_process_stopped_polling(tmp_path):
    sandbox = Sandbox()
    base = await sandbox.start(0)
    config = world.config_dict(base, str(tmp_path / "bot.sqlite3"))
    config["health"] = {"source_stale_seconds": 10}
    path = tmp_path / "bot.toml"
    path.write_text(tomli_w.dumps(config), encoding="utf-8")
    process = None
    try:
        code, output = await _status(path)
        assert code == 1 and "has not run" in output
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "-c", str(path),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})

        async def healthy() -> str | None:
            code, output = await _status(path)
            return output if code == 0 else None
        output = await eventually(healthy, timeout=40, interval=1.0)
        assert "telegram" in output and "vk:100001" in output and output.strip().endswith("OK")
        assert "failures in the last hour: 0" in output
        process.send_signal(signal.SIGKILL)
        await process.wait()
        await asyncio.sleep(11)
        code, output = await _status(path)
        assert code == 1
        assert "STALE: process, telegram" in output
    finally:
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        await sandbox.stop()


async def test_failures_are_counted_for_the_last_hour(tmp_path):
    async with aiohttp.ClientSession():
        async with running(tmp_path) as env:
            c = env.control
            await eventually(lambda: _fresh(env), timeout=30)
            await c.post("tg/block", {"user_id": 1005})
            await c.vk_comment(100001, 3, 500101, "Нет отопления в доме 2")
            card = await eventually(lambda: c.card(1))
            from tests.harness import button
            await c.press(card, 1004, button(card, "Назначить"))

            async def picker():
                m = await c.card(1)
                return m if m and "Исполнитель ЖКХ" in str(m["reply_markup"]) else None
            card = await eventually(picker)
            await c.press(card, 1004, button(card, "Исполнитель ЖКХ"))

            async def failed() -> health.Report | None:
                found = await health.read(env.config, env.app.db)
                return found if "lane:tg:1005" in found.failures else None
            report = await eventually(failed, timeout=15)
            count, last = report.failures["lane:tg:1005"]
            assert count == 1 and "blocked by the user" in last
            assert "lane:tg:1005" not in report.stale  # a settled failure is not a backlog
