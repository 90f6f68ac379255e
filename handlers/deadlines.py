"""``/deadline`` in a private chat: «when is it due?» for staff
(``bot.services.deadlines.command`` does the work)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.services.deadlines.command import deadline_reply
from bot.services.hub import Hub
from handlers.replies import reply


async def on_deadline(message: Message, command: CommandObject, hub: Hub) -> None:
    """Answer through the outbox (rate limits, retries, once per message)."""
    user = message.from_user
    if user is None:
        return
    await reply(hub, message.chat.id, deadline_reply(hub, user.id, command.args),
                key=f"reply:{message.chat.id}:{message.message_id}")


def build() -> Router:
    """Before the private chat's catch-all (``bot.app`` says the order)."""
    router = Router(name="deadlines")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_deadline, Command("deadline"))
    return router
