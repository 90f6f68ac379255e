"""SLA deadlines from the config's policies, on a municipality's working calendar.

A policy (``bot.config.SlaPolicy``) is one of:

- ``working_hours``: due after ``hours`` of working time (``first_reply`` 1, ``answer`` 8,
  ``fast_track`` 4 by the decrees); a message that comes at night is due counting from
  the next working morning;
- ``calendar_days``: due ``days`` calendar days later, same local wall time (``portal``:
  14 days, accepted within ``accept_hours`` = 24 real hours);
- ``same_day``: due today at ``by`` local time if the message comes before then, else
  the next day's ``by`` (``governor``: 18:00). ``every_day`` policies count every day;
  others move to the next working day.

Clocks. An ``every_day`` policy runs on real time; any other on working time. That
decides what "half the time gone", "1 hour left" and a pause while waiting for the
citizen mean, so that reminders of an office-hours policy fall in office hours.

Pure: no I/O, no wall clock. Moments are timezone-aware; results are in the calendar's
time zone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from bot.config import SlaPolicy, parse_hhmm
from bot.domain.calendar import WorkCalendar

_POINT = re.compile(r"^(?:(\d{1,3})%|(\d+(?:\.\d+)?)h)$")
_ZERO = timedelta(0)
_GIVE_UP_DAYS = 3660


def _aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment.isoformat()}")


def uses_working_time(policy: SlaPolicy) -> bool:
    """Whether the policy's clock is working time (else real time)."""
    return not policy.every_day


def deadline(policy: SlaPolicy, start: datetime, cal: WorkCalendar) -> datetime:
    """When a message that came at ``start`` is due under ``policy``."""
    _aware(start, "start")
    if policy.kind == "working_hours":
        assert policy.hours is not None  # the config validates it
        if policy.every_day:
            return _real_add(start, timedelta(hours=policy.hours), cal)
        return cal.add(start, timedelta(hours=policy.hours))
    if policy.kind == "calendar_days":
        assert policy.days is not None
        local = start.astimezone(cal.tz)
        # same local wall time ``days`` later; re-resolved so a DST change keeps 10:00
        return _at(cal, local.date() + timedelta(days=policy.days), local.time())
    assert policy.by is not None
    by = parse_hhmm(policy.by)
    local = start.astimezone(cal.tz)
    day = local.date()
    for _ in range(_GIVE_UP_DAYS):
        due = _at(cal, day, by)
        if (policy.every_day or cal.is_working_day(day)) and start < due:
            return due
        day += timedelta(days=1)
    raise ValueError("no working day in ten years: check the office hours")


def _at(cal: WorkCalendar, day: date, wall: time) -> datetime:
    """The aware moment at local wall time ``wall`` of ``day`` (normalised across DST)."""
    moment = datetime.combine(day, wall.replace(tzinfo=None), tzinfo=cal.tz)
    return moment.astimezone(UTC).astimezone(cal.tz)


def _real_add(start: datetime, delta: timedelta, cal: WorkCalendar) -> datetime:
    return (start.astimezone(UTC) + delta).astimezone(cal.tz)


def accept_deadline(policy: SlaPolicy, start: datetime, cal: WorkCalendar) -> datetime | None:
    """When the message must be accepted (portal: 24 real hours), if the policy says."""
    _aware(start, "start")
    if policy.accept_hours is None:
        return None
    return _real_add(start, timedelta(hours=policy.accept_hours), cal)


def parse_point(point: str) -> tuple[str, float]:
    """``"50%"`` -> ``("share", 0.5)``; ``"1h"`` -> ``("left", 1.0)`` hours left."""
    match = _POINT.match(point.strip())
    if not match:
        raise ValueError(f"reminder point {point!r}: expected '50%' or '1h'")
    if match.group(1) is not None:
        share = int(match.group(1))
        if share > 100:
            raise ValueError(f"reminder point {point!r}: more than 100%")
        return "share", share / 100
    return "left", float(match.group(2))


def reminder_times(
    policy: SlaPolicy,
    start: datetime,
    due: datetime,
    cal: WorkCalendar,
    points: list[str],
) -> list[tuple[str, datetime]]:
    """When to remind the executor: ``(point, moment)`` sorted, after ``start`` only.

    ``"50%"``: half of the policy's clock from ``start`` to ``due`` gone; ``"1h"``: one
    hour of it left; ``"0h"`` and ``"100%"``: ``due`` itself. Points that fall on the
    same moment are kept once, under the first one listed.
    """
    _aware(start, "start")
    _aware(due, "due")
    working = uses_working_time(policy)
    total = cal.between(start, due) if working else max(due - start, _ZERO)
    found: dict[datetime, str] = {}
    for point in points:
        kind, value = parse_point(point)
        gone = total * value if kind == "share" else total - timedelta(hours=value)
        if gone <= _ZERO:
            continue  # at or before the start
        if gone >= total:
            moment = due.astimezone(cal.tz)
        elif working:
            moment = cal.add(start, gone)
        else:
            moment = _real_add(start, gone, cal)
        if moment > start:
            found.setdefault(moment, point)
    return sorted(((point, moment) for moment, point in found.items()), key=lambda p: p[1])


def extend(
    due: datetime, paused: timedelta, cal: WorkCalendar, policy: SlaPolicy | None = None
) -> datetime:
    """The deadline moved by a pause (waiting for the citizen) of ``paused``.

    ``paused`` is on the policy's clock: working time (see ``paused_time``) unless the
    policy works every day.
    """
    _aware(due, "due")
    if paused < _ZERO:
        raise ValueError("a pause cannot be negative")
    if not paused:
        return due.astimezone(cal.tz)
    if policy is not None and not uses_working_time(policy):
        return _real_add(due, paused, cal)
    return cal.add(due, paused)


def paused_time(
    since: datetime, until: datetime, cal: WorkCalendar, policy: SlaPolicy | None = None
) -> timedelta:
    """How much of the policy's clock a pause from ``since`` to ``until`` took."""
    _aware(since, "since")
    _aware(until, "until")
    if policy is not None and not uses_working_time(policy):
        return max(until - since, _ZERO)
    return cal.between(since, until)


def remaining(
    now: datetime, due: datetime, cal: WorkCalendar, policy: SlaPolicy | None = None
) -> timedelta:
    """Time left on the policy's clock; negative (time overdue) after ``due``."""
    _aware(now, "now")
    _aware(due, "due")
    if policy is not None and not uses_working_time(policy):
        return due - now
    if now <= due:
        return cal.between(now, due)
    return -cal.between(due, now)


def overdue(now: datetime, due: datetime) -> bool:
    """Past the deadline: at ``due`` exactly the answer is still on time."""
    _aware(now, "now")
    _aware(due, "due")
    return now > due
