"""Telegram messages as citizens' messages (city chats, the channel's discussion, DMs)."""

from __future__ import annotations

from typing import Any

from aiogram.types import Message

from bot.ingest import Inbound


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


def from_chat(message: Message, kind: str = "tg_chat") -> Inbound | None:
    """A message in a city chat or the discussion group."""
    user = message.from_user
    if user is None:
        return None
    chat = message.chat.id
    return Inbound(
        source=f"tg:{chat}",
        kind=kind,
        key=f"tg:{chat}:{message.message_id}",
        author_id=f"tg:{user.id}",
        author_name=user.full_name,
        author_link=f"https://t.me/{user.username}" if user.username else None,
        text=text_of(message),
        written_at=message.date,
        thread=f"tg:{chat}:u:{user.id}",
        link=_link(message),
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
