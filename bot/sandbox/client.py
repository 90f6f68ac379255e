"""A client of the sandbox's control API: plays citizens and staff, reads what they see.

Used by the tests, the demo and the benchmarks alike.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp

from bot.sandbox import world

STAFF_GROUP = world.STAFF_GROUP
# the first line of an incident card: icon, «Сообщение №N», state
_CARD = re.compile(r"^\S+ Сообщение №\d+ · ")
CARD_NUMBER = re.compile(r"Сообщение №(\d+) ")


def is_card(text: str) -> bool:
    """An incident card (its first line: icon, number, state), not a notice about one."""
    return bool(_CARD.match(text))


def card_number(text: str) -> int | None:
    """The incident number a card shows, None for any other message."""
    found = CARD_NUMBER.search(text) if is_card(text) else None
    return int(found.group(1)) if found else None

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

    async def tg_delete(self, chat_id: int, message_id: int) -> dict:
        """An admin deletes a message in a chat (the bot is not told)."""
        return await self.post("tg/delete", {"chat_id": chat_id, "message_id": message_id})

    async def sent(self, chat_id: int | None = None) -> list[dict]:
        return await self.get("tg/sent", chat_id=chat_id)

    # -- MAX ---------------------------------------------------------------------------

    async def max_message(self, user_id: int, text: str, chat_id: int | None = None,
                          **extra: Any) -> dict:
        """A citizen writes to the MAX bot (a dialog), or in ``chat_id`` (a city chat)."""
        body: dict[str, Any] = {"user_id": user_id, "text": text, **extra}
        if chat_id is not None:
            body["chat_id"] = chat_id
        return await self.post("max/message", body)

    async def max_press(self, message: dict, user_id: int, payload: str, *,
                        forged: bool = False) -> dict:
        """A press of the callback button ``payload`` on a bot's MAX message."""
        mid = message["body"]["mid"] if "body" in message else message["mid"]
        return await self.post("max/callback", {"mid": mid, "user_id": user_id,
                                                "payload": payload, "forged": forged})

    async def max_block(self, user_id: int, state: str = "stopped") -> dict:
        return await self.post("max/block", {"user_id": user_id, "state": state})

    async def max_sent(self, chat_id: int | None = None, user_id: int | None = None
                       ) -> list[dict]:
        """What the MAX bot sent, as it stands (edits applied, ``deleted`` marked)."""
        return await self.get("max/sent", chat_id=chat_id, user_id=user_id)

    async def max_channel(self) -> list[dict]:
        """The live posts of the MAX channel of «Администрация»."""
        return await self.get("max/channel")

    async def max_callback_answers(self) -> list[dict]:
        return await self.get("max/callback_answers")

    # -- OK ----------------------------------------------------------------------------

    async def ok_feed(self, gid: str = world.OK_GROUP) -> list[dict]:
        """The OK group's topics with their media, oldest first."""
        return await self.get("ok/feed", gid=gid)

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
                if not m.get("deleted") and is_card(m.get("text") or "")]

    async def card(self, number: int) -> dict | None:
        """The card of incident ``number``, or None while it is not there (yet)."""
        for message in await self.cards():
            if card_number(message["text"]) == number:
                return message
        return None


def max_button(message: dict, word: str) -> str:
    """The payload of the MAX callback button whose label contains ``word``."""
    labels = []
    for attachment in message["body"].get("attachments") or []:
        if attachment["type"] != "inline_keyboard":
            continue
        for row in attachment["payload"]["buttons"]:
            for b in row:
                if word in b["text"] and b["type"] == "callback":
                    return b["payload"]
                labels.append(b["text"])
    raise AssertionError(f"no MAX button with {word!r} on message; buttons: {labels}")


def button(message: dict, word: str) -> str:
    """The callback data of the button whose label contains ``word``."""
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for b in row:
            if word in b["text"]:
                return b["callback_data"]
    labels = [b["text"] for row in (message.get("reply_markup") or {}).get(
        "inline_keyboard", []) for b in row]
    raise AssertionError(f"no button with {word!r} on message; buttons: {labels}")


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0,  # noqa: ASYNC109
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
