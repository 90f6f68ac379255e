"""Telegram messages as citizens' messages (city chats, the channel's discussion, DMs)."""

from __future__ import annotations

from typing import Any

from aiogram.types import (
    Chat,
    Message,
    MessageOrigin,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
)

from bot.services.ingest import Inbound


def _link(message: Message) -> str | None:
    chat = message.chat
    if chat.username:
        return f"https://t.me/{chat.username}/{message.message_id}"
    if str(chat.id).startswith("-100"):
        return f"https://t.me/c/{str(chat.id)[4:]}/{message.message_id}"
    return None


def attachments(message: Message) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if message.photo:
        found.append({"type": "tg_photo", "file_id": message.photo[-1].file_id})
    if message.document:
        found.append({"type": "tg_document", "file_id": message.document.file_id})
    if message.video:
        found.append({"type": "tg_video", "file_id": message.video.file_id})
    return found


def text_of(message: Message) -> str:
    return message.text or message.caption or ""


def _chat_link(chat: Chat) -> str | None:
    return f"https://t.me/{chat.username}" if chat.username else None


def author_of(message: Message) -> tuple[str, str, str | None] | None:
    """(author id, name, profile link) of a message in a group.

    A message sent on behalf of a chat (the group's anonymous admins, a person writing as
    their channel, a channel's automatic forward) has ``sender_chat``; its ``from`` is a
    placeholder account (@GroupAnonymousBot, @Channel_Bot, 777000, Bot API reference:
    Message.from), so the author is the chat, named by its title.
    """
    if message.sender_chat is not None:
        chat = message.sender_chat
        return f"tg:{chat.id}", chat.title or chat.full_name or str(chat.id), _chat_link(chat)
    user = message.from_user
    if user is None:
        return None
    return (f"tg:{user.id}", user.full_name,
            f"https://t.me/{user.username}" if user.username else None)


def origin_author(origin: MessageOrigin | None) -> str:
    """Who wrote a forwarded message first: a person's name, a chat's or channel's title."""
    if isinstance(origin, MessageOriginUser):
        return origin.sender_user.full_name
    if isinstance(origin, MessageOriginHiddenUser):
        return origin.sender_user_name
    if isinstance(origin, MessageOriginChat):
        return origin.sender_chat.title or origin.sender_chat.full_name
    if isinstance(origin, MessageOriginChannel):
        return origin.chat.title or origin.chat.full_name
    return ""


def channel_post_of(message: Message) -> int | None:
    """The channel post a message in the discussion group is the automatic forward of."""
    origin = message.forward_origin
    if message.is_automatic_forward and isinstance(origin, MessageOriginChannel):
        return origin.message_id
    return None


def comment_root(message: Message) -> int | None:
    """The discussion-group message (a channel post's automatic forward) whose comment
    thread this message is in, or None if it is not a comment.

    A comment replies to the forward (Bot API: the thread's root is the implicit reply),
    or to another comment, and then only ``message_thread_id`` names the root.
    """
    replied = message.reply_to_message
    if replied is not None and replied.is_automatic_forward:
        return replied.message_id
    if message.message_thread_id and not message.is_topic_message:
        return message.message_thread_id
    return None


def from_chat(message: Message, kind: str = "tg_chat",
              post: tuple[int, int] | None = None) -> Inbound | None:
    """A message in a city chat or the discussion group.

    ``post`` (channel id, post id): the message is a comment under that channel post,
    so its thread is the post's (a person's follow-up comments there join) and its link
    opens the comment under the post.
    """
    author = author_of(message)
    if author is None:
        return None
    author_id, author_name, author_link = author
    chat = message.chat.id
    thread = f"tg:{chat}:u:{author_id.partition(':')[2]}"
    link = _link(message)
    if post is not None:
        channel, post_id = post
        thread = f"tg:{channel}:post:{post_id}"
        if str(channel).startswith("-100"):
            link = f"https://t.me/c/{str(channel)[4:]}/{post_id}?comment={message.message_id}"
    elif (root := comment_root(message)) is not None:
        thread = f"tg:{chat}:thread:{root}"
        if link is not None:
            link = f"{link}?thread={root}"
    return Inbound(
        source=f"tg:{chat}",
        kind=kind,
        key=f"tg:{chat}:{message.message_id}",
        author_id=author_id,
        author_name=author_name,
        author_link=author_link,
        text=text_of(message),
        written_at=message.date,
        thread=thread,
        link=link,
        attachments=attachments(message),
        reply_target={
            "platform": "tg",
            "method": "sendMessage",
            "params": {
                "chat_id": chat,
                "reply_parameters": {"message_id": message.message_id,
                                     "allow_sending_without_reply": True},
                **({"message_thread_id": message.message_thread_id}
                   if message.is_topic_message and message.message_thread_id else {}),
            },
        },
    )


def from_private(message: Message) -> Inbound | None:
    """A citizen writing to the bot directly."""
    user = message.from_user
    if user is None:
        return None
    return Inbound(
        source="tg:private",
        kind="tg_private",
        key=f"tg:{user.id}:{message.message_id}",
        author_id=f"tg:{user.id}",
        author_name=user.full_name,
        author_link=f"https://t.me/{user.username}" if user.username else None,
        text=text_of(message),
        written_at=message.date,
        thread=f"tg:private:{user.id}",
        attachments=attachments(message),
        reply_target={"platform": "tg", "method": "sendMessage", "private": True,
                      "params": {"chat_id": user.id}},
    )
