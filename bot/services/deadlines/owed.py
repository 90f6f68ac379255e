"""What an incident owes now: reminders to the executor, the overdue mark and
escalation, the first-reply alert — pure, from the incident and the clock.

What is owed is recomputed from the incident each time, so a reassignment or a new
deadline simply yields new notice keys: the old ones are never sent. The executor's
reminders count from the later of the assignment and the last time the deadline
started again (a reopening), so after a reopening the 50 % point is half of the new
clock. Office hours: unless the policy works every day, nothing is sent outside working
time; a notice that falls due at night waits for the next working moment. Only the
latest of the executor's reminders due at once is sent (after a night or a stop the
executor gets one message, not three); the earlier ones are recorded as superseded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.config import SlaPolicy
from bot.domain import sla
from bot.domain.calendar import WorkCalendar
from bot.domain.incident import State
from storage.incidents import iso
from storage.notices import Watch

GRACE = timedelta(seconds=60)  # a notice due at the end of the day may still go this late
_EPS = timedelta(microseconds=1)  # overdue means strictly after the deadline

# The executor works on these; ``approved`` is done for them (publication is the bot's).
EXECUTOR_STATES = frozenset({State.ASSIGNED, State.IN_PROGRESS, State.RETURNED,
                             State.REOPENED})
# Overdue and first-reply alerts: open work, the answer not yet approved.
ESCALATE_STATES = frozenset({State.NEW, State.ASSIGNED, State.IN_PROGRESS, State.RETURNED,
                             State.REOPENED, State.ANSWER_READY})
# First-reply alerts: no answer written yet («на согласовании» or returned is one)
FIRST_REPLY_STATES = frozenset({State.NEW, State.ASSIGNED, State.IN_PROGRESS,
                                State.REOPENED})
ESCALATE_ROLES = ("coordinator", "manager", "curator")  # DESIGN.md: the curator oversees
FIRST_REPLY_ROLES = ("coordinator",)

REMIND = "remind:"
OVERDUE = "overdue"
OVERDUE_MARK = "overdue_mark"  # the card and overdue_at: not a message, never held
FIRST_REPLY = "first_reply"

@dataclass(frozen=True)
class Notice:
    """Something owed for an incident: ``(kind, due_key)`` is its identity in ``notices``.

    ``due_key`` names the deadline (and for reminders the assignment) it was computed
    for, so a new deadline or a new assignee gives new notices and the old never go.
    """

    kind: str
    due_key: str
    at: datetime  # when it falls due


@dataclass
class Plan:
    send: list[Notice] = field(default_factory=list)
    skip: list[Notice] = field(default_factory=list)  # superseded: recorded, not sent
    next_at: datetime | None = None  # look again then; None: nothing left to owe


def owed(w: Watch, policy: SlaPolicy, cal: WorkCalendar, points: list[str]) -> list[Notice]:
    """Every notice the incident owes in its current state, due or not yet."""
    notices: list[Notice] = []
    state = State(w.state)
    if w.due_at is not None and state in EXECUTOR_STATES and w.assignee_id is not None:
        start = w.work_started
        key = f"{iso(w.due_at)}|{w.assignee_id}|{iso(start)}"
        for point, moment in sla.reminder_times(policy, start, w.due_at, cal, points):
            notices.append(Notice(REMIND + point, key, moment))
    if w.due_at is not None and state in ESCALATE_STATES:
        # who hears of it and when is the escalation ladder's (bot.services.gathered)
        notices.append(Notice(OVERDUE_MARK, iso(w.due_at), w.due_at + _EPS))
    # assigned or not: neither an interim reply nor an answer by the first-reply deadline
    if (w.first_reply_due_at is not None and state in FIRST_REPLY_STATES
            and w.first_reply_at is None):
        notices.append(Notice(FIRST_REPLY, iso(w.first_reply_due_at),
                              w.first_reply_due_at + _EPS))
    return notices


def may_send(now: datetime, due: datetime, policy: SlaPolicy, cal: WorkCalendar) -> bool:
    """Whether a notice due at ``due`` may go out ``now``: office hours, unless every day.

    A notice that falls due at the very end of a working interval (a deadline at 17:30)
    still goes within ``GRACE`` of it rather than the next morning.
    """
    if policy.every_day or cal.is_working_time(now):
        return True
    at_closing = cal.is_working_time(due - timedelta(seconds=1))
    return at_closing and now - due <= GRACE


def plan(w: Watch, policy: SlaPolicy, cal: WorkCalendar, points: list[str], now: datetime,
         handled: set[tuple[str, str]]) -> Plan:
    """What to send now, what is superseded, and when to look at the incident again."""
    pending = [n for n in owed(w, policy, cal, points) if (n.kind, n.due_key) not in handled]
    result = Plan()
    later = [n.at for n in pending if n.at > now]
    held = False
    reminders = sorted((n for n in pending if n.at <= now and n.kind.startswith(REMIND)),
                       key=lambda n: n.at)
    if reminders:
        latest = reminders[-1]
        if may_send(now, latest.at, policy, cal):
            result.send.append(latest)
            result.skip.extend(reminders[:-1])
        else:
            held = True
    for notice in pending:
        if notice.at > now or notice.kind.startswith(REMIND):
            continue
        if notice.kind == OVERDUE_MARK or may_send(now, notice.at, policy, cal):
            result.send.append(notice)
        else:
            held = True
    if held:
        later.append(cal.next_working_moment(now))
    if later:
        result.next_at = max(min(later), now + timedelta(seconds=1))
    return result
