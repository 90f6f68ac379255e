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
}

SUPERVISORS = frozenset({"coordinator", "manager", "curator"})
APPROVERS = frozenset({"coordinator", "manager", "curator"})


@dataclass(frozen=True)
class Actor:
    """Who presses: a staff member's roles and blocks, or the process itself."""

    user_id: int | None
    roles: frozenset[str] = field(default_factory=frozenset)
    blocks: frozenset[str] = field(default_factory=frozenset)
    system: bool = False

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
    if action in (Action.TAKE, Action.ASSIGN, Action.REASSIGN, Action.REJECT, Action.REOPEN):
        return None if _supervises(actor, block) else Refusal.NOT_SUPERVISOR
    if action in (Action.INTERIM, Action.SUBMIT):
        if actor.user_id is not None and actor.user_id == assignee:
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
