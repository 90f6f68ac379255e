"""City chats and the channel's discussion group: every citizen's message is ingested."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from bot.config import Config
from bot.ingest import Ingest
from bot.sources.telegram import from_chat, text_of


def build(config: Config) -> Router:
    router = Router(name="chats")
    chats = set(config.telegram.city_chats)
    if config.telegram.discussion_group is not None:
        chats.add(config.telegram.discussion_group)
    router.message.filter(F.chat.id.in_(chats))
    router.edited_message.filter(F.chat.id.in_(chats))
    discussion = config.telegram.discussion_group

    @router.message()
    async def on_message(message: Message, ingest: Ingest) -> None:
        if message.sender_chat is not None:
            return  # posted on behalf of a chat or channel (e.g. the channel's own post)
        kind = "tg_discussion" if message.chat.id == discussion else "tg_chat"
        inbound = from_chat(message, kind)
        if inbound is not None:
            await ingest.receive(inbound)

    @router.edited_message()
    async def on_edit(message: Message, ingest: Ingest) -> None:
        await ingest.edit(f"tg:{message.chat.id}:{message.message_id}", text_of(message))

    return router
