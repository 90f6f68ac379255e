"""Publication to the citizen: the answer (or the interim reply) queued where they wrote,
what becomes of it (published, refused, unreachable), their rating, the quiet close.

The answer goes through the page of the citizen's platform (``bot.ports.Page``), in parts
when it is over that platform's limit; its last part carries the purpose ``answer``,
whose outbox hooks below move the incident on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bot.domain import limits
from bot.domain.incident import Action, Actor, State
from bot.services.workflow.steps import Steps, storable
from storage import incidents as repo
from storage.db import Conn
from storage.incidents import Incident
from storage.outbox import Item


class Publication(Steps):
    def answer_limit(self, incident: Incident) -> int:
        """How long one message of the answer may be where the citizen wrote."""
        page = self.hub.page(incident.reply_target.get("platform"))
        return page.answer_limit(incident.reply_target) if page else limits.TG_TEXT_MAX

    async def publish(self, conn: Conn, incident: Incident, text: str, key: str,
                      purpose: str, photos: Sequence[str] = ()) -> bool:
        """Queue the text (and the photos) to the incident's source; False for a source
        the bot cannot answer on (the coordinator publishes by hand)."""
        page = self.hub.page(incident.reply_target.get("platform"))
        if page is None:
            return False
        await page.publish_answer(conn, incident.id, incident.reply_target, text, key=key,
                                  purpose=purpose, now=self.hub.clock.now(),
                                  photos=list(photos))
        return True

    async def published(self, conn: Conn, item: Item, result: Any) -> None:
        """Outbox hook: the answer reached the citizen."""
        incident = await repo.get(conn, item.ref_id or 0)
        if incident is None or incident.state != State.APPROVED:
            return
        actor = Actor.process()
        now = self.hub.clock.now()
        await self.step(conn, actor, incident, Action.PUBLISHED, published_at=now,
                        first_reply_at=incident.first_reply_at or now)
        page = self.hub.page(incident.reply_target.get("platform"))
        if page is not None:
            await page.ask_rating(conn, incident, self.hub.render.html("ask_rating"))

    async def publish_failed(self, conn: Conn, item: Item, error: Any) -> None:
        """Outbox hook: the platform refused the answer for good (it is not tried again).
        The coordinators read why in the platform's words, with what that means for
        them when we know (VK: privacy, closed comments, links, …)."""
        incident = await repo.get(conn, item.ref_id or 0)
        if incident is None or incident.state != State.APPROVED:
            return
        page = self.hub.page(incident.reply_target.get("platform"))
        reason = page.unreachable(incident.reply_target, str(error)) if page else None
        if reason is not None:
            await self._citizen_unreachable(conn, incident, reason)
            return
        error = page.explain(str(error)) if page else str(error)
        await self.step(conn, Actor.process(), incident, Action.PUBLISH_FAILED,
                        detail=str(error)[:300])
        for member in self.hub.config.staff:
            if "coordinator" in member.roles:
                await self.hub.notify(conn, member.telegram_id, "notify_publish_failed",
                                      key=f"pubfail:{incident.id}:{item.id}", id=incident.id,
                                      error=str(error)[:300])

    async def _citizen_unreachable(self, conn: Conn, incident: Incident, reason: str) -> None:
        """The citizen blocked the bot (or left Telegram): no retry can deliver the answer.

        The incident stays approved and its answer becomes manual: the card's one way on is
        «Опубликовано вручную», once the coordinator has reached the citizen otherwise; the
        card and the coordinators say so.
        """
        render = self.hub.render
        notice = render.text(f"delivery.j2:citizen_{reason}")
        now = self.hub.clock.now()
        # from now on the answer is the coordinator's to deliver, as for a manual source;
        # the way back is kept for the citizen's next message (they may unblock the bot)
        await repo.update(conn, incident.id, reply_target={
            "platform": "manual", "unreachable": reason, "was": incident.reply_target})
        await repo.add_event(conn, incident.id, now, Action.PUBLISH_FAILED.value,
                             from_state=incident.state, to_state=incident.state, detail=notice)
        await self.hub.workspace.show_card(conn, incident.id, now)
        for member in self.hub.config.staff:
            if "coordinator" in member.roles:
                await self.hub.workspace.notify(
                    conn, member.telegram_id,
                    render.html("delivery.j2:notify_citizen_unreachable", id=incident.id,
                                reason=notice),
                    key=f"notify:{member.telegram_id}:unreachable:{incident.id}:"
                        f"{incident.publications}")

    async def rate(self, user_id: int, incident_id: int, score: int) -> str:
        """A citizen's 1–5 for the answer they got in their private chat with the bot."""
        if not 1 <= score <= 5 or not storable(incident_id):
            return self.hub.render.text("refused_bad_button")
        async with self.hub.db.tx() as conn:
            incident = await repo.get(conn, incident_id)
            if incident is None or incident.author_id != f"tg:{user_id}":
                return self.hub.render.text("refused_bad_button")
            if incident.rating is None:
                now = self.hub.clock.now()
                await repo.update(conn, incident.id, rating=score)
                await repo.add_event(conn, incident.id, now, "rating", detail=str(score))
                await self.hub.workspace.show_card(conn, incident.id, now)
        self.hub.wake_outbox()
        return self.hub.render.text("thanks_rating", score=score)

    async def close_quiet(self) -> int:
        """Published incidents with no objection for ``reopen_days`` close as resolved."""
        now = self.hub.clock.now()
        limit = now - timedelta(days=self.hub.config.ingest.reopen_days)
        closed = 0
        async with self.hub.db.tx() as conn:
            for incident in await repo.in_states(conn, [State.PUBLISHED.value]):
                if incident.published_at is not None and incident.published_at <= limit:
                    await self.step(conn, Actor.process(), incident, Action.CLOSE,
                                    closed_at=now)
                    closed += 1
        if closed:
            self.hub.wake_outbox()
        return closed
