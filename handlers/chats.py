"""City chats and the channel's discussion group: every citizen's message is ingested."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message, MessageOriginChannel

from bot.config import Config
from bot.services.ingest import Ingest
from bot.sources.telegram import channel_post_of, comment_root, from_chat, text_of


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
        chat = message.chat.id
        post = channel_post_of(message)
        if post is not None:
            # a channel post Telegram forwarded into its discussion group: not a citizen's
            # message, but the root that comments under the post reply to
            origin = message.forward_origin
            assert isinstance(origin, MessageOriginChannel)
            await ingest.channel_post_seen(chat, message.message_id, origin.chat.id, post)
            return
        kind = "tg_discussion" if chat == discussion else "tg_chat"
        under = None
        root = comment_root(message)
        if root is not None:
            replied = message.reply_to_message
            if replied is not None and (post := channel_post_of(replied)) is not None:
                origin = replied.forward_origin
                assert isinstance(origin, MessageOriginChannel)
                under = (origin.chat.id, post)
            else:
                under = await ingest.post_of(chat, root)
        inbound = from_chat(message, kind, under)
        if inbound is not None:
            await ingest.receive(inbound)

    @router.edited_message()
    async def on_edit(message: Message, ingest: Ingest) -> None:
        await ingest.edit(f"tg:{message.chat.id}:{message.message_id}", text_of(message))

    return router
