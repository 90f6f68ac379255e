"""End-to-end harness: the sandbox and the real bot process in one event loop.

The bot is the real ``App`` (real aiogram, real vk_api, real SQLite) talking HTTP to
the sandbox; tests play citizens and staff through the control API and read what
people would see: cards in the staff group, replies on the VK wall.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import App
from bot.config import Config, parse_config
from bot.sandbox import world
from bot.sandbox.server import Sandbox

STAFF_GROUP = world.STAFF_GROUP
CITY_CHAT = world.CITY_CHAT


class Control:
    """The sandbox's control API, as a test uses it."""

    def __init__(self, base: str, session: aiohttp.ClientSession):
        self.base = base
        self.session = session

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        async with self.session.post(f"{self.base}/control/{path}", json=body) as response:
            data = await response.json()
            if response.status >= 400:
                raise AssertionError(f"control {path}: {response.status} {data}")
            return data

    async def get(self, path: str, **query: Any) -> Any:
        params = {k: str(v) for k, v in query.items() if v is not None}
        async with self.session.get(f"{self.base}/control/{path}", params=params) as response:
            return await response.json()

    # -- people ----------------------------------------------------------------------

    async def tg_message(self, chat_id: int, from_id: int, text: str, **extra: Any) -> dict:
        return await self.post("tg/message",
                               {"chat_id": chat_id, "from_id": from_id, "text": text, **extra})

    async def press(self, message: dict, from_id: int, data: str, *,
                    stale: bool = False) -> dict:
        """A press; ``stale`` for a button of a keyboard the person still sees but the
        message no longer has (their client has not caught up with an edit)."""
        return await self.post("tg/callback", {"chat_id": message["chat_id"],
                                               "message_id": message["message_id"],
                                               "from_id": from_id, "data": data,
                                               "forged": stale})

    async def vk_comment(self, group_id: int, post_id: int, from_id: int, text: str,
                         **extra: Any) -> dict:
        return await self.post("vk/comment", {"group_id": group_id, "post_id": post_id,
                                              "from_id": from_id, "text": text, **extra})

    async def sent(self, chat_id: int | None = None) -> list[dict]:
        return await self.get("tg/sent", chat_id=chat_id)

    async def callback_answers(self) -> list[dict]:
        return await self.get("tg/callback_answers")

    async def wall(self, group_id: int) -> list[dict]:
        return await self.get("vk/wall", owner_id=-group_id)

    async def log(self, **query: Any) -> list[dict]:
        return await self.get("log", **query)

    async def advance(self, seconds: float) -> str:
        return (await self.post("clock", {"advance_seconds": seconds}))["now"]

    async def set_clock(self, moment: datetime) -> str:
        return (await self.post("clock", {"set": moment.isoformat()}))["now"]

    async def fault(self, **spec: Any) -> None:
        await self.post("faults", spec)

    # -- reading what people see -----------------------------------------------------

    async def cards(self) -> list[dict]:
        """The incident cards in the staff group (not prompts or acknowledgements)."""
        return [m for m in await self.sent(STAFF_GROUP)
                if not m.get("deleted") and "Обращение №" in (m.get("text") or "")]

    async def card(self, number: int) -> dict | None:
        """The card of incident ``number``, or None while it is not there (yet)."""
        for message in await self.cards():
            if f"Обращение №{number} " in message["text"]:
                return message
        return None


def button(message: dict, word: str) -> str:
    """The callback data of the button whose label contains ``word``."""
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for b in row:
            if word in b["text"]:
                return b["callback_data"]
    labels = [b["text"] for row in (message.get("reply_markup") or {}).get(
        "inline_keyboard", []) for b in row]
    raise AssertionError(f"no button with {word!r} on message; buttons: {labels}")


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0,
                     interval: float = 0.1) -> Any:
    """Wait until ``check`` returns something truthy (what people see takes a moment)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s; last value: {last!r}")


def sandbox_config(base_url: str, db_path: Path, **overrides: Any) -> Config:
    raw = world.config_dict(base_url, str(db_path))
    for dotted, value in overrides.items():
        node = raw
        *path, last = dotted.split(".")
        for part in path:
            node = node[part]
        node[last] = value
    return parse_config(raw, environ={})


class Running:
    """A sandbox with the bot running against it."""

    def __init__(self, sandbox: Sandbox, control: Control, tmp: Path):
        self.sandbox = sandbox
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
        self.app = App(config)
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
                  clock: datetime | None = None, **overrides: Any):
    sandbox = Sandbox(rate_limits=rate_limits)
    if clock is not None:
        sandbox.state.clock.set(clock)
    base = await sandbox.start(0)
    async with aiohttp.ClientSession() as session:
        env = Running(sandbox, Control(base, session), tmp)
        try:
            if start_bot:
                await env.start_bot(**overrides)
            yield env
        finally:
            if env.app is not None:
                with contextlib.suppress(Exception):
                    await env.stop_bot()
            await sandbox.stop()
