"""Telling people what could not be delivered, once.

An outbox row that failed for good (the platform refused it, or it did not answer
properly within the attempt limit) and whose purpose has no hook of its own ends here:
each coordinator gets one private notice naming the card or message and the reason. A
notice about a failure that itself fails is only logged, never notified again. A staff
member who blocked the bot is told of to the staff group once, until they come back.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from bot.services import notices
from bot.services.hub import Hub
from storage import cursors
from storage.db import Conn
from storage.outbox import Item

log = logging.getLogger(__name__)

NOTICE = "undelivered"  # the purpose of the notices themselves
_GAVE_UP = re.compile(r"^gave up after (\d+) attempts: ")


@dataclass(frozen=True)
class Undelivered:
    """A failed row as people are told of it (``bot.platforms.undelivered`` says it)."""

    kind: str  # card | orphans | prompt | answer | message
    where_kind: str  # staff_group | staff | city | channel | citizen | chat | vk
    where_name: str
    excerpt: str  # the start of what it would have shown
    chat_of: int | None = None  # the chat it was going to: its owner is not told of it


async def tell_coordinators(hub: Hub, conn: Conn, item: Item, error: Any,
                            what: Undelivered | None) -> None:
    """Outbox hook for failures without a purpose hook of their own."""
    if item.purpose == NOTICE:
        log.error("a delivery-failure notice could not be delivered either: %s", error)
        return
    if what is None:
        return  # told otherwise (a staff member who blocked the bot)
    text = str(error)
    gave_up = _GAVE_UP.match(text)
    reason = text[gave_up.end():] if gave_up else text
    message = hub.render.html(
        "delivery.j2:undelivered", kind=what.kind, number=item.ref_id,
        where_kind=what.where_kind, where_name=what.where_name, excerpt=what.excerpt,
        gave_up=bool(gave_up), attempts=int(gave_up.group(1)) if gave_up else 0,
        error=reason[:300])
    people = [m.telegram_id for m in hub.config.staff if "coordinator" in m.roles]
    people = people or [m.telegram_id for m in hub.config.staff if "admin" in m.roles]
    for user_id in people:
        if what.chat_of == user_id:
            continue  # the chat that fails is this person's own
        await hub.workspace.notify(conn, user_id, message, key=f"{NOTICE}:{item.id}:{user_id}",
                                   purpose=NOTICE, ref_id=item.ref_id)


async def staff_unreachable(hub: Hub, user_id: int, reason: str,
                            incident_id: int | None = None) -> None:
    """A staff member's notice was refused for good (they blocked the bot, never pressed
    Start): the staff group hears it once, until they come back (``staff_reachable``);
    a notice about an incident is said on its card, and the coordinators told once."""
    async with hub.db.tx() as conn:
        if incident_id is not None:
            await notices.undelivered(hub, conn, incident_id, user_id, reason)
        if await cursors.claim(conn, f"tg:unreachable:{user_id}", reason):
            render = hub.render
            text = render.html("delivery.j2:staff_unreachable", name=hub.staff_name(user_id),
                               reason=render.text(f"delivery.j2:staff_{reason}"))
            now = hub.clock.now()
            await hub.workspace.post(conn, text,
                                     key=f"unreachable:{user_id}:{now.isoformat()}")
    hub.wake_outbox()


async def staff_reachable(hub: Hub, user_id: int) -> None:
    """They unblocked the bot: a later refusal is news again."""
    async with hub.db.tx() as conn:
        await cursors.drop(conn, f"tg:unreachable:{user_id}")
        await notices.reachable(conn, user_id)
