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


async def _run_until_exit(tmp_path, config: dict, timeout: float = 40) -> tuple[int, str]:
    """``mcu-hub run`` on this config until it exits: its code and what it printed."""
    import tomli_w

    path = tmp_path / "bot.toml"
    path.write_text(tomli_w.dumps(config), encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "-c", str(path), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode or 0, out.decode()


def _last_message(output: str) -> str:
    import json

    return json.loads(output.strip().splitlines()[-1])["msg"]


def _world(tmp_path, base: str) -> dict:
    from bot.sandbox import world

    config = world.config_dict(base, str(tmp_path / "bot.sqlite3"))
    config.pop("clock")  # the real clock: nothing to wait for but Telegram
    return config


async def test_run_says_last_that_telegram_is_unreachable_and_exits_1(tmp_path):
    code, output = await _run_until_exit(tmp_path, _world(tmp_path, f"http://127.0.0.1:{_free_port()}"))
    assert code == 1
    assert "Traceback" not in output
    last = _last_message(output)
    assert "did not answer after 5 attempts" in last and "Check the network" in last
    assert len(set(output.strip().splitlines())) == len(output.strip().splitlines())


async def test_run_against_a_proxy_error_page_exits_without_a_traceback(tmp_path):
    from aiohttp import web

    async def page(request: web.Request) -> web.Response:  # what nginx answers for a 502
        return web.Response(status=502, content_type="text/html",
                            text="<html><head><title>502 Bad Gateway</title></head><body>"
                                 "<center><h1>502 Bad Gateway</h1></center></body></html>")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        code, output = await _run_until_exit(tmp_path, _world(tmp_path, f"http://127.0.0.1:{port}"))
    finally:
        await runner.cleanup()
    assert code == 1
    assert "Traceback" not in output and "<html>" not in output
    assert "not the Bot API's JSON" in _last_message(output)


async def test_run_with_a_wrong_token_says_so_at_once_and_exits_2(tmp_path):
    from bot.sandbox.server import Sandbox

    sandbox = Sandbox()
    base = await sandbox.start(0)
    try:
        config = _world(tmp_path, base)
        config["telegram"]["token"] = "7000000001:AAE-not-the-real-token-at-all-xxxxxxx"
        code, output = await _run_until_exit(tmp_path, config, timeout=20)
    finally:
        await sandbox.stop()
    assert code == 2
    assert "Traceback" not in output and "AAE-not-the-real" not in output
    last = _last_message(output)
    assert "rejected the bot token" in last and "@BotFather" in last
    assert output.count("rejected the bot token") == 1
