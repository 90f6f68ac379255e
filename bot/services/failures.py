"""Telling the coordinators what could not be delivered.

An outbox row that failed for good (the platform refused it, or it did not answer
properly within the attempt limit) and whose purpose has no hook of its own ends here:
each coordinator gets one private notice naming the card or message and the reason. A
notice about a failure that itself fails is only logged, never notified again.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any

from bot.platforms.telegram.bot_api import unreachable
from bot.services.hub import Hub
from storage.db import Conn
from storage.outbox import Item

log = logging.getLogger(__name__)

NOTICE = "undelivered"  # the purpose of the notices themselves
_GAVE_UP = re.compile(r"^gave up after (\d+) attempts: ")
_TAGS = re.compile(r"<[^>]+>")


def excerpt(item: Item, length: int = 80) -> str:
    """The start of what the row would have shown, as plain text."""
    text = item.params.get("text") or item.params.get("caption") or ""
    if not text and item.platform == "vk":
        text = item.params.get("message") or ""
    plain = " ".join(html.unescape(_TAGS.sub("", str(text))).split())
    return plain if len(plain) <= length else plain[: length - 1].rstrip() + "…"


def _where(hub: Hub, item: Item) -> tuple[str, str]:
    platform, _, rest = item.lane.partition(":")
    if platform == "vk":
        return "vk", ""
    try:
        chat = int(rest)
    except ValueError:
        return "chat", rest
    telegram = hub.config.telegram
    if chat == telegram.staff_group:
        return "staff_group", ""
    member = hub.config.staff_by_id(chat)
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
    if item.method == "deleteOrphans":
        return "orphans"
    if item.purpose in ("prompt", "answer") and item.ref_id is not None:
        return item.purpose
    return "message"


async def tell_coordinators(hub: Hub, conn: Conn, item: Item, error: Any) -> None:
    """Outbox hook for failures without a purpose hook of their own."""
    if item.purpose == NOTICE:
        log.error("a delivery-failure notice could not be delivered either: %s", error)
        return
    text = str(error)
    chat = item.params.get("chat_id")
    if (unreachable(text) is not None and isinstance(chat, int)
            and hub.config.staff_by_id(chat) is not None):
        return  # a staff member who blocked the bot: told once, by Workflow.staff_unreachable
    gave_up = _GAVE_UP.match(text)
    reason = text[gave_up.end():] if gave_up else text
    where_kind, where_name = _where(hub, item)
    message = hub.render.html(
        "delivery.j2:undelivered", kind=_kind(item), number=item.ref_id,
        where_kind=where_kind, where_name=where_name,
        excerpt="" if item.platform == "card" else excerpt(item),
        gave_up=bool(gave_up), attempts=int(gave_up.group(1)) if gave_up else 0,
        error=reason[:300])
    people = [m.telegram_id for m in hub.config.staff if "coordinator" in m.roles]
    people = people or [m.telegram_id for m in hub.config.staff if "admin" in m.roles]
    for user_id in people:
        if item.lane == f"tg:{user_id}":
            continue  # the chat that fails is this person's own
        await hub.send(conn, user_id, message, key=f"{NOTICE}:{item.id}:{user_id}",
                       purpose=NOTICE, ref_id=item.ref_id)
