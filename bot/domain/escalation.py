"""Escalation without floods: who hears of an overdue message when, and how notices are
gathered into one message per person.

Pure: no I/O, and the clock is an argument. The ladder (``sla.escalation.ladder`` in the
config) says after how much working time past the deadline each role hears of it: the
coordinator at once, the manager later, the curator later still. Each person gets one
message listing every item newly due for them, at most once per interval of its kind;
an item is listed once per person and deadline, until it is resolved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.calendar import WorkCalendar

_EPS = timedelta(microseconds=1)  # overdue means strictly after the deadline


@dataclass(frozen=True)
class Rung:
    role: str
    after: timedelta  # working time past the deadline


def rung_moment(due_at: datetime, rung: Rung, cal: WorkCalendar,
                every_day: bool = False) -> datetime:
    """When an item overdue since ``due_at`` reaches this rung: working time after the
    deadline, or real time for a policy that works every day (the governor's)."""
    if not rung.after:
        return due_at + _EPS
    return due_at + rung.after if every_day else cal.add(due_at, rung.after)


def reached(due_at: datetime, now: datetime, ladder: Iterable[Rung], cal: WorkCalendar,
            every_day: bool = False) -> list[str]:
    """The roles an item overdue since ``due_at`` has reached by ``now``."""
    return [r.role for r in ladder if rung_moment(due_at, r, cal, every_day) <= now]


def next_rung(due_at: datetime, now: datetime, ladder: Iterable[Rung], cal: WorkCalendar,
              every_day: bool = False) -> datetime | None:
    """When the next role hears of it; None when every rung is reached."""
    later = [m for m in (rung_moment(due_at, r, cal, every_day) for r in ladder) if m > now]
    return min(later) if later else None


def may_send(now: datetime, cal: WorkCalendar, grace: timedelta) -> bool:
    """Gathered notices go in working time, or within ``grace`` of its end (a deadline
    at 17:30 is told at 17:30, not the next morning)."""
    return cal.is_working_time(now) or cal.is_working_time(now - grace)


@dataclass(frozen=True)
class Item:
    """One thing to tell one person (``key``: the deadline or round it is for)."""

    user_id: int
    kind: str
    incident_id: int
    key: str


def batches(waiting: Iterable[Item], last: Mapping[tuple[int, str], datetime],
            now: datetime, every: Mapping[str, timedelta]) -> dict[tuple[int, str], list[Item]]:
    """The gathered messages to send now: per (person, kind), every waiting item, when
    the person's last message of that kind is at least its interval old."""
    groups: dict[tuple[int, str], list[Item]] = {}
    for item in waiting:
        groups.setdefault((item.user_id, item.kind), []).append(item)
    due: dict[tuple[int, str], list[Item]] = {}
    for (user_id, kind), items in groups.items():
        sent = last.get((user_id, kind))
        if sent is None or now - sent >= every.get(kind, timedelta(0)):
            due[(user_id, kind)] = items
    return due


def ages(start: datetime, now: datetime, cal: WorkCalendar) -> timedelta:
    """How long something has waited in working time (the decrees count that)."""
    return cal.between(start, now)
