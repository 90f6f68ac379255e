"""The staff's work on an incident: every button and every answer, as one domain call.

Each step runs in one write transaction: read the incident, ask the state machine,
write the new state and the audit event, queue what must go out (card, answer,
notices). A refused step writes nothing. Two presses at once are serialised by the
writer lock; the second sees the new version and is told the card is stale.
"""

from __future__ import annotations

import html
import logging
import zlib
from dataclasses import dataclass
from typing import Any

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from bot.domain import limits
from bot.domain.incident import (
    Action,
    Actor,
    Refusal,
    Refused,
    State,
    can_work_on,
    decide,
    may,
)
from bot.domain.wording import greeting_name, greets
from bot.platforms.telegram.bot_api import unreachable
from bot.platforms.vk.client import refusal_code
from bot.services import cards
from bot.services.cards import CardCb
from bot.services.hub import Hub
from storage import cursors, outbox
from storage import incidents as repo
from storage.db import Conn
from storage.incidents import Incident

log = logging.getLogger(__name__)


@dataclass
class Reply:
    """What the presser is told (a callback answer); ``alert`` for a refusal."""

    text: str
    alert: bool = False


class RatingCb(CallbackData, prefix="r"):
    """A citizen's 1–5 rating of a published answer."""

    id: int = cards.ID
    s: int = Field(ge=1, le=5)


class Workflow:
    def __init__(self, hub: Hub):
        self.hub = hub

    # -- who is pressing --------------------------------------------------------------

    def actor(self, user_id: int) -> Actor:
        member = self.hub.config.staff_by_id(user_id)
        if member is None:
            return Actor(user_id=user_id)
        return Actor(user_id=user_id, roles=frozenset(member.roles),
                     blocks=frozenset(member.blocks))

    def candidates(self, block: str) -> list[tuple[int, str]]:
        """Who may be picked as the executor: the block's executors and its lead."""
        config = self.hub.config
        ids: list[int] = []
        spec = config.block(block)
        if spec is not None:
            ids.extend(spec.executors)
            if spec.lead is not None:
                ids.append(spec.lead)
        for member in config.staff:
            if block in member.blocks and {"executor", "block_lead"} & set(member.roles):
                ids.append(member.telegram_id)
        seen: dict[int, str] = {}
        for user_id in ids:
            if user_id not in seen:
                seen[user_id] = self.hub.staff_name(user_id)
        return list(seen.items())

    def refusal_text(self, reason: Refusal) -> str:
        return self.hub.render.text(f"refused_{reason.value}")

    # -- presses on a card ------------------------------------------------------------

    async def press(self, user_id: int, data: CardCb) -> Reply:
        actor = self.actor(user_id)
        if not _storable(data.id):  # forged data: no such row could exist
            return Reply(self.hub.render.text("refused_unknown_incident"), alert=True)
        async with self.hub.db.tx() as conn:
            incident = await repo.get(conn, data.id)
            if incident is None:
                return Reply(self.hub.render.text("refused_unknown_incident"), alert=True)
            try:
                reply = await self._press(conn, actor, incident, data)
            except Refused as refused:
                if refused.reason == Refusal.STALE:
                    await cards.queue_sync(conn, self.hub.config, incident.id,
                                           self.hub.clock.now(), incident.block)
                reply = Reply(self.refusal_text(refused.reason), alert=True)
        self.hub.wake_outbox()
        return reply

    async def _press(self, conn: Conn, actor: Actor, incident: Incident, data: CardCb) -> Reply:
        # permission first: a stranger learns they may not act, not that the card is old
        action = _ACTIONS.get(data.a)
        if action is None:
            return Reply(self.hub.render.text("refused_bad_button"), alert=True)
        refusal = may(actor, action, incident.block, incident.assignee_id)
        if refusal is not None:
            raise Refused(refusal)
        if data.v != incident.version:
            raise Refused(Refusal.STALE)
        handler = getattr(self, f"_on_{data.a}")
        return await handler(conn, actor, incident, data.arg)

    async def _step(self, conn: Conn, actor: Actor, incident: Incident, action: Action,
                    detail: str = "", button: str | None = None, **changes: Any) -> State:
        """Apply one transition: state, audit event, card refresh."""
        target = _check(incident, action, actor)
        now = self.hub.clock.now()
        await repo.update(conn, incident.id, state=target.value, **changes)
        await repo.add_event(
            conn, incident.id, now, action.value, actor_id=actor.user_id,
            actor_name=self.hub.staff_name(actor.user_id), from_state=incident.state,
            to_state=target.value, button=button, detail=detail,
        )
        await cards.queue_sync(conn, self.hub.config, incident.id, now, incident.block)
        return target

    async def _show_picker(self, conn: Conn, incident: Incident, action: str,
                           choices: list[tuple[int, str]]) -> None:
        markup = cards.picker(self.hub.render, incident, action, choices)
        if incident.card_message_id is None:
            return
        await outbox.enqueue(
            conn, key=f"picker:{incident.id}:{incident.version}:{action}",
            platform="tg", lane=f"tg:{incident.card_chat_id}",
            method="editMessageReplyMarkup",
            params={"chat_id": incident.card_chat_id, "message_id": incident.card_message_id,
                    "reply_markup": markup},
            now=self.hub.clock.now(), refresh=True,
        )

    async def _on_tk(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        await self._step(conn, actor, incident, Action.TAKE, button=cards.TAKE,
                         assignee_id=actor.user_id, assigned_at=self.hub.clock.now())
        return Reply(self.hub.render.text("done_take"))

    async def _on_as(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        choices = self.candidates(incident.block)
        if not choices:
            return Reply(self.hub.render.text("refused_no_executors", block=incident.block),
                         alert=True)
        _check(incident, Action.ASSIGN, actor)
        await self._show_picker(conn, incident, cards.PICK_EXECUTOR, choices)
        return Reply(self.hub.render.text("choose_executor"))

    async def _on_ra(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        choices = [c for c in self.candidates(incident.block) if c[0] != incident.assignee_id]
        if not choices:
            return Reply(self.hub.render.text("refused_no_executors", block=incident.block),
                         alert=True)
        _check(incident, Action.REASSIGN, actor)
        await self._show_picker(conn, incident, cards.PICK_EXECUTOR, choices)
        return Reply(self.hub.render.text("choose_executor"))

    async def _on_to(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        member = self.hub.config.staff_by_id(arg)
        if member is None or not can_work_on(frozenset(member.roles), frozenset(member.blocks),
                                             incident.block):
            raise Refused(Refusal.NOT_EXECUTOR)
        state = State(incident.state)
        action = Action.ASSIGN if state in (State.NEW, State.REOPENED) else Action.REASSIGN
        if state == State.REOPENED and incident.assignee_id is not None:
            action = Action.REASSIGN
        now = self.hub.clock.now()
        await self._step(conn, actor, incident, action, detail=member.name,
                         button=cards.PICK_EXECUTOR, assignee_id=member.telegram_id,
                         assigned_at=now)
        await self.hub.send(
            conn, member.telegram_id,
            self.hub.render.html("notify_assigned", id=incident.id, block=incident.block,
                                 due=self.hub.render.format_dt(incident.due_at), link=""),
            key=f"assigned:{incident.id}:{incident.version}:{member.telegram_id}",
            purpose="prompt", ref_id=incident.id,
        )
        return Reply(self.hub.render.text("done_assign", to=member.name))

    async def _on_im(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        text = self.hub.render.render(
            "interim.txt.j2", name=greeting_name(incident.author_name),
            due=self.hub.render.format_moment(incident.due_at),
        )
        events = await repo.events(conn, incident.id)
        round_ = sum(1 for e in events if e.action == Action.INTERIM.value)
        await self._publish(conn, incident, text, f"interim:{incident.id}:{round_}", "interim")
        changes: dict[str, Any] = {}
        if incident.first_reply_at is None:
            changes["first_reply_at"] = self.hub.clock.now()
        await self._step(conn, actor, incident, Action.INTERIM, button=cards.INTERIM, **changes)
        return Reply(self.hub.render.text("done_interim"))

    async def _on_sb(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        _check(incident, Action.SUBMIT, actor)
        name = self.hub.staff_name(actor.user_id)
        await self._prompt(conn, incident, "sb", actor.user_id,
                           self.hub.render.html("prompt_answer", name=name, id=incident.id))
        return Reply(self.hub.render.text("done_submit_prompt"))

    async def _on_tl(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        _check(incident, Action.SUBMIT, actor)
        names = self.templates(incident.block)
        if not names:
            return Reply(self.hub.render.text("no_templates", block=incident.block), alert=True)
        await self._show_picker(conn, incident, cards.PICK_TEMPLATE,
                                [(i, title) for i, (title, _) in enumerate(names)])
        return Reply(self.hub.render.text("choose_template"))

    async def _on_tp(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        names = self.templates(incident.block)
        if not 0 <= arg < len(names):
            raise Refused(Refusal.STALE)
        _, body = names[arg]
        await self._submit(conn, actor, incident, body, [])
        return Reply(self.hub.render.text("done_template"))

    async def _on_ap(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        if not incident.answer_text and not incident.answer_photos:
            return Reply(self.hub.render.text("refused_no_answer"), alert=True)
        _check(incident, Action.APPROVE, actor)
        round_ = incident.publications + 1
        answer = incident.answer_text or ""
        text = self.hub.render.render("answer.txt.j2", name=greeting_name(incident.author_name),
                                      text=answer, greeted=greets(answer))
        await self._step(conn, actor, incident, Action.APPROVE, button=cards.APPROVE,
                         publications=round_)
        queued = await self._publish(conn, incident, text, f"answer:{incident.id}:{round_}",
                                     "answer")
        if not queued:
            # manual source: the coordinator gets the text to paste, then presses the button
            await self.hub.send(
                conn, incident.card_chat_id or self.hub.config.telegram.staff_group,
                self.hub.render.html("manual_publish", id=incident.id,
                                     source=cards.source_label(self.hub.config, self.hub.render,
                                                               incident))
                + "\n\n<code>" + html.escape(text) + "</code>",
                key=f"manual:{incident.id}:{round_}",
                **_reply_to(incident),
            )
        return Reply(self.hub.render.text("done_approve"))

    async def _on_rt(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        _check(incident, Action.RETURN, actor)
        name = self.hub.staff_name(actor.user_id)
        await self._prompt(conn, incident, "rt", actor.user_id,
                           self.hub.render.html("prompt_return", name=name, id=incident.id))
        return Reply(self.hub.render.text("done_return"))

    async def _on_rj(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        _check(incident, Action.REJECT, actor)
        choices = [(i, self.hub.render.text(name)) for i, name in enumerate(cards.REJECT_REASONS)]
        await self._show_picker(conn, incident, cards.PICK_REASON, choices)
        return Reply(self.hub.render.text("choose_reason"))

    async def _on_rr(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        if not 0 <= arg < len(cards.REJECT_REASONS):
            raise Refused(Refusal.STALE)
        reason = self.hub.render.text(cards.REJECT_REASONS[arg])
        await self._step(conn, actor, incident, Action.REJECT, detail=reason,
                         button=cards.PICK_REASON)
        return Reply(self.hub.render.text("done_reject"))

    async def _on_ro(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        await self._step(conn, actor, incident, Action.REOPEN, button=cards.REOPEN,
                         reopens=incident.reopens + 1,
                         **self.hub.deadlines(incident.policy, self.hub.clock.now()))
        if incident.assignee_id is not None:
            await self.hub.notify(conn, incident.assignee_id, "notify_reopened",
                                  key=f"reopen:{incident.id}:{incident.version}", id=incident.id)
        return Reply(self.hub.render.text("done_reopen"))

    async def _on_pm(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        await self._step(conn, actor, incident, Action.PUBLISH_MANUAL, button=cards.MANUAL,
                         published_at=self.hub.clock.now())
        return Reply(self.hub.render.text("done_publish_manual"))

    async def _on_bk(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        await cards.queue_sync(conn, self.hub.config, incident.id, self.hub.clock.now(),
                               incident.block)
        return Reply("")

    # -- answers and reasons written as replies ---------------------------------------

    async def _prompt(self, conn: Conn, incident: Incident, kind: str, user_id: int | None,
                      text: str) -> None:
        """A message in the staff group that the person answers by replying to it."""
        chat = incident.card_chat_id or self.hub.config.telegram.staff_group
        params: dict[str, Any] = {
            "reply_markup": {"force_reply": True, "selective": True},
            **_reply_to(incident),
        }
        await self.hub.send(conn, chat, text,
                            key=f"prompt:{incident.id}:{kind}:{user_id}:{incident.version}",
                            purpose="prompt", ref_id=incident.id, **params)

    async def prompt_of(self, chat_id: int, message_id: int) -> tuple[int, str] | None:
        """The incident and kind ("sb" answer, "rt" reason) a bot message asks for."""
        value = await cursors.get(self.hub.db.reader, f"prompt:{chat_id}:{message_id}")
        if value is None:
            return None
        incident_id, _, kind = value.partition(":")
        return int(incident_id), kind

    async def incident_of_card(self, chat_id: int, message_id: int) -> int | None:
        return await repo.by_card(self.hub.db.reader, chat_id, message_id)

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
                await self._submit(conn, actor, incident, text, photos)
            except Refused as refused:
                if refused.reason == Refusal.STALE:
                    return self.hub.render.html("answer_wrong_state", id=incident_id)
                if refused.reason in (Refusal.NOT_ASSIGNEE, Refusal.NOT_STAFF):
                    return self.hub.render.html("answer_not_yours", id=incident_id)
                return self.refusal_text(refused.reason)
        self.hub.wake_outbox()
        reply = self.hub.render.html("answer_saved", id=incident_id)
        limit = self._limit(incident)
        if limits.telegram_len(text) > limit:
            reply += "\n" + self.hub.render.html("answer_too_long", limit=limit,
                                                 length=limits.telegram_len(text))
        return reply

    async def _submit(self, conn: Conn, actor: Actor, incident: Incident, text: str,
                      photos: list[str]) -> None:
        changes: dict[str, Any] = {"answer_text": text, "answer_photos": photos,
                                   "answer_by": actor.user_id}
        if incident.assignee_id is None:
            changes["assignee_id"] = actor.user_id
        await self._step(conn, actor, incident, Action.SUBMIT, **changes)

    async def return_with_reason(self, user_id: int, incident_id: int, reason: str) -> str:
        actor = self.actor(user_id)
        reason = reason.strip()[:500]
        if not reason:
            return self.hub.render.html("answer_empty")
        async with self.hub.db.tx() as conn:
            incident = await repo.get(conn, incident_id)
            if incident is None:
                return self.hub.render.html("refused_unknown_incident")
            try:
                await self._step(conn, actor, incident, Action.RETURN, detail=reason,
                                 returns=incident.returns + 1)
            except Refused as refused:
                return self.refusal_text(refused.reason)
            target = incident.answer_by or incident.assignee_id
            if target is not None:
                await self.hub.send(
                    conn, target,
                    self.hub.render.html("notify_returned", id=incident.id, reason=reason),
                    key=f"returned:{incident.id}:{incident.version}",
                    purpose="prompt", ref_id=incident.id,
                )
        self.hub.wake_outbox()
        return self.hub.render.html("returned_saved", id=incident_id)

    # -- publication to the citizen ---------------------------------------------------

    def _limit(self, incident: Incident) -> int:
        platform = incident.reply_target.get("platform")
        if platform == "vk":
            method = incident.reply_target.get("method", "")
            return limits.VK_MESSAGE_MAX if method == "messages.send" else limits.VK_COMMENT_MAX
        return limits.TG_TEXT_MAX

    async def _publish(self, conn: Conn, incident: Incident, text: str, key: str,
                       purpose: str) -> bool:
        """Queue the text to the incident's source, in parts if it is over the limit."""
        target = incident.reply_target
        platform = target.get("platform")
        if platform not in ("vk", "tg"):
            return False
        parts = limits.split_text(text, self._limit(incident))
        now = self.hub.clock.now()
        for n, part in enumerate(parts):
            part_key = f"{key}:{n}"
            params = dict(target.get("params", {}))
            if platform == "vk":
                if target["method"] == "messages.send":
                    params["random_id"] = zlib.crc32(part_key.encode()) & 0x7FFFFFFF
                else:
                    params["guid"] = part_key
                params["message"] = part
                lane = target["lane"]
            else:
                params["text"] = html.escape(part)
                lane = f"tg:{params['chat_id']}"
            await outbox.enqueue(conn, key=part_key, platform=platform, lane=lane,
                                 method=target["method"], params=params, now=now,
                                 purpose=purpose if n == len(parts) - 1 else "",
                                 ref_id=incident.id)
        return True

    async def published(self, conn: Conn, item: outbox.Item, result: Any) -> None:
        """Outbox hook: the answer reached the citizen."""
        incident = await repo.get(conn, item.ref_id or 0)
        if incident is None or incident.state != State.APPROVED:
            return
        actor = Actor.process()
        now = self.hub.clock.now()
        await self._step(conn, actor, incident, Action.PUBLISHED, published_at=now,
                         first_reply_at=incident.first_reply_at or now)
        target = incident.reply_target
        if target.get("platform") == "tg" and target.get("private"):
            chat = target["params"]["chat_id"]
            buttons = [[{"text": str(s), "callback_data": RatingCb(id=incident.id, s=s).pack()}
                        for s in range(1, 6)]]
            await self.hub.send(conn, chat, self.hub.render.html("ask_rating"),
                                key=f"rate:{incident.id}:{incident.publications}",
                                reply_markup={"inline_keyboard": buttons})

    async def publish_failed(self, conn: Conn, item: outbox.Item, error: Any) -> None:
        """Outbox hook: the platform refused the answer for good (it is not tried again).
        The coordinators read why in the platform's words, with what that means for
        them when we know (VK: privacy, closed comments, links, …)."""
        incident = await repo.get(conn, item.ref_id or 0)
        if incident is None or incident.state != State.APPROVED:
            return
        reason = unreachable(str(error)) if incident.reply_target.get("private") else None
        if reason is not None:
            await self._citizen_unreachable(conn, incident, reason)
            return
        error = self.explained(str(error))
        await self._step(conn, Actor.process(), incident, Action.PUBLISH_FAILED,
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
        await cards.queue_sync(conn, self.hub.config, incident.id, now, incident.block)
        for member in self.hub.config.staff:
            if "coordinator" in member.roles:
                await self.hub.send(
                    conn, member.telegram_id,
                    render.html("delivery.j2:notify_citizen_unreachable", id=incident.id,
                                reason=notice),
                    key=f"notify:{member.telegram_id}:unreachable:{incident.id}:"
                        f"{incident.publications}")

    async def staff_unreachable(self, conn: Conn, user_id: int, reason: str) -> None:
        """A staff member's notice was refused for good (they blocked the bot): the staff
        group hears it once, until they come back (``staff_reachable``)."""
        if not await cursors.claim(conn, f"tg:unreachable:{user_id}", reason):
            return
        render = self.hub.render
        text = render.html("delivery.j2:staff_unreachable", name=self.hub.staff_name(user_id),
                           reason=render.text(f"delivery.j2:staff_{reason}"))
        now = self.hub.clock.now()
        await self.hub.send(conn, self.hub.config.telegram.staff_group, text,
                            key=f"unreachable:{user_id}:{now.isoformat()}")

    async def staff_reachable(self, user_id: int) -> None:
        """They unblocked the bot: a later refusal is news again."""
        async with self.hub.db.tx() as conn:
            await cursors.drop(conn, f"tg:unreachable:{user_id}")

    def explained(self, reason: str) -> str:
        """``reason`` followed by its meaning for staff, for the VK refusals we know."""
        code = refusal_code(reason)
        hint = self.hub.render.text("vk_refusals.j2:explain", code=code) if code else ""
        return f"{reason} — {hint}" if hint else reason

    async def prompt_sent(self, conn: Conn, item: outbox.Item, result: Any) -> None:
        """Outbox hook: remember what a prompt message asks for, to read the reply."""
        if not isinstance(result, dict) or "message_id" not in result:
            return
        kind = item.key.split(":")[2] if item.key.startswith("prompt:") else "sb"
        chat = result.get("chat", {}).get("id", item.params.get("chat_id"))
        await cursors.put(conn, f"prompt:{chat}:{result['message_id']}",
                          f"{item.ref_id}:{kind}")

    async def rate(self, user_id: int, incident_id: int, score: int) -> str:
        if not 1 <= score <= 5 or not _storable(incident_id):
            return self.hub.render.text("refused_bad_button")
        async with self.hub.db.tx() as conn:
            incident = await repo.get(conn, incident_id)
            if incident is None or incident.author_id != f"tg:{user_id}":
                return self.hub.render.text("refused_bad_button")
            if incident.rating is None:
                await repo.update(conn, incident.id, rating=score)
                await repo.add_event(conn, incident.id, self.hub.clock.now(), "rating",
                                     detail=str(score))
                await cards.queue_sync(conn, self.hub.config, incident.id,
                                       self.hub.clock.now(), incident.block)
        self.hub.wake_outbox()
        return self.hub.render.text("thanks_rating", score=score)

    async def close_quiet(self) -> int:
        """Published incidents with no objection for ``reopen_days`` close as resolved."""
        from datetime import timedelta

        now = self.hub.clock.now()
        limit = now - timedelta(days=self.hub.config.ingest.reopen_days)
        closed = 0
        async with self.hub.db.tx() as conn:
            for incident in await repo.in_states(conn, [State.PUBLISHED.value]):
                if incident.published_at is not None and incident.published_at <= limit:
                    await self._step(conn, Actor.process(), incident, Action.CLOSE,
                                     closed_at=now)
                    closed += 1
        if closed:
            self.hub.wake_outbox()
        return closed

    # -- template answers -------------------------------------------------------------

    def templates(self, block: str) -> list[tuple[str, str]]:
        from bot.services.answer_templates import for_block

        return for_block(self.hub.render, block)


_ACTIONS: dict[str, Action] = {
    cards.TAKE: Action.TAKE,
    cards.ASSIGN: Action.ASSIGN,
    cards.REASSIGN: Action.REASSIGN,
    cards.PICK_EXECUTOR: Action.ASSIGN,
    cards.INTERIM: Action.INTERIM,
    cards.SUBMIT: Action.SUBMIT,
    cards.TEMPLATES: Action.SUBMIT,
    cards.PICK_TEMPLATE: Action.SUBMIT,
    cards.APPROVE: Action.APPROVE,
    cards.RETURN: Action.RETURN,
    cards.REJECT: Action.REJECT,
    cards.PICK_REASON: Action.REJECT,
    cards.REOPEN: Action.REOPEN,
    cards.MANUAL: Action.PUBLISH_MANUAL,
    cards.BACK: Action.INTERIM,
}


def _storable(number: int) -> bool:
    """Whether an id from callback data fits SQLite's INTEGER (forged data may not)."""
    return -(2**63) <= number < 2**63


def _check(incident: Incident, action: Action, actor: Actor) -> State:
    """The state machine's word on this step for this incident (raises ``Refused``)."""
    return decide(State(incident.state), action, actor, incident.block, incident.assignee_id)


def _reply_to(incident: Incident) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if incident.card_message_id is not None:
        params["reply_parameters"] = {"message_id": incident.card_message_id,
                                      "allow_sending_without_reply": True}
    elif incident.card_thread_id is not None:
        params["message_thread_id"] = incident.card_thread_id
    return params
