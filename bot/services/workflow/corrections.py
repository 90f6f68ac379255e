"""Corrections a coordinator makes to a message (issue 18): its block, the fast track, a
deadline of its own, an executor of another block — all under the card's «Ещё».

None changes the state. Each is the domain's word first (``bot.domain.incident.adjust``:
who may, and only before approval), then written with its audit event, then the card.
A block change is also a routing correction: stored, and the router relearns from every
correction of the municipality (``bot.services.learning``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain import deadline_choice, sla
from bot.domain.external import RESULTS
from bot.domain.incident import (
    Action,
    Actor,
    Refusal,
    Refused,
    State,
    adjust,
    record_result,
)
from bot.ports import CardAction, CardButton, Keyboard
from bot.services import cards, learning, notices
from bot.services.workflow.steps import Reply, Steps, check
from storage import corrections, external
from storage import incidents as repo
from storage.db import Conn
from storage.incidents import Incident

# the domain action whose permission each press needs
CORRECTION_ACTIONS: dict[CardAction, Action] = {
    CardAction.MORE: Action.CHANGE_BLOCK,
    CardAction.CHANGE_BLOCK: Action.CHANGE_BLOCK,
    CardAction.MOVE_TO_BLOCK: Action.CHANGE_BLOCK,
    CardAction.FAST_TRACK: Action.FAST_TRACK,
    CardAction.OFFER_DEADLINES: Action.SET_DEADLINE,
    CardAction.SET_DEADLINE: Action.SET_DEADLINE,
    CardAction.OTHER_EXECUTOR: Action.ASSIGN,
    CardAction.ASSIGN_ANY: Action.ASSIGN,
    CardAction.RESULT: Action.RESULT,
}
_FAST_ON, _FAST_OFF = "on", "off"
_ASSIGNABLE = (State.NEW, State.REOPENED, State.ASSIGNED, State.IN_PROGRESS, State.RETURNED)


class Corrections(Steps):
    def correction_presses(self) -> dict[CardAction, Any]:
        return {
            CardAction.MORE: self.more,
            CardAction.CHANGE_BLOCK: self.change_block,
            CardAction.MOVE_TO_BLOCK: self.move_to_block,
            CardAction.FAST_TRACK: self.fast_track,
            CardAction.OFFER_DEADLINES: self.offer_deadlines,
            CardAction.SET_DEADLINE: self.set_deadline,
            CardAction.OTHER_EXECUTOR: self.other_executor,
            CardAction.ASSIGN_ANY: self.assign_any,
            CardAction.RESULT: self.result,
        }

    def _adjust(self, incident: Incident, action: Action, actor: Actor) -> State:
        return adjust(State(incident.state), action, actor, incident.block,
                      incident.assignee_id)

    async def _adjusted(self, conn: Conn, actor: Actor, incident: Incident, action: Action,
                        detail: str, button: CardAction, **changes: Any) -> None:
        """One correction written: the fields, the audit event, the card."""
        state = self._adjust(incident, action, actor)
        now = self.hub.clock.now()
        await repo.update(conn, incident.id, **changes)
        await repo.add_event(conn, incident.id, now, action.value, actor_id=actor.user_id,
                             actor_name=self.hub.staff_name(actor.user_id),
                             from_state=state.value, to_state=state.value,
                             button=button.value, detail=detail)

    def _label(self, phrase: str, **context: Any) -> str:
        return self.hub.render.text(f"people.j2:{phrase}", **context)

    async def more(self, conn: Conn, actor: Actor, incident: Incident, arg: int) -> Reply:
        self._adjust(incident, Action.CHANGE_BLOCK, actor)
        fast = incident.priority == "fast"
        rows: Keyboard = [
            [CardButton(self._label("btn_change_block"), CardAction.CHANGE_BLOCK)],
            [CardButton(self._label("btn_fast_off" if fast else "btn_fast_on"),
                        CardAction.FAST_TRACK)],
            [CardButton(self._label("btn_deadline"), CardAction.OFFER_DEADLINES)],
        ]
        if State(incident.state) in _ASSIGNABLE:
            rows.append([CardButton(self._label("btn_other_executor"),
                                    CardAction.OTHER_EXECUTOR)])
        rows.append([CardButton(self.hub.render.text("btn_back"), CardAction.BACK)])
        await self.hub.workspace.offer_choices(conn, incident, CardAction.MORE, rows)
        return Reply(self._label("choose_correction"))

    # -- the block ----------------------------------------------------------------------

    async def change_block(self, conn: Conn, actor: Actor, incident: Incident,
                           arg: int) -> Reply:
        self._adjust(incident, Action.CHANGE_BLOCK, actor)
        choices = [(i, b.name) for i, b in enumerate(self.hub.config.blocks)
                   if b.name != incident.block]
        await self.hub.workspace.offer_choices(
            conn, incident, CardAction.MOVE_TO_BLOCK,
            cards.picker(self.hub.render, CardAction.MOVE_TO_BLOCK, choices))
        return Reply(self._label("choose_block"))

    async def move_to_block(self, conn: Conn, actor: Actor, incident: Incident,
                            number: int) -> Reply:
        blocks = self.hub.config.blocks
        if not 0 <= number < len(blocks) or blocks[number].name == incident.block:
            raise Refused(Refusal.STALE)
        target = blocks[number].name
        now = self.hub.clock.now()
        await self._adjusted(conn, actor, incident, Action.CHANGE_BLOCK,
                             f"{incident.block} → {target}", CardAction.MOVE_TO_BLOCK,
                             block=target)
        await corrections.add(conn, self.hub.config.municipality.id, incident.id, now,
                              actor.user_id, incident.block, target, incident.text)
        await learning.relearn(self.hub, conn)
        moved = await repo.get(conn, incident.id)
        assert moved is not None
        await self.hub.workspace.move_card(
            conn, moved, now, self.hub.render.html("people.j2:card_moved", id=incident.id,
                                                   block=target))
        moved = await repo.get(conn, incident.id)  # without its old card now
        assert moved is not None
        choices = self.candidates(target)
        executors = [name for _, name in choices]
        choices = [c for c in choices if c[0] != moved.assignee_id]
        if choices and State(moved.state) in _ASSIGNABLE:  # on the new card, once posted
            await self.hub.workspace.offer_choices(
                conn, moved, CardAction.ASSIGN_TO,
                cards.picker(self.hub.render, CardAction.ASSIGN_TO, choices))
        if not executors:
            return Reply(self._label("moved_no_executors", block=target,
                                     admins=self._admins()), alert=True)
        return Reply(self._label("moved", block=target, executors=", ".join(executors)))

    def _admins(self) -> str:
        names = [m.name for m in self.hub.config.staff if "admin" in m.roles]
        return ", ".join(names) or self._label("the_admin")

    # -- the deadline -------------------------------------------------------------------

    async def fast_track(self, conn: Conn, actor: Actor, incident: Incident,
                         arg: int) -> Reply:
        sla_config = self.hub.config.sla
        if incident.priority != "fast":
            policy, priority, detail = sla_config.fast_track_policy, "fast", _FAST_ON
            before = incident.policy
        else:
            before = await self._policy_before_fast(conn, incident)
            policy, priority, detail = before, "normal", _FAST_OFF
        due = sla.deadline(sla_config.policies[policy], await self._start(conn, incident),
                           self.hub.calendar)
        await self._adjusted(conn, actor, incident, Action.FAST_TRACK,
                             f"{detail}:{before}", CardAction.FAST_TRACK, priority=priority,
                             policy=policy, due_at=due, overdue_at=None)
        await self.hub.workspace.show_card(conn, incident.id, self.hub.clock.now())
        return Reply(self._label("done_fast_" + detail, due=self.hub.render.format_dt(due)))

    async def _policy_before_fast(self, conn: Conn, incident: Incident) -> str:
        """The policy the message had before «Срочно» (the default if routed so)."""
        for event in reversed(await repo.events(conn, incident.id)):
            if event.action == Action.FAST_TRACK.value and event.detail.startswith(_FAST_ON):
                name = event.detail.partition(":")[2]
                if name in self.hub.config.sla.policies and name != incident.policy:
                    return name
                break
        return self.hub.config.sla.default_policy

    async def _start(self, conn: Conn, incident: Incident) -> datetime:
        """Where the message's clock started: its arrival, or the last reopening."""
        for event in reversed(await repo.events(conn, incident.id)):
            if event.action in (Action.REOPEN.value, Action.CITIZEN_REPLY.value):
                return event.at
        return incident.received_at

    async def offer_deadlines(self, conn: Conn, actor: Actor, incident: Incident,
                              arg: int) -> Reply:
        self._adjust(incident, Action.SET_DEADLINE, actor)
        bounds = self.hub.config.sla
        offered = deadline_choice.offered(self.hub.clock.now(), self.hub.calendar,
                                          bounds.custom_min_hours, bounds.custom_max_days)
        choices = [(c.code, self._choice_label(c)) for c in offered]
        await self.hub.workspace.offer_choices(
            conn, incident, CardAction.SET_DEADLINE,
            cards.picker(self.hub.render, CardAction.SET_DEADLINE, choices))
        return Reply(self._label("choose_deadline"))

    def _choice_label(self, choice: deadline_choice.Choice) -> str:
        local = self.hub.render.local(choice.due)
        return self._label(f"deadline_{choice.kind}", hours=choice.hours,
                           time=local.strftime("%H:%M"), day=local.strftime("%d.%m"),
                           weekday=local.weekday())

    async def set_deadline(self, conn: Conn, actor: Actor, incident: Incident,
                           code: int) -> Reply:
        now = self.hub.clock.now()
        bounds = self.hub.config.sla
        choice = deadline_choice.resolve(code, now, self.hub.calendar)
        if choice is None or not deadline_choice.within(
                choice.due, now, self.hub.calendar, bounds.custom_min_hours,
                bounds.custom_max_days):
            return Reply(self._label("deadline_out_of_bounds", hours=bounds.custom_min_hours,
                                     days=bounds.custom_max_days), alert=True)
        shown = self.hub.render.format_dt(choice.due)
        await self._adjusted(conn, actor, incident, Action.SET_DEADLINE, shown,
                             CardAction.SET_DEADLINE, due_at=choice.due, overdue_at=None)
        await self.hub.workspace.show_card(conn, incident.id, now)
        return Reply(self._label("done_deadline", due=shown))

    # -- an executor of another block ---------------------------------------------------

    def _assign_action(self, incident: Incident) -> Action:
        state = State(incident.state)
        if state == State.NEW or (state == State.REOPENED and incident.assignee_id is None):
            return Action.ASSIGN
        return Action.REASSIGN

    async def other_executor(self, conn: Conn, actor: Actor, incident: Incident,
                             arg: int) -> Reply:
        check(incident, self._assign_action(incident), actor)
        choices: list[tuple[int, str]] = []
        empty: list[str] = []
        for block in self.hub.config.blocks:
            people = [c for c in self.candidates(block.name) if c[0] != incident.assignee_id]
            if not self.candidates(block.name):
                empty.append(block.name)
            choices += [(user_id, f"{block.name}: {name}") for user_id, name in people]
        if not choices:
            return Reply(self._label("no_executors_anywhere", admins=self._admins()),
                         alert=True)
        await self.hub.workspace.offer_choices(
            conn, incident, CardAction.ASSIGN_ANY,
            cards.picker(self.hub.render, CardAction.ASSIGN_ANY, choices))
        if empty:
            return Reply(self._label("blocks_without_executors", blocks=empty,
                                     admins=self._admins()), alert=True)
        return Reply(self.hub.render.text("choose_executor"))

    async def assign_any(self, conn: Conn, actor: Actor, incident: Incident,
                         executor_id: int) -> Reply:
        member = self.hub.config.staff_by_id(executor_id)
        if member is None or not {"executor", "block_lead"} & set(member.roles):
            raise Refused(Refusal.NOT_EXECUTOR)
        now = self.hub.clock.now()
        home = ", ".join(member.blocks)
        detail = self._label("assigned_from", name=member.name, blocks=home)
        await self.step(conn, actor, incident, self._assign_action(incident), detail=detail,
                        button=CardAction.ASSIGN_ANY, assignee_id=member.telegram_id,
                        assigned_at=now)
        await notices.assigned(self.hub, conn, incident.id, member.telegram_id)
        return Reply(self.hub.render.text("done_assign", to=member.name))

    # -- the result, for the regional report ----------------------------------------------

    async def result(self, conn: Conn, actor: Actor, incident: Incident, number: int) -> Reply:
        if not 0 <= number < len(RESULTS):
            raise Refused(Refusal.STALE)
        state = record_result(State(incident.state), actor, incident.block,
                              incident.assignee_id)
        now = self.hub.clock.now()
        await external.put(conn, incident.id, result=RESULTS[number])
        await repo.add_event(conn, incident.id, now, Action.RESULT.value,
                             actor_id=actor.user_id,
                             actor_name=self.hub.staff_name(actor.user_id),
                             from_state=state.value, to_state=state.value,
                             button=CardAction.RESULT.value, detail=RESULTS[number])
        await self.hub.workspace.show_card(conn, incident.id, now)
        return Reply(self._label("done_result", result=RESULTS[number]))
