"""The incident state machine: which step may follow which, and who may take it.

Pure: no I/O and no clock. Handlers and scheduler jobs ask ``decide`` before changing an
incident, inside the same database transaction, so a refused or stale press changes
nothing and two presses at once cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class State(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    ANSWER_READY = "answer_ready"
    APPROVED = "approved"
    PUBLISHED = "published"
    CLOSED = "closed"
    RETURNED = "returned"
    REOPENED = "reopened"
    REJECTED = "rejected"


class Action(StrEnum):
    TAKE = "take"
    ASSIGN = "assign"
    REASSIGN = "reassign"
    INTERIM = "interim"
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"
    REJECT = "reject"
    REOPEN = "reopen"
    PUBLISH_MANUAL = "publish_manual"
    VIEW = "view"  # look at what the citizen sent (their photos): no state changes
    MERGE = "merge"  # this card joins another: its messages become that group's
    SPLIT = "split"  # a message of a group taken out into a card of its own
    # corrections that keep the state: the block, the fast track, the deadline
    CHANGE_BLOCK = "change_block"
    FAST_TRACK = "fast_track"
    SET_DEADLINE = "set_deadline"
    # the result for the regional report («решено» / «разъяснено»), once answered
    RESULT = "result"
    # done by the process itself, never by a button
    PUBLISHED = "published"
    PUBLISH_FAILED = "publish_failed"
    CLOSE = "close"
    CITIZEN_REPLY = "citizen_reply"


SYSTEM_ACTIONS = frozenset(
    {Action.PUBLISHED, Action.PUBLISH_FAILED, Action.CLOSE, Action.CITIZEN_REPLY}
)

# States where the work is still open (deadlines run, reminders go out).
OPEN_STATES = frozenset(
    {
        State.NEW,
        State.ASSIGNED,
        State.IN_PROGRESS,
        State.ANSWER_READY,
        State.APPROVED,
        State.RETURNED,
        State.REOPENED,
    }
)

_WORKING = (State.ASSIGNED, State.IN_PROGRESS, State.RETURNED, State.REOPENED)

TRANSITIONS: dict[tuple[State, Action], State] = {
    (State.NEW, Action.TAKE): State.IN_PROGRESS,
    (State.NEW, Action.ASSIGN): State.ASSIGNED,
    (State.NEW, Action.INTERIM): State.NEW,
    (State.NEW, Action.REJECT): State.REJECTED,
    (State.ASSIGNED, Action.TAKE): State.IN_PROGRESS,
    (State.ASSIGNED, Action.REASSIGN): State.ASSIGNED,
    (State.ASSIGNED, Action.INTERIM): State.IN_PROGRESS,
    (State.ASSIGNED, Action.SUBMIT): State.ANSWER_READY,
    (State.ASSIGNED, Action.REJECT): State.REJECTED,
    (State.IN_PROGRESS, Action.REASSIGN): State.ASSIGNED,
    (State.IN_PROGRESS, Action.INTERIM): State.IN_PROGRESS,
    (State.IN_PROGRESS, Action.SUBMIT): State.ANSWER_READY,
    (State.IN_PROGRESS, Action.REJECT): State.REJECTED,
    (State.ANSWER_READY, Action.SUBMIT): State.ANSWER_READY,
    (State.ANSWER_READY, Action.APPROVE): State.APPROVED,
    (State.ANSWER_READY, Action.RETURN): State.RETURNED,
    (State.RETURNED, Action.SUBMIT): State.ANSWER_READY,
    (State.RETURNED, Action.INTERIM): State.RETURNED,
    (State.RETURNED, Action.REASSIGN): State.ASSIGNED,
    (State.APPROVED, Action.PUBLISHED): State.PUBLISHED,
    (State.APPROVED, Action.PUBLISH_MANUAL): State.PUBLISHED,
    (State.APPROVED, Action.PUBLISH_FAILED): State.ANSWER_READY,
    (State.PUBLISHED, Action.REOPEN): State.REOPENED,
    (State.PUBLISHED, Action.CITIZEN_REPLY): State.REOPENED,
    (State.PUBLISHED, Action.CLOSE): State.CLOSED,
    (State.CLOSED, Action.REOPEN): State.REOPENED,
    (State.REJECTED, Action.REOPEN): State.REOPENED,
    (State.REOPENED, Action.TAKE): State.IN_PROGRESS,
    (State.REOPENED, Action.ASSIGN): State.ASSIGNED,
    (State.REOPENED, Action.REASSIGN): State.ASSIGNED,
    (State.REOPENED, Action.INTERIM): State.REOPENED,
    (State.REOPENED, Action.SUBMIT): State.ANSWER_READY,
    (State.REOPENED, Action.REJECT): State.REJECTED,
    # merged into another card: no incident of its own any more (the «Дубликат» of
    # «Не по компетенции», with its messages kept in the group it joined)
    **{(state, Action.MERGE): State.REJECTED for state in (
        State.NEW, State.ASSIGNED, State.IN_PROGRESS, State.ANSWER_READY, State.RETURNED,
        State.REOPENED)},
    # a message split out of a group leaves the group where it is
    **{(state, Action.SPLIT): state for state in (
        State.NEW, State.ASSIGNED, State.IN_PROGRESS, State.ANSWER_READY, State.RETURNED,
        State.REOPENED)},
}

SUPERVISORS = frozenset({"coordinator", "manager", "curator"})
APPROVERS = frozenset({"coordinator", "manager", "curator"})
# who may put a message on the fast track (decree 004 §4: the curator's request, the
# manager's or the coordinator's word), and take it off again
FAST_TRACKERS = frozenset({"coordinator", "manager", "curator"})
# corrections keep the state; they apply while the work is open and before approval
ADJUSTMENTS = frozenset({Action.CHANGE_BLOCK, Action.FAST_TRACK, Action.SET_DEADLINE})
ADJUSTABLE_STATES = frozenset({State.NEW, State.ASSIGNED, State.IN_PROGRESS, State.RETURNED,
                               State.REOPENED, State.ANSWER_READY})


@dataclass(frozen=True)
class Actor:
    """Who presses: a staff member's roles and blocks, or the process itself."""

    user_id: int | None
    roles: frozenset[str] = field(default_factory=frozenset)
    blocks: frozenset[str] = field(default_factory=frozenset)
    system: bool = False
    # the absent colleagues this person stands in for (decree 004 §3.3): their
    # incidents are this person's to answer while they are away
    acting_for: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def process(cls) -> Actor:
        return cls(user_id=None, system=True)


class Refusal(StrEnum):
    """Why a step was refused; handlers turn these into Russian alerts."""

    STALE = "stale"  # the step does not apply to the incident's state any more
    NOT_STAFF = "not_staff"
    NOT_APPROVER = "not_approver"
    NOT_ASSIGNEE = "not_assignee"
    NOT_SUPERVISOR = "not_supervisor"
    SYSTEM_ONLY = "system_only"
    NOT_EXECUTOR = "not_executor"  # the chosen assignee may not work on this block


class Refused(Exception):
    def __init__(self, reason: Refusal):
        self.reason = reason
        super().__init__(reason.value)


def _supervises(actor: Actor, block: str) -> bool:
    if actor.roles & SUPERVISORS:
        return True
    return "block_lead" in actor.roles and block in actor.blocks


def may(actor: Actor, action: Action, block: str, assignee: int | None) -> Refusal | None:
    """Whether the actor's roles allow the action at all (independent of the state)."""
    if action in SYSTEM_ACTIONS:
        return None if actor.system else Refusal.SYSTEM_ONLY
    if actor.system:
        return None
    if not actor.roles:
        return Refusal.NOT_STAFF
    if action == Action.VIEW:
        return None
    if action in (Action.APPROVE, Action.RETURN, Action.PUBLISH_MANUAL):
        return None if actor.roles & APPROVERS else Refusal.NOT_APPROVER
    if action in (Action.TAKE, Action.ASSIGN, Action.REASSIGN, Action.REJECT, Action.REOPEN,
                  Action.MERGE, Action.SPLIT):
        return None if _supervises(actor, block) else Refusal.NOT_SUPERVISOR
    if action == Action.FAST_TRACK:
        return None if actor.roles & FAST_TRACKERS else Refusal.NOT_SUPERVISOR
    if action in (Action.CHANGE_BLOCK, Action.SET_DEADLINE, Action.RESULT):
        return None if _supervises(actor, block) else Refusal.NOT_SUPERVISOR
    if action in (Action.INTERIM, Action.SUBMIT):
        if actor.user_id is not None and actor.user_id == assignee:
            return None
        if assignee is not None and assignee in actor.acting_for:
            return None
        return None if _supervises(actor, block) else Refusal.NOT_ASSIGNEE
    return Refusal.NOT_STAFF


def decide(
    state: State, action: Action, actor: Actor, block: str, assignee: int | None
) -> State:
    """The state after the action, or ``Refused`` saying why not.

    Permission is checked before the state, so a stranger always learns that they may
    not act rather than that the card is stale.
    """
    refusal = may(actor, action, block, assignee)
    if refusal is not None:
        raise Refused(refusal)
    target = TRANSITIONS.get((State(state), action))
    if target is None:
        raise Refused(Refusal.STALE)
    return target


def adjust(state: State, action: Action, actor: Actor, block: str,
           assignee: int | None) -> State:
    """A correction (block, fast track, deadline): the state stays; ``Refused`` when the
    actor may not, or when the message is past approval (its answer has gone)."""
    assert action in ADJUSTMENTS
    refusal = may(actor, action, block, assignee)
    if refusal is not None:
        raise Refused(refusal)
    if State(state) not in ADJUSTABLE_STATES:
        raise Refused(Refusal.STALE)
    return State(state)


def record_result(state: State, actor: Actor, block: str, assignee: int | None) -> State:
    """The result may be recorded once the answer is published (or the message closed)."""
    refusal = may(actor, Action.RESULT, block, assignee)
    if refusal is not None:
        raise Refused(refusal)
    if State(state) not in (State.PUBLISHED, State.CLOSED):
        raise Refused(Refusal.STALE)
    return State(state)


def can_work_on(roles: frozenset[str], blocks: frozenset[str], block: str) -> bool:
    """Whether a person may be assigned to an incident of this block."""
    if roles & SUPERVISORS:
        return True
    return bool(roles & {"executor", "block_lead"}) and block in blocks


def available_actions(state: State, actor: Actor, block: str, assignee: int | None) -> list[Action]:
    """The buttons this person could press on a card in this state."""
    result = []
    for (from_state, action), _ in TRANSITIONS.items():
        if from_state == state and may(actor, action, block, assignee) is None:
            if action not in SYSTEM_ACTIONS:
                result.append(action)
    return result
