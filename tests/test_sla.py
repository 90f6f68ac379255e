"""SLA deadlines, reminders, pauses: a wide table of cases and the properties."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Sla, SlaPolicy
from bot.domain.calendar import WorkCalendar
from bot.domain.sla import (
    accept_deadline,
    deadline,
    extend,
    overdue,
    parse_point,
    paused_time,
    remaining,
    reminder_times,
)

POLICIES = Sla().policies  # the decrees' defaults
ZONES = ("Europe/Moscow", "Europe/Saratov", "Asia/Yekaterinburg", "Asia/Novokuznetsk")
CALENDARS = {name: WorkCalendar(ZoneInfo(name)) for name in (*ZONES, "Europe/Berlin")}
MSK = CALENDARS["Europe/Moscow"]
H = timedelta(hours=1)


def at(text: str, zone: str = "Europe/Moscow") -> datetime:
    """ISO text; without an offset, local time in ``zone``."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


# (policy, start, zone, expected due in that zone's local time)
CASES = [
    # the example: Friday 6 March 2026 is a full day; 7-8 weekend, 9 March carried
    ("fast_track", "2026-03-06T17:00", "Europe/Moscow", "2026-03-10T12:00"),
    ("first_reply", "2026-03-06T17:00", "Europe/Moscow", "2026-03-10T09:00"),
    ("first_reply", "2026-03-06T17:30", "Europe/Moscow", "2026-03-10T09:30"),
    ("answer", "2026-03-06T17:00", "Europe/Moscow", "2026-03-10T16:00"),
    # an ordinary week
    ("fast_track", "2026-03-05T10:00", "Europe/Moscow", "2026-03-05T14:00"),
    ("fast_track", "2026-03-05T13:30", "Europe/Moscow", "2026-03-05T17:30"),
    ("fast_track", "2026-03-05T16:00", "Europe/Moscow", "2026-03-06T11:00"),
    ("answer", "2026-03-05T08:30", "Europe/Moscow", "2026-03-05T16:30"),
    ("answer", "2026-03-05T09:30", "Europe/Moscow", "2026-03-05T17:30"),
    ("answer", "2026-03-05T09:31", "Europe/Moscow", "2026-03-06T08:31"),
    ("first_reply", "2026-03-05T17:29", "Europe/Moscow", "2026-03-06T09:29"),
    # outside hours: before 08:30, after 17:30, at night, on a weekend, on a holiday
    ("fast_track", "2026-03-05T07:00", "Europe/Moscow", "2026-03-05T12:30"),
    ("fast_track", "2026-03-05T08:29", "Europe/Moscow", "2026-03-05T12:30"),
    ("fast_track", "2026-03-04T19:45", "Europe/Moscow", "2026-03-05T12:30"),
    ("fast_track", "2026-03-05T23:40", "Europe/Moscow", "2026-03-06T12:30"),
    ("fast_track", "2026-03-07T12:00", "Europe/Moscow", "2026-03-10T12:30"),
    ("first_reply", "2026-01-01T10:00", "Europe/Moscow", "2026-01-12T09:30"),
    ("answer", "2026-02-23T11:00", "Europe/Moscow", "2026-02-24T16:30"),
    # transfers
    ("first_reply", "2026-01-08T12:00", "Europe/Moscow", "2026-01-12T09:30"),  # 9.01 off
    ("answer", "2025-12-30T15:00", "Europe/Moscow", "2026-01-12T14:00"),  # 31.12 off
    ("answer", "2025-05-07T12:00", "Europe/Moscow", "2025-05-12T11:00"),  # 8.05 off
    ("fast_track", "2025-06-11T14:00", "Europe/Moscow", "2025-06-16T10:00"),  # 11.06 short
    ("first_reply", "2026-12-30T17:00", "Europe/Moscow", "2027-01-11T09:00"),
    # a working Saturday (1 November 2025, also shortened: ends 16:30)
    ("fast_track", "2025-10-31T16:00", "Europe/Moscow", "2025-11-01T11:00"),
    ("fast_track", "2025-11-01T15:00", "Europe/Moscow", "2025-11-05T11:00"),
    ("answer", "2025-10-31T12:00", "Europe/Moscow", "2025-11-01T11:00"),
    ("first_reply", "2027-02-19T17:00", "Europe/Moscow", "2027-02-20T09:00"),
    # shortened days
    ("fast_track", "2026-04-30T15:00", "Europe/Moscow", "2026-05-04T11:00"),
    ("fast_track", "2026-04-30T16:45", "Europe/Moscow", "2026-05-04T12:30"),
    ("fast_track", "2026-05-08T14:00", "Europe/Moscow", "2026-05-12T10:00"),
    ("first_reply", "2026-11-03T16:00", "Europe/Moscow", "2026-11-05T09:00"),
    ("first_reply", "2026-11-03T15:30", "Europe/Moscow", "2026-11-03T16:30"),
    # local office hours in other zones (none of them has daylight saving time)
    ("fast_track", "2026-03-06T17:00", "Europe/Saratov", "2026-03-10T12:00"),
    ("fast_track", "2026-03-06T12:00+03:00", "Asia/Yekaterinburg", "2026-03-10T09:00"),
    ("fast_track", "2026-03-05T02:00+00:00", "Asia/Novokuznetsk", "2026-03-05T13:00"),
    ("fast_track", "2026-03-05T23:00+03:00", "Asia/Novokuznetsk", "2026-03-06T12:30"),
    ("fast_track", "2026-03-05T05:00+00:00", "Europe/Moscow", "2026-03-05T12:30"),
    ("answer", "2026-07-15T16:00", "Asia/Yekaterinburg", "2026-07-16T15:00"),
    ("answer", "2026-01-15T16:00", "Asia/Yekaterinburg", "2026-01-16T15:00"),
    ("answer", "2026-04-30T16:00+03:00", "Asia/Novokuznetsk", "2026-05-04T16:30"),
    # the portal: 14 calendar days, same wall time
    ("portal", "2026-03-06T17:00", "Europe/Moscow", "2026-03-20T17:00"),
    ("portal", "2026-12-25T03:00", "Asia/Novokuznetsk", "2027-01-08T03:00"),
    # the governor: every day, by 18:00
    ("governor", "2026-03-07T12:00", "Europe/Moscow", "2026-03-07T18:00"),
    ("governor", "2026-03-07T17:59", "Europe/Moscow", "2026-03-07T18:00"),
    ("governor", "2026-03-07T18:00", "Europe/Moscow", "2026-03-08T18:00"),
    ("governor", "2026-03-07T23:30", "Europe/Moscow", "2026-03-08T18:00"),
    ("governor", "2026-01-01T00:10", "Asia/Novokuznetsk", "2026-01-01T18:00"),
    ("governor", "2026-03-06T17:00+00:00", "Europe/Moscow", "2026-03-07T18:00"),
]


@pytest.mark.parametrize(("policy", "start", "zone", "due"), CASES)
def test_deadline(policy: str, start: str, zone: str, due: str):
    cal = CALENDARS[zone]
    got = deadline(POLICIES[policy], at(start, zone), cal)
    assert got == at(due, zone)
    assert got.tzinfo == cal.tz  # shown in the municipality's local time
    assert got.isoformat().startswith(due)


def test_same_day_on_working_days_only():
    policy = SlaPolicy(kind="same_day", by="12:00")
    assert deadline(policy, at("2026-03-06T11:00"), MSK) == at("2026-03-06T12:00")
    assert deadline(policy, at("2026-03-06T13:00"), MSK) == at("2026-03-10T12:00")
    assert deadline(policy, at("2026-03-08T10:00"), MSK) == at("2026-03-10T12:00")


def test_working_hours_every_day_run_on_real_time():
    policy = SlaPolicy(kind="working_hours", hours=2, every_day=True)
    assert deadline(policy, at("2026-03-07T23:00"), MSK) == at("2026-03-08T01:00")


def test_calendar_days_keep_the_wall_time_across_daylight_saving():
    berlin = CALENDARS["Europe/Berlin"]
    start = at("2026-03-20T10:00", "Europe/Berlin")
    due = deadline(POLICIES["portal"], start, berlin)
    assert due == at("2026-04-03T10:00", "Europe/Berlin")
    assert due.utcoffset() == 2 * H


def test_accept_deadline():
    assert accept_deadline(POLICIES["portal"], at("2026-03-06T17:00"), MSK) == at(
        "2026-03-07T17:00"
    )
    assert accept_deadline(POLICIES["answer"], at("2026-03-06T17:00"), MSK) is None


def test_naive_moments_are_refused():
    with pytest.raises(ValueError, match="aware"):
        deadline(POLICIES["answer"], datetime(2026, 3, 6, 17), MSK)


# -- reminders ---------------------------------------------------------------------------


def test_reminders_on_working_time():
    start = at("2026-03-05T15:30")
    due = deadline(POLICIES["answer"], start, MSK)
    assert due == at("2026-03-06T14:30")
    assert reminder_times(POLICIES["answer"], start, due, MSK, ["50%", "1h", "0h"]) == [
        ("50%", at("2026-03-06T10:30")),
        ("1h", at("2026-03-06T13:30")),
        ("0h", due),
    ]


def test_reminders_skip_the_weekend():
    start = at("2026-03-06T16:00")
    due = deadline(POLICIES["fast_track"], start, MSK)
    assert reminder_times(POLICIES["fast_track"], start, due, MSK, ["0h", "1h", "50%"]) == [
        ("50%", at("2026-03-10T09:00")),
        ("1h", at("2026-03-10T10:00")),
        ("0h", at("2026-03-10T11:00")),
    ]


def test_reminders_sorted_deduplicated_and_after_the_start():
    start = at("2026-03-06T17:00")
    due = deadline(POLICIES["first_reply"], start, MSK)  # Tuesday 09:00, 1 working hour
    got = reminder_times(POLICIES["first_reply"], start, due, MSK, ["100%", "0h", "1h", "2h"])
    assert got == [("100%", due)]
    got = reminder_times(POLICIES["first_reply"], start, due, MSK, ["50%", "0%"])
    assert got == [("50%", at("2026-03-06T17:30"))]


def test_reminders_of_an_every_day_policy_run_on_real_time():
    start = at("2026-03-07T12:00")  # a Saturday
    due = deadline(POLICIES["governor"], start, MSK)
    assert reminder_times(POLICIES["governor"], start, due, MSK, ["50%", "1h", "0h"]) == [
        ("50%", at("2026-03-07T15:00")),
        ("1h", at("2026-03-07T17:00")),
        ("0h", at("2026-03-07T18:00")),
    ]


def test_reminders_of_the_portal_fall_in_office_hours():
    start = at("2026-03-07T20:00")  # Saturday evening
    due = deadline(POLICIES["portal"], start, MSK)  # Saturday 21 March, 20:00
    got = dict(reminder_times(POLICIES["portal"], start, due, MSK, ["1h", "0h"]))
    assert got["1h"] == at("2026-03-20T16:30")
    assert got["0h"] == due


def test_reminder_points():
    assert parse_point("50%") == ("share", 0.5)
    assert parse_point("1.5h") == ("left", 1.5)
    for bad in ("half", "101%", "-1h", "1"):
        with pytest.raises(ValueError, match="reminder point"):
            parse_point(bad)


# -- pauses, remaining time, overdue ----------------------------------------------------


def test_pause_while_waiting_for_the_citizen():
    policy = POLICIES["answer"]
    asked, answered = at("2026-03-06T17:00"), at("2026-03-10T10:00")
    paused = paused_time(asked, answered, MSK, policy)
    assert paused == 2 * H  # 17:00-17:30 Friday, 08:30-10:00 Tuesday
    assert extend(at("2026-03-06T17:00"), paused, MSK, policy) == at("2026-03-10T10:00")
    assert extend(at("2026-03-06T17:00"), timedelta(0), MSK) == at("2026-03-06T17:00")
    governor = POLICIES["governor"]
    assert paused_time(asked, answered, MSK, governor) == answered - asked
    assert extend(at("2026-03-07T18:00"), 2 * H, MSK, governor) == at("2026-03-07T20:00")


def test_remaining_and_overdue():
    due = at("2026-03-10T09:00")
    assert remaining(at("2026-03-06T16:30"), due, MSK) == timedelta(hours=1, minutes=30)
    assert remaining(at("2026-03-10T10:00"), due, MSK) == -H
    assert (
        remaining(at("2026-03-07T10:00"), at("2026-03-07T18:00"), MSK, POLICIES["governor"])
        == 8 * H
    )
    assert not overdue(due, due)
    assert overdue(due + timedelta(seconds=1), due)
    assert not overdue(at("2026-03-09T23:00"), due)


# -- properties --------------------------------------------------------------------------

starts = st.builds(
    lambda zone, naive: naive.replace(tzinfo=ZoneInfo(zone)),
    st.sampled_from(ZONES),
    st.datetimes(datetime(2024, 1, 1), datetime(2028, 6, 1)),
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(POLICIES)), starts, st.timedeltas(timedelta(0), timedelta(days=9)))
def test_deadline_is_monotonic_in_the_start(policy: str, start: datetime, later: timedelta):
    cal = CALENDARS[start.tzinfo.key]  # type: ignore[union-attr]
    first = deadline(POLICIES[policy], start, cal)
    assert first > start
    assert first <= deadline(POLICIES[policy], start + later, cal)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["first_reply", "answer", "fast_track"]), starts)
def test_a_working_hours_deadline_is_that_much_working_time_away(policy: str, start: datetime):
    cal = CALENDARS[start.tzinfo.key]  # type: ignore[union-attr]
    due = deadline(POLICIES[policy], start, cal)
    assert cal.between(start, due) == timedelta(hours=POLICIES[policy].hours or 0)
    assert remaining(start, due, cal) == cal.between(start, due)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(POLICIES)), starts)
def test_reminders_lie_between_start_and_due(policy: str, start: datetime):
    cal = CALENDARS[start.tzinfo.key]  # type: ignore[union-attr]
    due = deadline(POLICIES[policy], start, cal)
    got = reminder_times(POLICIES[policy], start, due, cal, ["50%", "1h", "0h"])
    moments = [moment for _, moment in got]
    assert moments == sorted(set(moments))
    assert all(start < moment <= due for moment in moments)
    assert got[-1] == ("0h", due)
