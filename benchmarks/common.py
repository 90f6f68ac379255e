"""What the benchmarks share: the sandbox, the real App in the same loop, quiet logs."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.app import App
from bot.sandbox import world
from bot.sandbox.server import Sandbox
from bot.sandbox.telegram import RateLimiter


def quiet() -> None:
    """Only errors on stderr; stdout is for the one JSON line."""
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    logging.getLogger("aiogram").setLevel(logging.ERROR)


def emit(figures: dict[str, Any]) -> None:
    print(json.dumps(figures, ensure_ascii=False), flush=True)


config = world.config


def scaled_sandbox(scale: float) -> Sandbox:
    """A sandbox whose Telegram flood limits are the real ones with windows × ``scale``."""
    sandbox = Sandbox()
    sandbox.telegram.limiter = RateLimiter(scale=scale)
    return sandbox


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float,
                   interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(interval)
    raise TimeoutError(f"not done in {timeout}s")


async def start(app: App, sandbox: Sandbox) -> asyncio.Task[int]:
    """Run the App and wait until it polls Telegram and every VK community."""
    task = asyncio.create_task(app.run())
    communities = {str(c.id) for c in app.config.vk.communities if c.longpoll}

    async def ready() -> bool:
        if task.done():
            raise RuntimeError(f"the bot stopped: {task.result()}")
        log = sandbox.state.log
        polling = any(e["method"] == "getUpdates" for e in log)
        listening = {str(e["params"].get("group_id")) for e in log
                     if e["method"] == "groups.getLongPollServer" and e["status"] == 200}
        return polling and communities <= listening

    await wait_for(ready, 30)
    return task


async def stop(app: App, task: asyncio.Task[int]) -> None:
    app.request_stop()
    await asyncio.wait_for(task, 15)
