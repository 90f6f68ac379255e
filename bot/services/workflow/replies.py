"""Answers, notes and reasons written as replies.

An answer is the assignee's reply to the card, or the reply of the person the bot asked
(«Ответить» under the card, a notice in their chat); it becomes the draft awaiting
approval. Anyone else's reply to the card is a note: kept in the history («Заметка»),
shown on the card, never sent to the citizen. A coordinator's reply to «Причина
возврата?» returns the answer with that reason.

An album comes as several messages sharing a media group id, only one of them with the
caption: the first one makes the draft, the others add their photos to it (the album's
id is remembered with the incident in the same transaction, so a redelivered update
adds nothing twice and a restart in the middle of an album loses none of it).
"""

from __future__ import annotations

from typing import Any

from bot.domain import limits
from bot.domain.incident import Action, Actor, Refusal, Refused, State
from bot.services import people
from bot.services.workflow.publication import Publication
from storage import cursors
from storage import incidents as repo
from storage.db import Conn
from storage.incidents import Incident

NOTE = "note"  # the audit event of a note


class Replies(Publication):
    def is_answer(self, incident: Incident, user_id: int, asked: int | None) -> bool:
        """Whether a reply is the answer: the assignee's (or their deputy's while they are
        away), or of the person asked."""
        if incident.assignee_id is not None and incident.assignee_id in people.acting_for(
                self.hub, user_id):
            return True
        return user_id == incident.assignee_id or (asked is not None and user_id == asked)

    async def album_incident(self, album: str) -> int | None:
        """The incident whose draft an album (``chat:media group id``) is being added to."""
        value = await cursors.get(self.hub.db.reader, f"album:{album}")
        return int(value.partition(":")[0]) if value else None

    async def reply(self, user_id: int, incident_id: int, text: str, photos: list[str], *,
                    asked: int | None = None, album: str | None = None,
                    photo_key: str = "") -> str:
        """A staff member's reply about an incident: the answer or a note."""
        incident = await repo.get(self.hub.db.reader, incident_id)
        if incident is None:
            return self.hub.render.html("refused_unknown_incident")
        if album is not None and await self.album_incident(album) == incident_id:
            return await self.add_to_answer(user_id, incident_id, text, photos, album,
                                            photo_key)
        if not self.is_answer(incident, user_id, asked):
            return await self.note(user_id, incident_id, text, photos, album=album)
        return await self.answer(user_id, incident_id, text, photos, album=album,
                                 photo_key=photo_key)

    async def answer(self, user_id: int, incident_id: int, text: str,
                     photos: list[str], *, album: str | None = None,
                     photo_key: str = "") -> str:
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
            if album is not None:
                await cursors.put(conn, f"album:{album}", f"{incident_id}:{photo_key}")
                await cursors.claim(conn, f"album:{album}:{photo_key}")
        self.hub.wake_outbox()
        reply = self.hub.render.html("answer_saved", id=incident_id)
        limit = self.answer_limit(incident)
        if limits.telegram_len(text) > limit:
            reply += "\n" + self.hub.render.html("answer_too_long", limit=limit,
                                                 length=limits.telegram_len(text))
        return reply

    async def add_to_answer(self, user_id: int, incident_id: int, text: str,
                            photos: list[str], album: str, photo_key: str) -> str:
        """The rest of an album: its photos join the draft its first message made (and
        its caption becomes the text, if the first message had none). Nothing to say."""
        async with self.hub.db.tx() as conn:
            incident = await repo.get(conn, incident_id)
            seen = f"album:{album}:{photo_key}"
            if (incident is None or incident.state != State.ANSWER_READY
                    or incident.answer_by != user_id or not await cursors.claim(conn, seen)):
                return ""
            changes: dict[str, Any] = {}
            room = limits.ANSWER_PHOTOS_MAX - len(incident.answer_photos)
            if photos and room > 0:
                changes["answer_photos"] = incident.answer_photos + photos[:room]
            if text.strip() and not (incident.answer_text or "").strip():
                changes["answer_text"] = text.strip()
            if changes:
                await repo.update(conn, incident_id, **changes)
                await self.hub.workspace.show_card(conn, incident_id, self.hub.clock.now())
        self.hub.wake_outbox()
        return ""

    async def note(self, user_id: int, incident_id: int, text: str, photos: list[str], *,
                   album: str | None = None) -> str:
        """A reply that is not the answer: a note in the history, shown on the card (an
        album is one note, made by its first message)."""
        if self.hub.config.staff_by_id(user_id) is None:
            return ""
        text = text.strip()
        if not text and not photos:
            return ""
        detail = text[:500] or self.hub.render.text("note_photos", count=len(photos))
        async with self.hub.db.tx() as conn:
            incident = await repo.get(conn, incident_id)
            if incident is None:
                return ""
            if album is not None and not await cursors.claim(conn, f"note:{album}"):
                return ""
            now = self.hub.clock.now()
            await repo.add_event(conn, incident_id, now, NOTE, actor_id=user_id,
                                 actor_name=self.hub.staff_name(user_id),
                                 from_state=incident.state, to_state=incident.state,
                                 detail=detail)
            await self.hub.workspace.show_card(conn, incident_id, now)
        self.hub.wake_outbox()
        return self.hub.render.html("note_saved", id=incident_id)

    async def submit(self, conn: Conn, actor: Actor, incident: Incident, text: str,
                     photos: list[str]) -> None:
        """The draft answer, on the card for approval (its writer assigned if nobody was)."""
        changes: dict[str, Any] = {"answer_text": text,
                                   "answer_photos": photos[:limits.ANSWER_PHOTOS_MAX],
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
