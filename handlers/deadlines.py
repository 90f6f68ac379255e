"""``/deadline`` in a private chat: «when is it due?» for staff (bot.deadlines does the work)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.services.deadlines.scan import deadline_reply
from bot.services.hub import Hub


async def on_deadline(message: Message, command: CommandObject, hub: Hub) -> None:
    """Answer through the outbox (rate limits, retries, once per message)."""
    user = message.from_user
    if user is None:
        return
    text = deadline_reply(hub, user.id, command.args)
    async with hub.db.tx() as conn:
        await hub.send(conn, message.chat.id, text,
                       key=f"reply:{message.chat.id}:{message.message_id}")
    hub.wake_outbox()


def build() -> Router:
    """The router ``bot.deadlines.install`` adds before the private chat's catch-all."""
    router = Router(name="deadlines")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_deadline, Command("deadline"))
    return router
