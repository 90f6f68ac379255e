"""A row the outbox gave up on, in people's words: what it was and where it was going.

Lanes and methods are the adapters' names (``tg:<chat>``, ``vk:<token>``; cards, the
removal of orphans, prompts, answers); ``bot.services.failures`` tells the coordinators.
"""

from __future__ import annotations

import html
import re
from typing import Any

from bot.config import Config
from bot.platforms.telegram.bot_api import unreachable
from bot.platforms.telegram.sends import ORPHANS
from bot.services.failures import Undelivered
from storage.outbox import Item

_TAGS = re.compile(r"<[^>]+>")


def excerpt(item: Item, length: int = 80) -> str:
    """The start of what the row would have shown, as plain text."""
    text = item.params.get("text") or item.params.get("caption") or ""
    if not text and item.platform == "vk":
        text = item.params.get("message") or ""
    if not text and isinstance(item.params.get("call"), dict):  # an answer with photos
        text = item.params["call"].get("message") or ""
    plain = " ".join(html.unescape(_TAGS.sub("", str(text))).split())
    return plain if len(plain) <= length else plain[: length - 1].rstrip() + "…"


def _where(config: Config, item: Item) -> tuple[str, str]:
    platform, _, rest = item.lane.partition(":")
    if platform == "vk":
        return "vk", ""
    try:
        chat = int(rest)
    except ValueError:
        return "chat", rest
    telegram = config.telegram
    if chat == telegram.staff_group:
        return "staff_group", ""
    member = config.staff_by_id(chat)
    if member is not None:
        return "staff", member.name
    if chat in telegram.city_chats or chat == telegram.discussion_group:
        return "city", ""
    if chat == telegram.channel:
        return "channel", ""
    return ("citizen", "") if chat > 0 else ("chat", str(chat))


def _kind(item: Item) -> str:
    if item.platform == "card":
        return "card"
    if item.method == ORPHANS:
        return "orphans"
    if item.purpose in ("prompt", "answer") and item.ref_id is not None:
        return item.purpose
    return "message"


def describe(config: Config, item: Item, error: Any) -> Undelivered | None:
    """The row as coordinators are told of it; None for a notice to a staff member who
    blocked the bot (they are told of once, by ``failures.staff_unreachable``)."""
    chat = item.params.get("chat_id")
    if (unreachable(str(error)) is not None and isinstance(chat, int)
            and config.staff_by_id(chat) is not None):
        return None
    where_kind, where_name = _where(config, item)
    platform, _, rest = item.lane.partition(":")
    own = int(rest) if platform == "tg" and rest.lstrip("-").isdigit() else None
    return Undelivered(kind=_kind(item), where_kind=where_kind, where_name=where_name,
                       excerpt="" if item.platform == "card" else excerpt(item),
                       chat_of=own)
