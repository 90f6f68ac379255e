"""End-to-end harness: the sandbox and the real bot process in one event loop.

The bot is the real ``App`` (real aiogram, real vk_api, real SQLite) talking HTTP to
the sandbox; tests play citizens and staff through the control API and read what
people would see: cards in the staff group, replies on the VK wall.
"""

from __future__ import annotations

import asyncio
import contextlib
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import tomli_w

from bot.app import App
from bot.config import Config
from bot.sandbox import world
from bot.sandbox.client import CITY_CHAT, STAFF_GROUP, Control, button, eventually
from bot.sandbox.server import Sandbox
from storage.db import Database

__all__ = ["CITY_CHAT", "STAFF_GROUP", "Control", "button", "eventually", "follow_backend",
           "running"]


def follow_backend(config_path: Path, db_path: Path) -> None:
    """A config file written for the SQLite file ``db_path``, pointed at the database this
    test's backend gives that path: in a PostgreSQL run (tests/conftest.py) the URL, and
    a municipality key, written into the file, as a child process cannot see the
    redirection."""
    db = Database(str(db_path))
    if db.dialect != "postgresql":
        return
    raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    raw.setdefault("storage", {})["url"] = db.url
    raw["municipality"]["id"] = "test"
    config_path.write_text(tomli_w.dumps(raw), encoding="utf-8")


sandbox_config = world.config


class Running:
    """A sandbox with the bot running against it."""

    def __init__(self, sandbox: Sandbox, control: Control, tmp: Path, rate_scale: float = 1.0):
        self.sandbox = sandbox
        self.rate_scale = rate_scale  # < 1 shrinks the bot's rate windows (many messages)
        self.control = control
        self.tmp = tmp
        self.app: App | None = None
        self.task: asyncio.Task[int] | None = None

    @property
    def config(self) -> Config:
        assert self.app is not None
        return self.app.config

    async def start_bot(self, **overrides: Any) -> App:
        config = sandbox_config(self.sandbox.base_url, self.tmp / "bot.sqlite3", **overrides)
        self.app = App(config, rate_scale=self.rate_scale)
        self.task = asyncio.create_task(self.app.run())
        await self.ready()
        return self.app

    async def ready(self) -> None:
        """The bot is polling Telegram and listening to every VK community."""
        communities = {str(c.id) for c in self.config.vk.communities
                       if c.longpoll and c.token.get_secret_value().startswith("vk1.a.sandbox")}

        async def check() -> bool:
            if self.task is not None and self.task.done():
                raise AssertionError(f"the bot stopped: {self.task.result()}")
            entries = await self.control.log()
            polling = any(e["method"] == "getUpdates" for e in entries)
            listening = {str(e["params"].get("group_id")) for e in entries
                         if e["method"] == "groups.getLongPollServer" and e["status"] == 200}
            return polling and communities <= listening

        await eventually(check, timeout=20)

    async def stop_bot(self) -> int:
        assert self.app is not None and self.task is not None
        self.app.request_stop()
        code = await asyncio.wait_for(self.task, 10)
        self.app = None
        self.task = None
        return code


@contextlib.asynccontextmanager
async def running(tmp: Path, rate_limits: bool = True, start_bot: bool = True,
                  clock: datetime | None = None, rate_scale: float = 1.0, **overrides: Any):
    sandbox = Sandbox(rate_limits=rate_limits)
    if clock is not None:
        sandbox.state.clock.set(clock)
    base = await sandbox.start(0)
    async with aiohttp.ClientSession() as session:
        env = Running(sandbox, Control(base, session), tmp, rate_scale)
        try:
            if start_bot:
                await env.start_bot(**overrides)
            yield env
        finally:
            if env.app is not None:
                with contextlib.suppress(Exception):
                    await env.stop_bot()
            await sandbox.stop()
