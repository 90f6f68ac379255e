"""The coordinator's inbox: the open work sorted into what needs them now.

Pure: no I/O, the clock and the calendar are arguments. One message may stand in more
than one list (overdue and awaiting approval); each list is oldest first, with the
message's age in working time (what the decrees count).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain.calendar import WorkCalendar
from bot.domain.incident import State

NEW, APPROVAL, DUE_TODAY, OVERDUE, PROMISED = (
    "new", "approval", "due_today", "overdue", "promised_today")
CATEGORIES = (NEW, APPROVAL, DUE_TODAY, OVERDUE, PROMISED)

# where the answer is still owed (approved ones are the bot's to publish)
OWED = frozenset({State.NEW, State.ASSIGNED, State.IN_PROGRESS, State.RETURNED,
                  State.REOPENED, State.ANSWER_READY})
# where a promise of works still stands: open, or answered while the works go on
PROMISE_STATES = OWED | {State.APPROVED}


@dataclass(frozen=True)
class Work:
    """What the inbox needs of an incident."""

    id: int
    block: str
    state: str
    assignee_id: int | None
    received_at: datetime
    due_at: datetime | None
    promised_on: date | None
    text: str = ""


@dataclass(frozen=True)
class Entry:
    work: Work
    age: timedelta  # working time: waiting (new, approval) or late (overdue)
    promise_missed: bool = False  # the promised date has passed, the work still open
    late: bool = True  # overdue: past the answer's deadline (``age`` is how late)


def promise_missed(w: Work, today: date) -> bool:
    return (w.promised_on is not None and w.promised_on < today
            and State(w.state) in PROMISE_STATES)


def sort_out(works: Iterable[Work], now: datetime, cal: WorkCalendar
             ) -> dict[str, list[Entry]]:
    """Every list of the inbox, each oldest first."""
    today = now.astimezone(cal.tz).date()
    lists: dict[str, list[Entry]] = {c: [] for c in CATEGORIES}
    for w in works:
        state = State(w.state)
        waited = cal.between(w.received_at, now)
        if state in (State.NEW, State.REOPENED) and w.assignee_id is None:
            lists[NEW].append(Entry(w, waited))
        if state == State.ANSWER_READY:
            lists[APPROVAL].append(Entry(w, waited))
        missed = promise_missed(w, today)
        late = state in OWED and w.due_at is not None and w.due_at < now
        if late:
            assert w.due_at is not None
            lists[OVERDUE].append(Entry(w, cal.between(w.due_at, now), missed))
        elif missed:
            lists[OVERDUE].append(Entry(w, timedelta(0), promise_missed=True, late=False))
        elif (state in OWED and w.due_at is not None
              and w.due_at.astimezone(cal.tz).date() == today):
            lists[DUE_TODAY].append(Entry(w, waited))
        if w.promised_on == today and state in PROMISE_STATES:
            lists[PROMISED].append(Entry(w, waited))
    for entries in lists.values():
        entries.sort(key=lambda e: (e.work.received_at, e.work.id))
    lists[OVERDUE].sort(key=lambda e: -e.age)
    return lists


def counts_by_block(lists: dict[str, list[Entry]]) -> dict[str, dict[str, int]]:
    """The status message's table: block → category → how many."""
    table: dict[str, dict[str, int]] = {}
    for category, entries in lists.items():
        for e in entries:
            row = table.setdefault(e.work.block, dict.fromkeys(CATEGORIES, 0))
            row[category] += 1
    return dict(sorted(table.items()))
