"""The incident state machine: every allowed and every forbidden step, and who may take it."""

from __future__ import annotations

import itertools

import pytest

from bot.domain.incident import (
    SYSTEM_ACTIONS,
    TRANSITIONS,
    Action,
    Actor,
    Refusal,
    Refused,
    State,
    available_actions,
    can_work_on,
    decide,
)

BLOCK = "ЖКХ"
SYSTEM = Actor.process()
COORDINATOR = Actor(1004, frozenset({"coordinator"}))
EXECUTOR = Actor(1005, frozenset({"executor"}), frozenset({BLOCK}))
OTHER_EXECUTOR = Actor(1006, frozenset({"executor"}), frozenset({"Дороги и транспорт"}))
LEAD = Actor(1010, frozenset({"block_lead"}), frozenset({BLOCK}))
OTHER_LEAD = Actor(1011, frozenset({"block_lead"}), frozenset({"Образование"}))
CITIZEN = Actor(2001)
PRESS = Actor(1007, frozenset({"press"}))
HEAD = Actor(1001, frozenset({"head"}))


def allowed_actor(action: Action) -> Actor:
    return SYSTEM if action in SYSTEM_ACTIONS else COORDINATOR


@pytest.mark.parametrize(("state", "action"), list(TRANSITIONS))
def test_every_allowed_transition(state: State, action: Action) -> None:
    target = decide(state, action, allowed_actor(action), BLOCK, assignee=1005)
    assert target == TRANSITIONS[(state, action)]


FORBIDDEN = [
    (s, a) for s, a in itertools.product(State, Action) if (s, a) not in TRANSITIONS
]


@pytest.mark.parametrize(("state", "action"), FORBIDDEN)
def test_every_forbidden_transition_is_stale(state: State, action: Action) -> None:
    with pytest.raises(Refused) as refused:
        decide(state, action, allowed_actor(action), BLOCK, assignee=1005)
    assert refused.value.reason == Refusal.STALE


# who may do what, whatever the state: (actor, action) -> refusal or None
ROLE_CASES = [
    (COORDINATOR, Action.APPROVE, None),
    (EXECUTOR, Action.APPROVE, Refusal.NOT_APPROVER),
    (LEAD, Action.APPROVE, Refusal.NOT_APPROVER),
    (CITIZEN, Action.APPROVE, Refusal.NOT_STAFF),
    (HEAD, Action.APPROVE, Refusal.NOT_APPROVER),
    (PRESS, Action.ASSIGN, Refusal.NOT_SUPERVISOR),
    (LEAD, Action.ASSIGN, None),
    (OTHER_LEAD, Action.ASSIGN, Refusal.NOT_SUPERVISOR),
    (EXECUTOR, Action.ASSIGN, Refusal.NOT_SUPERVISOR),
    (EXECUTOR, Action.SUBMIT, None),  # the assignee
    (OTHER_EXECUTOR, Action.SUBMIT, Refusal.NOT_ASSIGNEE),
    (CITIZEN, Action.SUBMIT, Refusal.NOT_STAFF),
    (COORDINATOR, Action.PUBLISHED, Refusal.SYSTEM_ONLY),
    (COORDINATOR, Action.CLOSE, Refusal.SYSTEM_ONLY),
    (SYSTEM, Action.CLOSE, None),
    (EXECUTOR, Action.REJECT, Refusal.NOT_SUPERVISOR),
    (CITIZEN, Action.REOPEN, Refusal.NOT_STAFF),
]


@pytest.mark.parametrize(("actor", "action", "refusal"), ROLE_CASES)
def test_roles(actor: Actor, action: Action, refusal: Refusal | None) -> None:
    # find a state where the action applies, so only the role decides
    state = next(s for (s, a) in TRANSITIONS if a == action)
    if refusal is None:
        assert decide(state, action, actor, BLOCK, assignee=1005) == TRANSITIONS[(state, action)]
    else:
        with pytest.raises(Refused) as refused:
            decide(state, action, actor, BLOCK, assignee=1005)
        assert refused.value.reason == refusal


def test_permission_is_checked_before_state() -> None:
    """A stranger learns they may not act, not that the card is stale."""
    with pytest.raises(Refused) as refused:
        decide(State.CLOSED, Action.APPROVE, CITIZEN, BLOCK, None)
    assert refused.value.reason == Refusal.NOT_STAFF


def test_buttons_offered_match_the_table() -> None:
    assert set(available_actions(State.ANSWER_READY, COORDINATOR, BLOCK, 1005)) == {
        Action.SUBMIT, Action.APPROVE, Action.RETURN, Action.MERGE, Action.SPLIT}
    assert available_actions(State.ANSWER_READY, CITIZEN, BLOCK, 1005) == []
    assert Action.APPROVE not in available_actions(State.ANSWER_READY, EXECUTOR, BLOCK, 1005)


def test_who_may_be_assigned() -> None:
    assert can_work_on(EXECUTOR.roles, EXECUTOR.blocks, BLOCK)
    assert not can_work_on(OTHER_EXECUTOR.roles, OTHER_EXECUTOR.blocks, BLOCK)
    assert can_work_on(COORDINATOR.roles, frozenset(), BLOCK)
    assert not can_work_on(PRESS.roles, frozenset(), BLOCK)


def test_the_happy_path_reaches_closed() -> None:
    state = State.NEW
    for actor, action in [(COORDINATOR, Action.ASSIGN), (EXECUTOR, Action.SUBMIT),
                          (COORDINATOR, Action.RETURN), (EXECUTOR, Action.SUBMIT),
                          (COORDINATOR, Action.APPROVE), (SYSTEM, Action.PUBLISHED),
                          (SYSTEM, Action.CITIZEN_REPLY), (COORDINATOR, Action.TAKE),
                          (COORDINATOR, Action.SUBMIT), (COORDINATOR, Action.APPROVE),
                          (SYSTEM, Action.PUBLISHED), (SYSTEM, Action.CLOSE)]:
        state = decide(state, action, actor, BLOCK, assignee=1005)
    assert state == State.CLOSED
