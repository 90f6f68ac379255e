"""What staff look up in a private chat: their own open incidents, a search, one card."""

from __future__ import annotations

from bot.domain.incident import OPEN_STATES
from bot.services import cards
from bot.services.hub import Hub
from storage import incidents as repo
from storage import members
from storage.incidents import Incident


async def mine(hub: Hub, user_id: int) -> list[Incident]:
    """The open incidents assigned to them, the soonest due first."""
    return await repo.assigned_to(hub.db.reader, user_id, [s.value for s in OPEN_STATES])


async def card(hub: Hub, incident_id: int) -> tuple[Incident, str] | None:
    """The incident and its card's text as it is now; None for no such incident."""
    incident = await repo.get(hub.db.reader, incident_id)
    if incident is None:
        return None
    events = await repo.events(hub.db.reader, incident.id)
    group = await members.of(hub.db.reader, incident.id)
    return incident, cards.card_text(hub.config, hub.render, incident, events, hub.clock.now(),
                                     group=group)
