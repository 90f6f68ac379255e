"""Group incidents (comment storms): one answer to every author, a card merged into
another («Объединить с №…»), a message split out again («Отделить сообщение»).

The group's first message is the incident's own row; the others are its members
(``storage.members``). An approved answer is queued once per member too, each to its own
platform and thread with its own key (VK: a reply comment with its own ``guid``), so a
restart repeats nothing; the outbox paces them by the platform's limits and each
delivery moves the card's «опубликовано N из M» on (the card's waiting edits coalesce,
so 25 deliveries are a few edits, not 25).
"""

from __future__ import annotations

import re
from typing import Any

from bot.domain.incident import Action, Actor, Refusal, Refused, State
from bot.domain.routing import Message
from bot.domain.wording import greeting_name, greets
from bot.ports import CardAction
from bot.services import cards
from bot.services.storms import JOINABLE
from bot.services.workflow.replies import Replies
from bot.services.workflow.steps import Reply, check
from storage import incidents as repo
from storage import members
from storage.db import Conn
from storage.incidents import Incident, NewIncident
from storage.outbox import Item

MEMBER_ANSWER = "member_answer"  # outbox purpose: the answer reached one member
_NUMBER = re.compile(r"\s*№?\s*(\d{1,12})\s*\.?\s*")
SPLIT_CHOICES = 8  # the newest messages offered to split out
SPLIT_LABEL = 40


def member_round(key: str) -> int:
    """The publication round from a member answer's key ``answer:<id>:<round>:m<m>:<n>``."""
    parts = key.split(":")
    return int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0


class Groups(Replies):
    # -- one answer to every author -------------------------------------------------------

    async def publish_members(self, conn: Conn, incident: Incident, answer: str,
                              round_: int) -> None:
        """The approved answer queued to each member where they wrote, greeting each by
        name. A member on a source the bot cannot answer on is left to the coordinator
        (the card counts it as not published)."""
        for member in await members.of(conn, incident.id):
            page = self.hub.page(member.reply_target.get("platform"))
            if page is None:
                continue
            text = self.hub.render.render("answer.txt.j2", name=greeting_name(member.author_name),
                                          text=answer, greeted=greets(answer))
            await page.publish_answer(
                conn, member.id, member.reply_target, text,
                key=f"answer:{incident.id}:{round_}:m{member.id}", purpose=MEMBER_ANSWER,
                now=self.hub.clock.now(), photos=list(incident.answer_photos))

    async def member_published(self, conn: Conn, item: Item, result: Any) -> None:
        """Outbox hook: the answer reached one member of a group."""
        member = await members.get(conn, item.ref_id or 0)
        if member is None:
            return
        await members.mark_published(conn, member.id, member_round(item.key))
        await self.hub.workspace.show_card(conn, member.incident_id, self.hub.clock.now())

    async def member_failed(self, conn: Conn, item: Item, error: Any) -> None:
        """Outbox hook: one member's answer was refused for good; the card counts it and
        the coordinators are told, in the platform's words."""
        member = await members.get(conn, item.ref_id or 0)
        if member is None:
            return
        page = self.hub.page(member.reply_target.get("platform"))
        explained = page.explain(str(error)) if page else str(error)
        await members.mark_failed(conn, member.id, explained[:300])
        await self.hub.workspace.show_card(conn, member.incident_id, self.hub.clock.now())
        for person in self.hub.config.staff:
            if "coordinator" in person.roles:
                await self.hub.notify(conn, person.telegram_id, "notify_publish_failed",
                                      key=f"pubfail:{member.incident_id}:{item.id}",
                                      id=member.incident_id, error=explained[:300])

    # -- «Объединить с №…» ------------------------------------------------------------

    async def merge(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        """Asks the number of the card to merge this one into, answered by replying."""
        check(incident, Action.MERGE, actor)
        name = self.hub.staff_name(actor.user_id)
        await self.hub.workspace.ask(conn, incident, CardAction.MERGE, actor.user_id,
                                     self.hub.render.html("prompt_merge", name=name,
                                                          id=incident.id))
        return Reply(self.hub.render.text("done_merge_prompt"))

    async def merge_into(self, user_id: int, incident_id: int, text: str) -> str:
        """The reply with the number: this card's messages join that card's group.

        A wrong number, this card itself, a card no longer open, or a press this person
        may not make is answered and changes nothing."""
        render = self.hub.render
        found = _NUMBER.fullmatch(text or "")
        if found is None:
            return render.html("merge_not_a_number", id=incident_id)
        target_id = int(found.group(1))
        if target_id == incident_id:
            return render.html("merge_itself", id=incident_id)
        actor = self.actor(user_id)
        async with self.hub.db.tx() as conn:
            incident = await repo.get(conn, incident_id)
            target = await repo.get(conn, target_id)
            if incident is None:
                return render.html("refused_unknown_incident")
            if target is None or target.purged_at is not None:
                return render.html("merge_no_such", target=target_id)
            try:
                check(incident, Action.MERGE, actor)
            except Refused as refused:
                if refused.reason == Refusal.STALE:
                    return render.html("merge_this_closed", id=incident_id)
                return self.refusal_text(refused.reason)
            if target.state not in JOINABLE:
                return render.html("merge_closed", target=target_id)
            await self._merge(conn, actor, incident, target)
        self.hub.wake_outbox()
        return render.html("done_merge", id=incident_id, into=target_id)

    async def _merge(self, conn: Conn, actor: Actor, incident: Incident,
                     target: Incident) -> None:
        now = self.hub.clock.now()
        await members.move(conn, incident.id, target.id)
        await members.add(conn, target.id, members.NewMember(
            source_key=incident.source_key, author_id=incident.author_id, text=incident.text,
            written_at=incident.written_at, author_name=incident.author_name,
            author_link=incident.author_link, link=incident.link,
            attachments=incident.attachments, reply_target=incident.reply_target,
            merged_from=incident.id), now)
        await self.step(conn, actor, incident, Action.MERGE, detail=str(target.id),
                        button=CardAction.MERGE)
        # a new version of the group: its card's buttons refresh
        await repo.update(conn, target.id, state=target.state)
        await repo.add_event(conn, target.id, now, "merged_in", actor_id=actor.user_id,
                             actor_name=self.hub.staff_name(actor.user_id),
                             from_state=target.state, to_state=target.state,
                             detail=str(incident.id))
        await self.hub.workspace.show_card(conn, target.id, now)

    # -- «Отделить сообщение» -------------------------------------------------------------

    async def split(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        """Offers the group's newest messages; the one chosen becomes its own card."""
        check(incident, Action.SPLIT, actor)
        group = await members.of(conn, incident.id)
        if not group:
            return Reply(self.hub.render.text("split_nothing"), alert=True)
        render = self.hub.render
        choices = [(m.id, render.text("btn_split_one", author=m.author_name or "житель",
                                      text=cards._clip(m.text, SPLIT_LABEL)[0]))
                   for m in group[-SPLIT_CHOICES:]]
        await self.hub.workspace.offer_choices(
            conn, incident, CardAction.SPLIT_ONE, cards.picker(render, CardAction.SPLIT_ONE,
                                                               choices))
        return Reply(render.text("choose_split"))

    async def split_one(self, conn: Conn, actor: Actor, incident: Incident,
                        member_id: int) -> Reply:
        check(incident, Action.SPLIT, actor)
        member = await members.get(conn, member_id)
        if member is None or member.incident_id != incident.id:
            raise Refused(Refusal.STALE)
        origin = await repo.get(conn, member.merged_from) if member.merged_from else None
        if origin is not None and origin.source_key == member.source_key:
            # the card merged here comes back as it was: reopened, its own number again
            await self.step(conn, actor, origin, Action.REOPEN, detail=str(incident.id))
            new_id = origin.id
        else:
            new_id = await self._incident_of(conn, incident, member)
        await members.remove(conn, member.id)
        await self.step(conn, actor, incident, Action.SPLIT, detail=str(new_id),
                        button=CardAction.SPLIT_ONE)
        return Reply(self.hub.render.text("done_split", to=new_id))

    async def _incident_of(self, conn: Conn, group: Incident, member: members.Member) -> int:
        """A member as an incident of its own: routed afresh, with its deadlines."""
        now = self.hub.clock.now()
        route = self.hub.router.route(
            Message(text=member.text, source=group.source, author=member.author_id))
        deadlines = self.hub.deadlines(route.policy, now)
        new_id = await repo.insert(conn, NewIncident(
            source=group.source, source_kind=group.source_kind, source_key=member.source_key,
            thread_key=group.thread_key, link=member.link, author_id=member.author_id,
            author_name=member.author_name, author_link=member.author_link, text=member.text,
            attachments=member.attachments, reply_target=member.reply_target,
            written_at=member.written_at, received_at=now, block=route.block,
            priority=route.priority, policy=route.policy, route_rule=route.rule,
            due_at=deadlines["due_at"], first_reply_due_at=deadlines["first_reply_due_at"]))
        if new_id is None:  # cannot be: a member's key is no incident's
            raise Refused(Refusal.STALE)
        await repo.add_event(conn, new_id, now, "created", to_state=State.NEW.value,
                             detail=route.reason.to_detail() if route.reason else route.rule)
        await self.hub.workspace.show_card(conn, new_id, now)
        return new_id
