"""Telegram as a page (``bot.ports.Page``): answers in city chats, the discussion group and
citizens' private chats, and posts in the official channel.

An answer goes where the citizen wrote: the reply target the Telegram source stored with
the incident names the method and its parameters (``sendMessage`` replying to their
message). A channel post is one to three calls (photos, then the text when it is too long
for a caption), each an outbox row, queued one after another.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.clock import Clock
from bot.config import Config
from bot.domain import limits
from bot.platforms.telegram import buttons
from bot.platforms.telegram.bot_api import unreachable
from bot.ports import PagePost
from bot.render import Renderer
from storage import outbox
from storage.db import Conn
from storage.incidents import Incident


class Rendered(Protocol):
    """A post as rendered for its page: the plain text and the HTML."""

    plain: str
    html: str


def telegram_calls(chat_id: int, composed: Rendered, photos: Sequence[str],
                   poll: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    """The Bot API calls that put one post into a channel, in order (one outbox row each)."""
    if poll:
        return [("sendPoll", {"chat_id": chat_id, "question": poll["question"],
                              "options": list(poll["options"]), "is_anonymous": True})]
    text = {"chat_id": chat_id, "text": composed.html, "parse_mode": "HTML"}
    if not photos:
        return [("sendMessage", text)]
    caption_fits = limits.telegram_len(composed.plain) <= limits.TG_CAPTION_MAX
    caption = composed.html if caption_fits and composed.plain.strip() else None
    calls: list[tuple[str, dict[str, Any]]]
    if len(photos) == 1:
        params: dict[str, Any] = {"chat_id": chat_id, "photo": photos[0]}
        if caption:
            params |= {"caption": caption, "parse_mode": "HTML"}
        calls = [("sendPhoto", params)]
    else:
        media: list[dict[str, Any]] = [{"type": "photo", "media": fid} for fid in photos]
        if caption:
            media[0] |= {"caption": caption, "parse_mode": "HTML"}
        calls = [("sendMediaGroup", {"chat_id": chat_id, "media": media})]
    if caption is None and composed.plain.strip():
        calls.append(("sendMessage", text))  # split: the text follows the photos whole
    return calls


def answer_calls(reply_target: dict[str, Any], text: str, photos: Sequence[str]
                 ) -> list[tuple[str, str, dict[str, Any]]]:
    """The rows of an answer: (key suffix, method, parameters), in the order they go."""
    base = dict(reply_target.get("params", {}))
    escaped = html.escape(text)
    photos = list(photos)[:limits.ANSWER_PHOTOS_MAX]
    caption = escaped if photos and text.strip() and (
        limits.telegram_len(text) <= limits.TG_CAPTION_MAX) else None
    rows: list[tuple[str, str, dict[str, Any]]] = []
    if caption is None and text.strip():
        for n, part in enumerate(limits.split_text(text, limits.TG_TEXT_MAX)):
            rows.append((str(n), reply_target["method"], {**base, "text": html.escape(part)}))
    if len(photos) == 1:
        params = {**base, "photo": photos[0], **({"caption": caption} if caption else {})}
        rows.append(("photos", "sendPhoto", params))
    elif photos:
        media: list[dict[str, Any]] = [{"type": "photo", "media": fid} for fid in photos]
        if caption:
            media[0]["caption"] = caption
        rows.append(("photos", "sendMediaGroup", {**base, "media": media}))
    return rows


def telegram_link(chat_id: int, result: Any) -> str | None:
    """t.me link of a sent message (a public channel by username, a private one by /c/)."""
    message = result[0] if isinstance(result, list) and result else result
    if not isinstance(message, dict) or "message_id" not in message:
        return None
    username = (message.get("chat") or {}).get("username")
    if username:
        return f"https://t.me/{username}/{message['message_id']}"
    internal = str(chat_id).removeprefix("-100")
    return f"https://t.me/c/{internal}/{message['message_id']}"


@dataclass
class TelegramPage:
    config: Config
    clock: Clock
    render: Renderer
    platforms: tuple[str, ...] = ("tg", "telegram")

    # -- answers to citizens ------------------------------------------------------------

    def answer_limit(self, reply_target: dict[str, Any]) -> int:
        return limits.TG_TEXT_MAX

    async def publish_answer(self, conn: Conn, incident_id: int, reply_target: dict[str, Any],
                             text: str, *, key: str, purpose: str, now: datetime,
                             photos: Sequence[str] = ()) -> None:
        """The text, under the citizen's message; with photos, a photo or an album whose
        caption is the text when it fits (else the text goes first, then the photos)."""
        rows = answer_calls(reply_target, text, photos)
        for n, (suffix, method, params) in enumerate(rows):
            await outbox.enqueue(conn, key=f"{key}:{suffix}", platform="tg",
                                 lane=f"tg:{params['chat_id']}", method=method,
                                 params=params, now=now,
                                 purpose=purpose if n == len(rows) - 1 else "",
                                 ref_id=incident_id)

    async def ask_rating(self, conn: Conn, incident: Incident, text: str) -> None:
        """In the citizen's private chat with the bot: the 1–5 buttons."""
        target = incident.reply_target
        if not target.get("private"):
            return
        chat = target["params"]["chat_id"]
        await outbox.enqueue(
            conn, key=f"rate:{incident.id}:{incident.publications}", platform="tg",
            lane=f"tg:{chat}", method="sendMessage",
            params={"chat_id": chat, "text": text,
                    "reply_markup": buttons.rating_keyboard(incident.id)},
            now=self.clock.now())

    def unreachable(self, reply_target: dict[str, Any], error: str) -> str | None:
        """A private chat the citizen closed (blocked the bot, left Telegram)."""
        return unreachable(error) if reply_target.get("private") else None

    def explain(self, error: str) -> str:
        return error

    # -- the channel --------------------------------------------------------------------

    def target_key(self, target_id: int) -> str:
        return f"tg:{target_id}"

    def target_name(self, target_id: int) -> str:
        if target_id == self.config.telegram.channel:
            return self.render.text("posts.j2:target_tg_channel")
        return self.render.text("posts.j2:target_tg_chat")

    async def publish_post(self, conn: Conn, post: PagePost, target_id: int, *, part: int,
                           key: str, purpose: str, now: datetime) -> bool:
        """Parts go one after another (the next is queued when the previous is done), so a
        retried album never lets its text overtake it, and a failed one leaves no orphan."""
        calls = telegram_calls(target_id, post, post.photos, post.poll)
        if part >= len(calls):
            return False
        method, params = calls[part]
        await outbox.enqueue(conn, key=key, platform="tg", lane=f"tg:{target_id}",
                             method=method, params=params, now=now, purpose=purpose,
                             ref_id=post.id)
        return True

    def link(self, target_id: int, result: Any) -> str | None:
        return telegram_link(target_id, result)
