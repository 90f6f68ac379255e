"""The two console commands a newcomer runs by hand: ``mcu-hub sandbox`` then ``mcu-hub run``."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import aiohttp
import pytest

from bot.sandbox.client import Control, eventually

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _spawn(*args: str, log) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, stdout=log, stderr=log,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})


async def test_sandbox_command_writes_a_config_that_run_serves(tmp_path):
    port = _free_port()
    config = tmp_path / "sandbox.toml"
    log = (tmp_path / "out.log").open("ab")
    sandbox = await _spawn("sandbox", "--port", str(port), "--write-config", str(config),
                           "--state", str(tmp_path / "world.json"), log=log)
    bot = None
    try:
        async with aiohttp.ClientSession() as session:
            c = Control(f"http://127.0.0.1:{port}", session)

            async def up() -> bool:
                try:
                    return (await c.get("health"))["ok"] and config.exists()
                except aiohttp.ClientError:
                    return False
            await eventually(up, timeout=20)
            check = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "check-config", str(config),
                stdout=asyncio.subprocess.PIPE)
            assert (await check.communicate())[0].strip() == b"OK"

            bot = await _spawn("run", "-c", str(config), log=log)

            async def polling() -> bool:
                return bool(await c.log(method="getUpdates"))
            await eventually(polling, timeout=30)
            await c.tg_message(2042, 2042, "/start")
            help_text = await eventually(lambda: c.sent(2042), timeout=15)
            assert "Напишите здесь свой вопрос" in help_text[0]["text"]

            bot.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.wait(), 10) == 0
    finally:
        for process in (bot, sandbox):
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 10)
        log.close()
    # --state kept the world across the sandbox's stop
    assert (tmp_path / "world.json").exists()
