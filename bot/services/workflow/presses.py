"""The buttons of an incident card: one method per action, found through a table.

Which action a press may take is the domain's word (``bot.domain.incident``: ``may``
for the roles, ``decide`` for the state); here each action is carried out. A press is
checked in this order: a number that could be no row, the incident, the presser's
right to the action at all (a stranger learns they may not act, not that the card is
old), the card's version, then the action itself.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.domain.incident import Action, Actor, Refusal, Refused, State, can_work_on, may
from bot.domain.wording import greeting_name, greets
from bot.ports import CardAction
from bot.services import cards, notices
from bot.services.hub import Hub
from bot.services.workflow.corrections import CORRECTION_ACTIONS, Corrections
from bot.services.workflow.groups import Groups
from bot.services.workflow.interim import Interim
from bot.services.workflow.steps import Reply, check, storable
from storage import incidents as repo
from storage.db import Conn
from storage.incidents import Incident

# the domain action whose permission a press needs (a choice needs its opening's)
ACTION_OF: dict[CardAction, Action] = {
    CardAction.TAKE: Action.TAKE,
    CardAction.ASSIGN: Action.ASSIGN,
    CardAction.REASSIGN: Action.REASSIGN,
    CardAction.ASSIGN_TO: Action.ASSIGN,
    CardAction.SEND_INTERIM: Action.INTERIM,
    CardAction.INTERIM_DATE: Action.INTERIM,
    CardAction.INTERIM_EDIT: Action.INTERIM,
    CardAction.INTERIM_SEND: Action.INTERIM,
    CardAction.INTERIM_DROP: Action.INTERIM,
    CardAction.ASK_FOR_ANSWER: Action.SUBMIT,
    CardAction.OFFER_TEMPLATES: Action.SUBMIT,
    CardAction.USE_TEMPLATE: Action.SUBMIT,
    CardAction.APPROVE: Action.APPROVE,
    CardAction.RETURN_FOR_REVISION: Action.RETURN,
    CardAction.REJECT: Action.REJECT,
    CardAction.REJECT_WITH_REASON: Action.REJECT,
    CardAction.REOPEN: Action.REOPEN,
    CardAction.PUBLISHED_MANUALLY: Action.PUBLISH_MANUAL,
    CardAction.BACK: Action.INTERIM,
    CardAction.SHOW_PHOTOS: Action.VIEW,
    CardAction.MERGE: Action.MERGE,
    CardAction.SPLIT: Action.SPLIT,
    CardAction.SPLIT_ONE: Action.SPLIT,
    **CORRECTION_ACTIONS,
}


class CardPress(Protocol):
    """A press as the staff workspace decoded it (Telegram: ``CardCb``)."""

    id: int  # the incident
    v: int  # the version of it the card showed
    a: str  # the action's code (a ``CardAction`` value, unless forged)
    arg: int  # which executor, template or reason


OnPress = Callable[[Conn, Actor, Incident, int], Awaitable[Reply]]


class Workflow(Corrections, Interim, Groups):
    """The staff's work on an incident: the card's buttons (here), the corrections under
    «Ещё» (``corrections``), the interim reply with its date (``interim``), answers written
    as replies (``replies``), publication to the citizen (``publication``), group
    incidents — comment storms (``groups``)."""

    def __init__(self, hub: Hub):
        super().__init__(hub)
        self.on_press: dict[CardAction, OnPress] = {
            CardAction.TAKE: self.take,
            CardAction.ASSIGN: self.assign,
            CardAction.REASSIGN: self.reassign,
            CardAction.ASSIGN_TO: self.assign_to,
            CardAction.SEND_INTERIM: self.send_interim,
            CardAction.INTERIM_DATE: self.interim_date,
            CardAction.INTERIM_EDIT: self.interim_edit,
            CardAction.INTERIM_SEND: self.interim_send,
            CardAction.INTERIM_DROP: self.interim_drop,
            CardAction.ASK_FOR_ANSWER: self.ask_for_answer,
            CardAction.OFFER_TEMPLATES: self.offer_templates,
            CardAction.USE_TEMPLATE: self.use_template,
            CardAction.APPROVE: self.approve,
            CardAction.RETURN_FOR_REVISION: self.return_for_revision,
            CardAction.REJECT: self.reject,
            CardAction.REJECT_WITH_REASON: self.reject_with_reason,
            CardAction.REOPEN: self.reopen,
            CardAction.PUBLISHED_MANUALLY: self.published_manually,
            CardAction.BACK: self.back,
            CardAction.SHOW_PHOTOS: self.show_photos,
            CardAction.MERGE: self.merge,
            CardAction.SPLIT: self.split,
            CardAction.SPLIT_ONE: self.split_one,
            **self.correction_presses(),
        }

    async def press(self, user_id: int, data: CardPress) -> Reply:
        actor = self.actor(user_id)
        if not storable(data.id):  # forged data: no such row could exist
            return Reply(self.hub.render.text("refused_unknown_incident"), alert=True)
        async with self.hub.db.tx() as conn:
            incident = await repo.get(conn, data.id)
            if incident is None:
                return Reply(self.hub.render.text("refused_unknown_incident"), alert=True)
            try:
                reply = await self._press(conn, actor, incident, data)
            except Refused as refused:
                if refused.reason == Refusal.STALE:
                    await self.hub.workspace.show_card(conn, incident.id, self.hub.clock.now())
                reply = Reply(self.refusal_text(refused.reason), alert=True)
        self.hub.wake_outbox()
        return reply

    async def _press(self, conn: Conn, actor: Actor, incident: Incident,
                     data: CardPress) -> Reply:
        try:
            pressed = CardAction(data.a)
        except ValueError:
            return Reply(self.hub.render.text("refused_bad_button"), alert=True)
        # permission first: a stranger learns they may not act, not that the card is old
        refusal = may(actor, ACTION_OF[pressed], incident.block, incident.assignee_id)
        if refusal is not None:
            raise Refused(refusal)
        if data.v != incident.version:
            raise Refused(Refusal.STALE)
        return await self.on_press[pressed](conn, actor, incident, data.arg)

    async def _offer(self, conn: Conn, incident: Incident, action: CardAction,
                     choices: list[tuple[int, str]]) -> None:
        await self.hub.workspace.offer_choices(
            conn, incident, action, cards.picker(self.hub.render, action, choices))

    def _no_executors(self, incident: Incident) -> Reply:
        return Reply(self.hub.render.text("refused_no_executors", block=incident.block),
                     alert=True)

    # -- who works on it ----------------------------------------------------------------

    async def take(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        await self.step(conn, actor, incident, Action.TAKE, button=CardAction.TAKE,
                        assignee_id=actor.user_id, assigned_at=self.hub.clock.now())
        return Reply(self.hub.render.text("done_take"))

    async def assign(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        choices = self.candidates(incident.block)
        if not choices:
            return self._no_executors(incident)
        check(incident, Action.ASSIGN, actor)
        await self._offer(conn, incident, CardAction.ASSIGN_TO, choices)
        return Reply(self.hub.render.text("choose_executor"))

    async def reassign(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        choices = [c for c in self.candidates(incident.block) if c[0] != incident.assignee_id]
        if not choices:
            return self._no_executors(incident)
        check(incident, Action.REASSIGN, actor)
        await self._offer(conn, incident, CardAction.ASSIGN_TO, choices)
        return Reply(self.hub.render.text("choose_executor"))

    async def assign_to(self, conn: Conn, actor: Actor, incident: Incident,
                        executor_id: int) -> Reply:
        member = self.hub.config.staff_by_id(executor_id)
        if member is None or not can_work_on(frozenset(member.roles), frozenset(member.blocks),
                                             incident.block):
            raise Refused(Refusal.NOT_EXECUTOR)
        state = State(incident.state)
        action = Action.ASSIGN if state in (State.NEW, State.REOPENED) else Action.REASSIGN
        if state == State.REOPENED and incident.assignee_id is not None:
            action = Action.REASSIGN
        now = self.hub.clock.now()
        await self.step(conn, actor, incident, action, detail=member.name,
                        button=CardAction.ASSIGN_TO, assignee_id=member.telegram_id,
                        assigned_at=now)
        await notices.assigned(self.hub, conn, incident.id, member.telegram_id)
        return Reply(self.hub.render.text("done_assign", to=member.name))

    # -- the answer ---------------------------------------------------------------------

    async def ask_for_answer(self, conn: Conn, actor: Actor, incident: Incident,
                             arg: int) -> Reply:
        return await self._ask(conn, actor, incident, Action.SUBMIT, CardAction.ASK_FOR_ANSWER,
                               "prompt_answer", "done_submit_prompt")

    async def _ask(self, conn: Conn, actor: Actor, incident: Incident, action: Action,
                   asked: CardAction, question: str, done: str) -> Reply:
        """A question under the card that the presser answers by replying to it."""
        check(incident, action, actor)
        name = self.hub.staff_name(actor.user_id)
        await self.hub.workspace.ask(conn, incident, asked, actor.user_id,
                                     self.hub.render.html(question, name=name, id=incident.id))
        return Reply(self.hub.render.text(done))

    async def offer_templates(self, conn: Conn, actor: Actor, incident: Incident,
                              arg: int) -> Reply:
        check(incident, Action.SUBMIT, actor)
        names = self.templates(incident.block)
        if not names:
            return Reply(self.hub.render.text("no_templates", block=incident.block), alert=True)
        await self._offer(conn, incident, CardAction.USE_TEMPLATE,
                          [(i, title) for i, (title, _) in enumerate(names)])
        return Reply(self.hub.render.text("choose_template"))

    async def use_template(self, conn: Conn, actor: Actor, incident: Incident,
                           number: int) -> Reply:
        names = self.templates(incident.block)
        if not 0 <= number < len(names):
            raise Refused(Refusal.STALE)
        _, body = names[number]
        await self.submit(conn, actor, incident, body, [])
        return Reply(self.hub.render.text("done_template"))

    # -- approval -----------------------------------------------------------------------

    async def approve(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        if not incident.answer_text and not incident.answer_photos:
            return Reply(self.hub.render.text("refused_no_answer"), alert=True)
        check(incident, Action.APPROVE, actor)
        round_ = incident.publications + 1
        answer = incident.answer_text or ""
        text = self.hub.render.render("answer.txt.j2", name=greeting_name(incident.author_name),
                                      text=answer, greeted=greets(answer))
        await self.step(conn, actor, incident, Action.APPROVE, button=CardAction.APPROVE,
                        publications=round_)
        if not await self.publish(conn, incident, text, f"answer:{incident.id}:{round_}",
                                  "answer", photos=incident.answer_photos):
            # manual source: the coordinator gets the text to paste, then presses the button
            source = cards.source_label(self.hub.config, self.hub.render, incident)
            photos = incident.answer_photos
            await self.hub.workspace.post(
                conn, self.hub.render.html("manual_publish", id=incident.id, source=source,
                                           photos=len(photos))
                + "\n\n<code>" + html.escape(text) + "</code>",
                key=f"manual:{incident.id}:{round_}", about=incident)
            if photos:
                await self.hub.workspace.show_photos(
                    conn, incident, photos, key=f"manualphotos:{incident.id}:{round_}")
        await self.publish_members(conn, incident, answer, round_)  # a storm's other authors
        return Reply(self.hub.render.text("done_approve"))

    async def return_for_revision(self, conn: Conn, actor: Actor, incident: Incident,
                                  arg: int) -> Reply:
        return await self._ask(conn, actor, incident, Action.RETURN,
                               CardAction.RETURN_FOR_REVISION, "prompt_return", "done_return")

    async def published_manually(self, conn: Conn, actor: Actor, incident: Incident,
                                 arg: int) -> Reply:
        await self.step(conn, actor, incident, Action.PUBLISH_MANUAL,
                        button=CardAction.PUBLISHED_MANUALLY, published_at=self.hub.clock.now())
        return Reply(self.hub.render.text("done_publish_manual"))

    # -- rejecting and reopening --------------------------------------------------------

    async def reject(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        check(incident, Action.REJECT, actor)
        choices = [(i, self.hub.render.text(name)) for i, name in enumerate(cards.REJECT_REASONS)]
        await self._offer(conn, incident, CardAction.REJECT_WITH_REASON, choices)
        return Reply(self.hub.render.text("choose_reason"))

    async def reject_with_reason(self, conn: Conn, actor: Actor, incident: Incident,
                                 number: int) -> Reply:
        if not 0 <= number < len(cards.REJECT_REASONS):
            raise Refused(Refusal.STALE)
        reason = self.hub.render.text(cards.REJECT_REASONS[number])
        await self.step(conn, actor, incident, Action.REJECT, detail=reason,
                        button=CardAction.REJECT_WITH_REASON)
        return Reply(self.hub.render.text("done_reject"))

    async def reopen(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        await self.step(conn, actor, incident, Action.REOPEN, button=CardAction.REOPEN,
                        reopens=incident.reopens + 1,
                        **self.hub.deadlines(incident.policy, self.hub.clock.now()))
        if incident.assignee_id is not None:
            await notices.reopened(self.hub, conn, incident.id, incident.assignee_id, "",
                                   key=f"reopen:{incident.id}:{incident.version}")
        return Reply(self.hub.render.text("done_reopen"))

    async def show_photos(self, conn: Conn, actor: Actor, incident: Incident,
                          arg: int) -> Reply:
        """The citizen's photos under the card, for the coordinator to see before
        approving (at most once a minute for the same card)."""
        photos = [p.get("file_id") or p.get("url") for p in cards.citizen_photos(incident)]
        shown = [p for p in photos if p]
        if not shown:
            return Reply(self.hub.render.text("no_photos"), alert=True)
        minute = self.hub.clock.now().strftime("%Y%m%d%H%M")
        await self.hub.workspace.show_photos(
            conn, incident, shown, key=f"photos:{incident.id}:{incident.version}:{minute}")
        return Reply(self.hub.render.text("done_photos", count=len(shown)))

    async def back(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        """The card's own buttons again, in place of a choice."""
        await self.hub.workspace.show_card(conn, incident.id, self.hub.clock.now())
        return Reply("")
