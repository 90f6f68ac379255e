"""The staff group: replies to a card (an answer) or to the bot's prompt (answer, reason)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from bot.config import Config
from bot.services.hub import Hub
from bot.services.workflow.presses import Workflow
from bot.sources.telegram import text_of


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
    photos = [message.photo[-1].file_id] if message.photo else []
    prompt = await workflow.prompt_of(chat, replied.message_id)
    if prompt is not None:
        incident_id, kind = prompt
        if kind == "rt":
            text = await workflow.return_with_reason(message.from_user.id, incident_id,
                                                     text_of(message))
        else:
            text = await workflow.answer(message.from_user.id, incident_id, text_of(message),
                                         photos)
    else:
        incident_id = await workflow.incident_of_card(chat, replied.message_id)
        if incident_id is None:
            return False
        text = await workflow.answer(message.from_user.id, incident_id, text_of(message), photos)
    if text:
        async with hub.db.tx() as conn:
            await hub.send(conn, chat, text, key=f"ack:{chat}:{message.message_id}",
                           reply_parameters={"message_id": message.message_id,
                                             "allow_sending_without_reply": True})
        hub.wake_outbox()
    return True
