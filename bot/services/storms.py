"""Comment storms at ingest: a message on a thread that is about the same thing as an
open incident there joins it as a member of the group, instead of a card of its own.

Which messages are "the same thing" is the domain's word (``bot.domain.storms``); here
the candidates are found (the open incidents of the thread, newest first), the member
stored with where its answer goes, the event written and the card brought up to date —
in the ingest's transaction, so a storm's 25 comments cost one card edit, not 25 (the
outbox keeps only the newest waiting edit of a card).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain.incident import OPEN_STATES, State
from bot.domain.storms import StormRule
from bot.services.hub import Hub
from storage import cursors, members
from storage import incidents as repo
from storage.db import Conn
from storage.incidents import Incident

if TYPE_CHECKING:
    from bot.services.ingest import Inbound

# a group takes new members while its answer is not yet on its way
JOINABLE = sorted(s.value for s in OPEN_STATES - {State.APPROVED})
RECENT = 20  # the group's newest messages a newcomer is compared with


def rule_of(hub: Hub) -> StormRule:
    storms = hub.config.storms
    return StormRule(window=timedelta(minutes=storms.window_minutes),
                     threshold=storms.threshold)


class Storms:
    def __init__(self, hub: Hub):
        self.hub = hub
        self.enabled = hub.config.storms.enabled
        self.rule = rule_of(hub)

    async def answered_group(self, conn: Conn, thread: str, author: str) -> Incident | None:
        """The answered group this author wrote in as a member: their thank-you or their
        «так и не сделали» is a word on that answer, as the group's first author's is."""
        group_id = await members.group_of_author(conn, thread, author)
        incident = await repo.get(conn, group_id) if group_id is not None else None
        if incident is None or incident.state not in (State.PUBLISHED, State.CLOSED):
            return None
        return incident

    async def join(self, conn: Conn, message: Inbound, now: datetime) -> int | None:
        """The group incident the message joined, or None (it is an incident of its own)."""
        if not self.enabled or not message.thread:
            return None
        for group_id in await members.open_groups_in_thread(conn, message.thread, JOINABLE):
            incident = await repo.get(conn, group_id)
            if incident is None:
                continue
            group = await members.newest(conn, group_id, RECENT)
            newest = max([incident.written_at] + [m.written_at for m in group])
            texts = [incident.text] + [m.text for m in group]
            if not self.rule.joins(message.text, message.written_at, texts, newest):
                continue
            added = await members.add(conn, group_id, members.NewMember(
                source_key=message.key, author_id=message.author_id, text=message.text,
                written_at=message.written_at, author_name=message.author_name,
                author_link=message.author_link, link=message.link,
                attachments=message.attachments, reply_target=message.reply_target), now)
            if added is None:
                return group_id  # stored before: a redelivery
            await repo.add_event(conn, group_id, now, "storm_joined", from_state=incident.state,
                                 to_state=incident.state, detail=message.key)
            await cursors.claim(conn, f"seen:{message.key}", str(group_id))
            await self.hub.workspace.show_card(conn, group_id, now)
            return group_id
        return None
