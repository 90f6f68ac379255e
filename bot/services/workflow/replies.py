"""Answers and reasons written as replies: an executor's reply to the card, to the bot's
question or to a notice becomes the draft awaiting approval; a coordinator's reply to
«Причина возврата?» returns the answer with that reason."""

from __future__ import annotations

from typing import Any

from bot.domain import limits
from bot.domain.incident import Action, Actor, Refusal, Refused
from bot.services.workflow.publication import Publication
from storage import incidents as repo
from storage.db import Conn
from storage.incidents import Incident


class Replies(Publication):
    async def answer(self, user_id: int, incident_id: int, text: str,
                     photos: list[str]) -> str:
        """An answer written by reply: becomes the draft awaiting approval."""
        text = text.strip()
        if not text and not photos:
            return self.hub.render.html("answer_empty")
        actor = self.actor(user_id)
        async with self.hub.db.tx() as conn:
            incident = await repo.get(conn, incident_id)
            if incident is None:
                return self.hub.render.html("refused_unknown_incident")
            try:
                await self.submit(conn, actor, incident, text, photos)
            except Refused as refused:
                if refused.reason == Refusal.STALE:
                    return self.hub.render.html("answer_wrong_state", id=incident_id)
                if refused.reason in (Refusal.NOT_ASSIGNEE, Refusal.NOT_STAFF):
                    return self.hub.render.html("answer_not_yours", id=incident_id)
                return self.refusal_text(refused.reason)
        self.hub.wake_outbox()
        reply = self.hub.render.html("answer_saved", id=incident_id)
        limit = self.answer_limit(incident)
        if limits.telegram_len(text) > limit:
            reply += "\n" + self.hub.render.html("answer_too_long", limit=limit,
                                                 length=limits.telegram_len(text))
        return reply

    async def submit(self, conn: Conn, actor: Actor, incident: Incident, text: str,
                     photos: list[str]) -> None:
        """The draft answer, on the card for approval (its writer assigned if nobody was)."""
        changes: dict[str, Any] = {"answer_text": text, "answer_photos": photos,
                                   "answer_by": actor.user_id}
        if incident.assignee_id is None:
            changes["assignee_id"] = actor.user_id
        await self.step(conn, actor, incident, Action.SUBMIT, **changes)

    async def return_with_reason(self, user_id: int, incident_id: int, reason: str) -> str:
        """The approver sends the answer back; its writer is told why."""
        actor = self.actor(user_id)
        reason = reason.strip()[:500]
        if not reason:
            return self.hub.render.html("answer_empty")
        async with self.hub.db.tx() as conn:
            incident = await repo.get(conn, incident_id)
            if incident is None:
                return self.hub.render.html("refused_unknown_incident")
            try:
                await self.step(conn, actor, incident, Action.RETURN, detail=reason,
                                returns=incident.returns + 1)
            except Refused as refused:
                return self.refusal_text(refused.reason)
            target = incident.answer_by or incident.assignee_id
            if target is not None:
                await self.hub.workspace.notify(
                    conn, target,
                    self.hub.render.html("notify_returned", id=incident.id, reason=reason),
                    key=f"returned:{incident.id}:{incident.version}",
                    purpose="prompt", ref_id=incident.id,
                )
        self.hub.wake_outbox()
        return self.hub.render.html("returned_saved", id=incident_id)
