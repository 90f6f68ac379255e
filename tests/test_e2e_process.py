"""The real console command as an operator runs it: start, stop, 429, kill -9, restart."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.sandbox import world
from bot.sandbox.server import Sandbox
from tests.harness import CITY_CHAT, STAFF_GROUP, Control, eventually

pytestmark = pytest.mark.e2e

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Saratov"))


async def start_process(config: Path, log: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "-c", str(config),
        stdout=asyncio.subprocess.DEVNULL, stderr=log.open("ab"),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


class Env:
    def __init__(self, tmp: Path, sandbox: Sandbox, control: Control):
        self.tmp = tmp
        self.sandbox = sandbox
        self.control = control
        self.config = tmp / "bot.toml"
        self.log = tmp / "bot.log"
        world.write_config(self.config, sandbox.base_url, str(tmp / "bot.sqlite3"))

    async def start(self) -> asyncio.subprocess.Process:
        before = len(await self.control.log(method="getUpdates"))
        process = await start_process(self.config, self.log)

        async def polling() -> bool:
            if process.returncode is not None:
                raise AssertionError(self.log.read_text())
            listening = await self.control.log(method="groups.getLongPollServer")
            return len(await self.control.log(method="getUpdates")) > before and len(
                listening) >= 2
        await eventually(polling, timeout=30)
        return process


async def make_env(tmp: Path, session: aiohttp.ClientSession) -> Env:
    sandbox = Sandbox()
    sandbox.state.clock.set(MONDAY)
    base = await sandbox.start(0)
    return Env(tmp, sandbox, Control(base, session))


async def test_starts_logs_in_and_stops_on_sigterm(tmp_path):
    async with aiohttp.ClientSession() as session:
        env = await make_env(tmp_path, session)
        try:
            process = await env.start()
            methods = [e["method"] for e in await env.control.log(platform="tg")]
            assert "getMe" in methods and "getUpdates" in methods
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 10)
            assert code == 0
            assert time.monotonic() - started < 5
            text = env.log.read_text()
            assert world.BOT_TOKEN not in text
            assert world.community_token(100001) not in text
        finally:
            await env.sandbox.stop()


async def test_a_message_during_429_arrives_once_after_retry_after(tmp_path):
    async with aiohttp.ClientSession() as session:
        env = await make_env(tmp_path, session)
        process = None
        try:
            process = await env.start()
            c = env.control
            await c.fault(platform="tg", method="sendMessage", chat_id=2001, kind="429",
                          retry_after=2, count=1)
            await c.tg_message(2001, 2001, "Когда починят крышу?")
            reply = await eventually(lambda: c.sent(2001), timeout=15)
            assert len(reply) == 1
            calls = [e for e in await c.log(method="sendMessage")
                     if str(e["params"].get("chat_id")) == "2001"]
            assert [e["status"] for e in calls] == [429, 200]
            gap = (datetime.fromisoformat(calls[1]["at"])
                   - datetime.fromisoformat(calls[0]["at"])).total_seconds()
            assert gap >= 2
            await asyncio.sleep(1.5)
            assert len(await c.sent(2001)) == 1
        finally:
            if process and process.returncode is None:
                process.terminate()
                await process.wait()
            await env.sandbox.stop()


async def test_kill_9_with_pending_cards_then_restart_delivers_each_once(tmp_path):
    async with aiohttp.ClientSession() as session:
        env = await make_env(tmp_path, session)
        process = None
        try:
            process = await env.start()
            c = env.control
            # the staff group answers 429 for a while: cards wait in the outbox
            await c.fault(platform="tg", method="sendMessage", chat_id=STAFF_GROUP,
                          kind="429", retry_after=5, count=1)
            texts = [f"Яма на дороге у дома {n}" for n in range(1, 4)]
            for n, text in enumerate(texts):
                await c.tg_message(CITY_CHAT, 2001 + n, text)

            def stored() -> int:
                db = sqlite3.connect(env.tmp / "bot.sqlite3")
                try:
                    return db.execute("SELECT count(*) FROM incidents").fetchone()[0]
                finally:
                    db.close()

            async def all_stored_and_refused() -> bool:
                refused = [e for e in await c.log(method="sendMessage") if e["status"] == 429]
                return stored() == 3 and bool(refused)
            await eventually(all_stored_and_refused, timeout=15)
            refused_at = time.monotonic()
            process.send_signal(signal.SIGKILL)
            await process.wait()
            assert await c.cards() == []

            process = await env.start()
            await eventually(lambda: _cards(c, 3), timeout=20)
            assert time.monotonic() - refused_at >= 5  # retry_after held across the restart
            await asyncio.sleep(2)
            cards = await c.cards()
            assert len(cards) == 3
            for text in texts:
                assert sum(text in m["text"] for m in cards) == 1
            db = sqlite3.connect(env.tmp / "bot.sqlite3")
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            db.close()
        finally:
            if process and process.returncode is None:
                process.terminate()
                await process.wait()
            await env.sandbox.stop()


async def _cards(c: Control, n: int):
    cards = await c.cards()
    return cards if len(cards) >= n else None
