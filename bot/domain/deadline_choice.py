"""A deadline chosen by the coordinator for one message, instead of its policy's.

The choices offered: the end of today's office hours (17:30 by the default calendar),
the end of the next working day, a number of working hours from now, or the end of a
working day within the bounds. Each is a small number (the button's argument), so a
press carries the choice, not a moment the client could forge; ``resolve`` turns it
into the moment on the calendar, ``within`` checks the config's bounds.

Pure: the moment ``now`` is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain.calendar import WorkCalendar

TODAY = 1
NEXT_DAY = 2
HOURS = 100  # 100 + N: N working hours from now (N < 100)
DAY = 1_000_000  # 1_000_000 + date ordinal: the end of that working day
OFFERED_HOURS = (2, 4)
OFFERED_DAYS = 5


@dataclass(frozen=True)
class Choice:
    code: int
    kind: str  # "today", "next_day", "hours", "day"
    due: datetime
    hours: int = 0
    day: date | None = None


def _day_end(cal: WorkCalendar, day: date) -> datetime | None:
    spans = cal.intervals(day)
    return spans[-1][1] if spans else None


def resolve(code: int, now: datetime, cal: WorkCalendar) -> Choice | None:
    """The moment a choice means now; None for a code that means nothing."""
    today = now.astimezone(cal.tz).date()
    if code == TODAY:
        end = _day_end(cal, today)
        return Choice(code, "today", end) if end and end > now else None
    if code == NEXT_DAY:
        day = today + timedelta(days=1)
        for _ in range(60):
            end = _day_end(cal, day)
            if end is not None:
                return Choice(code, "next_day", end, day=day)
            day += timedelta(days=1)
        return None
    if HOURS < code < HOURS + 100:
        hours = code - HOURS
        return Choice(code, "hours", cal.add(now, timedelta(hours=hours)), hours=hours)
    if code > DAY:
        try:
            day = date.fromordinal(code - DAY)
        except (ValueError, OverflowError):
            return None
        end = _day_end(cal, day)
        return Choice(code, "day", end, day=day) if end and end > now else None
    return None


def within(due: datetime, now: datetime, cal: WorkCalendar, min_hours: float,
           max_days: int) -> bool:
    """At least ``min_hours`` of working time away, at most ``max_days`` calendar days."""
    if due <= now or cal.between(now, due) < timedelta(hours=min_hours):
        return False
    return due - now <= timedelta(days=max_days)


def offered(now: datetime, cal: WorkCalendar, min_hours: float, max_days: int) -> list[Choice]:
    """The choices to put on the card now, each within the bounds, each moment once."""
    codes = [TODAY, NEXT_DAY, *(HOURS + h for h in OFFERED_HOURS)]
    day = now.astimezone(cal.tz).date() + timedelta(days=2)
    days = 0
    while days < OFFERED_DAYS and day - now.astimezone(cal.tz).date() <= timedelta(max_days):
        if cal.intervals(day):
            codes.append(DAY + day.toordinal())
            days += 1
        day += timedelta(days=1)
    result: list[Choice] = []
    seen: set[datetime] = set()
    for code in codes:
        choice = resolve(code, now, cal)
        if choice and choice.due not in seen and within(choice.due, now, cal, min_hours,
                                                        max_days):
            seen.add(choice.due)
            result.append(choice)
    return result
