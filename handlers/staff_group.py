"""The staff group: replies to a card (an answer) or to the bot's prompt (answer, reason)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from bot.config import Config
from bot.ports import CardAction
from bot.services.hub import Hub
from bot.services.workflow.presses import Workflow
from bot.sources.telegram import text_of
from handlers.replies import reply, workspace


def build(config: Config) -> Router:
    router = Router(name="staff_group")
    router.message.filter(F.chat.id == config.telegram.staff_group)

    @router.message(F.reply_to_message)
    async def on_reply(message: Message, hub: Hub, workflow: Workflow) -> None:
        await handle_reply(message, hub, workflow)

    @router.message()
    async def ignore(message: Message) -> None:
        """Staff talk among themselves: not the bot's business."""

    return router


async def handle_reply(message: Message, hub: Hub, workflow: Workflow) -> bool:
    """A reply to one of the bot's messages: an answer draft or a return reason."""
    replied = message.reply_to_message
    if replied is None or message.from_user is None or replied.from_user is None:
        return False
    if replied.from_user.id != hub.bot_id:
        return False
    chat = message.chat.id
    about = await workspace(hub).replied_to(hub.db.reader, chat, replied.message_id)
    if about is None:
        return False
    incident_id, asked = about
    if asked == CardAction.RETURN_FOR_REVISION:
        text = await workflow.return_with_reason(message.from_user.id, incident_id,
                                                 text_of(message))
    elif asked == CardAction.INTERIM_EDIT:
        text = await workflow.edit_interim(message.from_user.id, incident_id, text_of(message))
    else:
        photos = [message.photo[-1].file_id] if message.photo else []
        text = await workflow.answer(message.from_user.id, incident_id, text_of(message),
                                     photos)
    if text:
        await reply(hub, chat, text, key=f"ack:{chat}:{message.message_id}",
                    to=message.message_id)
    return True
