"""``/away`` in a private chat: a staff member away until a date, and who stands in
(``bot.services.people`` does the work)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.services.hub import Hub
from bot.services.people import away_reply
from handlers.replies import reply


async def on_away(message: Message, command: CommandObject, hub: Hub) -> None:
    user = message.from_user
    if user is None:
        return
    await reply(hub, message.chat.id, await away_reply(hub, user.id, command.args),
                key=f"reply:{message.chat.id}:{message.message_id}")


def build() -> Router:
    """Before the private chat's catch-all (``bot.app`` says the order)."""
    router = Router(name="away")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_away, Command("away"))
    return router
