"""Absences and deputies (decree 004 §3.3: «в случае временного отсутствия сотрудника
МЦУ, его обязанности исполняет должностное лицо, замещающее его по должности»).

A person is away through the last local day they gave; from the next morning it ends by
itself. While away, whoever is their deputy gets what would have been theirs — a new
assignment, reminders, notices — and may answer their incidents. A deputy who is away
too passes it on to their own deputy; a loop ends at the first person repeated.

Pure: the day is given (the caller takes it from the clock).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?$")
MAX_DAYS = 366


@dataclass(frozen=True)
class Absence:
    user_id: int
    deputy_id: int
    until: date  # the last day away (local)


def active(absences: Iterable[Absence], today: date) -> dict[int, Absence]:
    """The absences in force today, by the absent person (the latest set wins)."""
    return {a.user_id: a for a in absences if today <= a.until}


def stand_in(user_id: int, absences: dict[int, Absence]) -> int:
    """Who acts for ``user_id`` now: themselves, their deputy, or the deputy's deputy."""
    seen = {user_id}
    current = user_id
    while current in absences:
        deputy = absences[current].deputy_id
        if deputy in seen:
            break
        seen.add(deputy)
        current = deputy
    return current


def acting_for(user_id: int, absences: dict[int, Absence]) -> frozenset[int]:
    """The absent people whose work is ``user_id``'s now."""
    return frozenset(a.user_id for a in absences.values()
                     if a.user_id != user_id and stand_in(a.user_id, absences) == user_id)


def parse_until(word: str, today: date) -> date | None:
    """«27.11» or «27.11.2026» as the last day away: this year's date, or next year's if
    it has passed; None when it is not a date, is before today or a year off."""
    match = _DATE.match(word.strip())
    if not match:
        return None
    day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
    try:
        until = date(int(year) if year else today.year, month, day)
        if not year and until < today:
            until = date(today.year + 1, month, day)
    except ValueError:
        return None
    if until < today or (until - today).days > MAX_DAYS:
        return None
    return until
