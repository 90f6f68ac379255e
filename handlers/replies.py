"""How a handler answers a person: through the outbox (rate limits, retries, once per key),
in the chat they wrote in — never by calling the Bot API directly (a press's own answer
aside, which is a reply to the press, not a message)."""

from __future__ import annotations

from typing import Any

from bot.platforms.telegram.workspace import TelegramWorkspace
from bot.services.hub import Hub


def workspace(hub: Hub) -> TelegramWorkspace:
    """The staff workspace, which for these handlers is Telegram's."""
    found = getattr(hub.workspace, "inner", hub.workspace)  # under the deputies' wrapper
    assert isinstance(found, TelegramWorkspace), "the Telegram handlers need Telegram"
    return found


async def reply(hub: Hub, chat_id: int, text: str, *, key: str,
                markup: dict[str, Any] | None = None, to: int | None = None) -> None:
    """A message in ``chat_id`` (with buttons, under message ``to``), once per ``key``."""
    async with hub.db.tx() as conn:
        await workspace(hub).reply(conn, chat_id, text, key=key, markup=markup, to=to)
    hub.wake_outbox()


async def edit(hub: Hub, chat_id: int, message_id: int, *, text: str | None = None,
               markup: dict[str, Any] | None = None) -> None:
    """Bring a message of the bot's up to date: its buttons, maybe its text."""
    async with hub.db.tx() as conn:
        await workspace(hub).edit(conn, chat_id, message_id, text=text, markup=markup)
    hub.wake_outbox()
