"""Working calendar: the official production calendars, transfers, short days, hours."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Calendar, Municipality
from bot.domain.calendar import WorkCalendar
from bot.domain.national_calendar import national_year
from bot.domain.production_calendar import YEARS, is_fixed_holiday

MSK = ZoneInfo("Europe/Moscow")

# Official production calendars, 5-day 40-hour week: (working days, norm hours) by month.
# 2025: Постановление № 1335 от 04.10.2024; consultant.ru «Производственный календарь на
#   2025 год» (247 days, 1972 hours; shortened 7.03, 30.04, 11.06, 1.11).
# 2026: Постановление № 1466 от 24.09.2025; glavaudit.org «Производственный календарь 2026»
#   monthly table, cross-checked with the quarterly totals on 4dk.ru (55/440, 62/493,
#   66/528, 64/511; 247 days, 1972 hours).
OFFICIAL = {
    2025: [
        (17, 136),
        (20, 160),
        (21, 167),
        (22, 175),
        (18, 144),
        (19, 151),
        (23, 184),
        (21, 168),
        (22, 176),
        (23, 184),
        (19, 151),
        (22, 176),
    ],
    2026: [
        (15, 120),
        (19, 152),
        (21, 168),
        (22, 175),
        (19, 151),
        (21, 167),
        (23, 184),
        (21, 168),
        (22, 176),
        (22, 176),
        (20, 159),
        (22, 176),
    ],
}
OFFICIAL_TOTALS = {2024: (248, 1979), 2025: (247, 1972), 2026: (247, 1972)}


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar(MSK)


def msk(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MSK)


# -- the production calendar --------------------------------------------------------------


@pytest.mark.parametrize("year", sorted(OFFICIAL))
def test_months_agree_with_the_official_production_calendar(cal: WorkCalendar, year: int):
    got = [(cal.working_days(year, m), cal.norm_hours(year, m)) for m in range(1, 13)]
    assert got == OFFICIAL[year]


@pytest.mark.parametrize("year", sorted(OFFICIAL_TOTALS))
def test_year_totals(cal: WorkCalendar, year: int):
    report = cal.report(year)
    assert (report.working_days, report.hours) == OFFICIAL_TOTALS[year]
    assert report.from_data


@pytest.mark.parametrize("year", sorted(YEARS))
def test_decree_data_agrees_with_the_holidays_package(year: int):
    """If a ``holidays`` upgrade or our data is wrong, this says where."""
    ours = national_year(year)
    package = holidays.RU(years=year)
    days_off = {d for d in package if d.year == year}
    assert days_off == set(ours.days_off)
    assert {d for d in package.weekend_workdays if d.year == year} == set(ours.working_weekends)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 11, 1), True),  # Saturday worked for Monday 3 November
        (date(2025, 11, 3), False),
        (date(2025, 11, 4), False),
        (date(2025, 12, 31), False),  # from Sunday 5 January
        (date(2025, 5, 2), False),
        (date(2025, 5, 8), False),  # 23 February (a Sunday) moved here
        (date(2025, 6, 13), False),  # 8 March (a Saturday) moved here
        (date(2025, 2, 24), True),  # ... so no carry-over to Monday 24 February
        (date(2026, 1, 9), False),  # from Saturday 3 January
        (date(2026, 1, 12), True),
        (date(2026, 3, 6), True),
        (date(2026, 3, 9), False),  # 8 March is a Sunday: art. 112 carry-over
        (date(2026, 5, 11), False),  # 9 May is a Saturday
        (date(2026, 12, 31), False),  # from Sunday 4 January
        (date(2026, 12, 30), True),
        (date(2024, 4, 27), True),
        (date(2024, 12, 28), True),
        (date(2024, 12, 30), False),
        (date(2027, 2, 20), True),
        (date(2027, 2, 22), False),
        (date(2027, 11, 5), False),
        (date(2026, 3, 7), False),  # an ordinary Saturday
    ],
)
def test_working_days(cal: WorkCalendar, day: date, working: bool):
    assert cal.is_working_day(day) is working


@pytest.mark.parametrize(
    ("day", "shortened"),
    [
        (date(2025, 3, 7), True),
        (date(2025, 4, 30), True),
        (date(2025, 6, 11), True),
        (date(2025, 11, 1), True),  # the working Saturday before the November holidays
        (date(2025, 12, 30), False),  # 31 December is a transferred day off, not a holiday
        (date(2025, 5, 7), False),
        (date(2026, 3, 6), False),  # 7 March, a Saturday, is not the holiday
        (date(2026, 4, 30), True),
        (date(2026, 5, 8), True),
        (date(2026, 6, 11), True),
        (date(2026, 11, 3), True),
        (date(2026, 12, 30), False),
        (date(2024, 12, 28), False),  # worked for Monday 30 December: a full day
        (date(2024, 11, 2), True),
        (date(2024, 2, 22), True),
        (date(2027, 2, 20), True),
        (date(2026, 3, 9), False),  # a day off is never "shortened"
    ],
)
def test_shortened_days(cal: WorkCalendar, day: date, shortened: bool):
    assert cal.is_shortened(day) is shortened


def test_a_year_without_decree_data_falls_back_to_the_package_and_the_labour_code():
    year = max(YEARS) + 1
    ours = national_year(year)
    assert not ours.from_data
    # 2028: 4 November is a Saturday -> Monday 6 November (art. 112); Friday 3 November is
    # the day before a holiday (art. 95)
    assert year != 2028 or (date(2028, 11, 6) in ours.days_off)
    assert year != 2028 or (date(2028, 11, 3) in ours.shortened)
    cal = WorkCalendar(MSK)
    report = cal.report(year)
    assert sum(m.working_days for m in report.months) == report.working_days
    assert all(is_fixed_holiday(day) for day, _ in report.holidays)


# -- hours of a day ----------------------------------------------------------------------


def test_an_ordinary_day(cal: WorkCalendar):
    assert cal.intervals(date(2026, 3, 5)) == [(msk("2026-03-05T08:30"), msk("2026-03-05T17:30"))]
    assert cal.intervals(date(2026, 3, 7)) == []
    assert cal.intervals(date(2026, 3, 9)) == []


def test_a_shortened_day_ends_an_hour_earlier(cal: WorkCalendar):
    assert cal.intervals(date(2026, 4, 30)) == [(msk("2026-04-30T08:30"), msk("2026-04-30T16:30"))]


def test_a_working_saturday_is_worked_as_the_weekday_it_replaces():
    hours = {d: [(time(8, 30), time(17, 30))] for d in range(4)}
    hours[0] = [(time(9, 0), time(18, 0))]  # Monday
    hours[4] = [(time(8, 30), time(16, 15))]  # Friday
    cal = WorkCalendar(MSK, hours)
    # Saturday 1 November 2025 is worked as Monday 3 November, and it is shortened
    assert cal.intervals(date(2025, 11, 1)) == [(msk("2025-11-01T09:00"), msk("2025-11-01T17:00"))]
    # a config's extra working Saturday: Friday's hours
    cal = WorkCalendar(MSK, hours, extra_working_days=[date(2026, 3, 14)])
    assert cal.intervals(date(2026, 3, 14)) == [(msk("2026-03-14T08:30"), msk("2026-03-14T16:15"))]


def test_breaks_and_shortening_across_a_break():
    lunch = [(time(8, 30), time(12, 30)), (time(13, 30), time(14, 0)), (time(14, 30), time(15, 0))]
    cal = WorkCalendar(MSK, {d: lunch for d in range(5)})
    # a shortened day loses its last hour of work: 14:30-15:00 and 13:30-14:00
    assert cal.intervals(date(2026, 4, 30)) == [(msk("2026-04-30T08:30"), msk("2026-04-30T12:30"))]
    assert cal.add(msk("2026-03-05T12:00"), timedelta(hours=1)) == msk("2026-03-05T14:00")
    assert cal.between(msk("2026-03-05T12:00"), msk("2026-03-05T14:40")) == timedelta(
        hours=1, minutes=10
    )
    assert not cal.is_working_time(msk("2026-03-05T13:00"))
    assert cal.next_working_moment(msk("2026-03-05T13:00")) == msk("2026-03-05T13:30")


def test_config_overrides():
    calendar = Calendar(
        office_hours={"monday": ["09:00-13:00", "14:00-18:00"], "tuesday": ["09:00-18:00"]},
        extra_holidays=[date(2026, 3, 10)],
        extra_working_days=[date(2026, 3, 9)],
        shortened_days=[date(2026, 3, 16)],
    )
    cal = WorkCalendar.from_config(Municipality(name="x", timezone="Asia/Novokuznetsk"), calendar)
    assert cal.tz == ZoneInfo("Asia/Novokuznetsk")
    assert cal.is_working_day(date(2026, 3, 9))  # the config beats the carry-over
    assert not cal.is_working_day(date(2026, 3, 10))  # a regional holiday
    assert not cal.is_working_day(date(2026, 3, 11))  # Wednesday: no office hours
    nsk = ZoneInfo("Asia/Novokuznetsk")
    assert cal.intervals(date(2026, 3, 16)) == [
        (datetime(2026, 3, 16, 9, tzinfo=nsk), datetime(2026, 3, 16, 13, tzinfo=nsk)),
        (datetime(2026, 3, 16, 14, tzinfo=nsk), datetime(2026, 3, 16, 17, tzinfo=nsk)),
    ]
    report = cal.report(2026)
    assert date(2026, 3, 10) in dict(report.holidays)
    assert date(2026, 3, 16) in report.shortened


def test_invalid_input():
    with pytest.raises(ValueError, match="overlap"):
        WorkCalendar(MSK, {0: [(time(9), time(12)), (time(11), time(13))]})
    with pytest.raises(ValueError, match="ends"):
        WorkCalendar(MSK, {0: [(time(12), time(9))]})
    with pytest.raises(ValueError, match="weekday"):
        WorkCalendar(MSK, {7: [(time(9), time(12))]})
    cal = WorkCalendar(MSK)
    with pytest.raises(ValueError, match="aware"):
        cal.add(datetime(2026, 3, 5, 9), timedelta(hours=1))
    with pytest.raises(ValueError, match="negative"):
        cal.add(msk("2026-03-05T09:00"), timedelta(hours=-1))
    with pytest.raises(ValueError, match="office hours"):
        WorkCalendar(MSK, {}).add(msk("2026-03-05T09:00"), timedelta(hours=1))


# -- working-time arithmetic -------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        ("2026-03-05T10:00", 4, "2026-03-05T14:00"),
        ("2026-03-05T13:30", 4, "2026-03-05T17:30"),  # ends at closing, not next morning
        ("2026-03-05T17:30", 1, "2026-03-06T09:30"),
        ("2026-03-05T07:00", 1, "2026-03-05T09:30"),
        ("2026-03-06T17:00", 4, "2026-03-10T12:00"),  # weekend + carry-over Monday
        ("2026-04-30T16:00", 1, "2026-05-04T09:00"),  # shortened day ends 16:30
        ("2025-10-31T17:00", 1, "2025-11-01T09:00"),  # working Saturday
        ("2025-12-30T17:00", 1, "2026-01-12T09:00"),  # New Year: 31.12 to 11.01 off
        ("2026-03-05T09:00", 90, "2026-03-20T09:00"),  # ten days of 9 h, 9 March off
    ],
)
def test_add(cal: WorkCalendar, start: str, hours: float, due: str):
    assert cal.add(msk(start), timedelta(hours=hours)) == msk(due)


def test_between(cal: WorkCalendar):
    assert cal.between(msk("2026-03-06T17:00"), msk("2026-03-10T09:00")) == timedelta(hours=1)
    assert cal.between(msk("2026-03-10T09:00"), msk("2026-03-06T17:00")) == timedelta(0)
    assert cal.between(msk("2026-03-07T00:00"), msk("2026-03-09T23:59")) == timedelta(0)
    assert cal.between(msk("2026-01-01T00:00"), msk("2027-01-01T00:00")) == timedelta(
        hours=247 * 9 - 4
    )


def test_next_working_moment(cal: WorkCalendar):
    assert cal.next_working_moment(msk("2026-03-05T12:00")) == msk("2026-03-05T12:00")
    assert cal.next_working_moment(msk("2026-03-05T17:30")) == msk("2026-03-06T08:30")
    assert cal.next_working_moment(msk("2026-03-06T23:00")) == msk("2026-03-10T08:30")
    assert cal.is_working_time(msk("2026-03-05T08:30"))
    assert not cal.is_working_time(msk("2026-03-05T17:30"))


def test_moments_in_other_zones_are_converted(cal: WorkCalendar):
    utc = datetime.fromisoformat("2026-03-05T05:00+00:00")  # 08:00 in Moscow
    due = cal.add(utc, timedelta(hours=1))
    assert due == msk("2026-03-05T09:30")
    assert due.tzinfo == MSK


def test_a_zone_with_daylight_saving_time():
    berlin = ZoneInfo("Europe/Berlin")
    cal = WorkCalendar(berlin)  # Russian holidays, German clocks: arithmetic only
    start = datetime(2026, 3, 27, 17, 0, tzinfo=berlin)  # CET, the Friday before the change
    due = cal.add(start, timedelta(hours=4))
    assert due == datetime(2026, 3, 30, 12, 0, tzinfo=berlin)
    assert due.utcoffset() == timedelta(hours=2)
    assert cal.between(start, due) == timedelta(hours=4)


# -- properties --------------------------------------------------------------------------

ZONES = [ZoneInfo(z) for z in ("Europe/Moscow", "Europe/Saratov", "Asia/Yekaterinburg")]
CALENDARS = {zone.key: WorkCalendar(zone) for zone in ZONES}
moments = st.builds(
    lambda zone, naive: naive.replace(tzinfo=zone),
    st.sampled_from(ZONES),
    st.datetimes(datetime(2024, 1, 1), datetime(2028, 12, 1)),
)
spans = st.timedeltas(timedelta(0), timedelta(hours=120))


@settings(max_examples=150, deadline=None)
@given(moments, spans, spans)
def test_adding_in_two_steps_equals_one_step(start: datetime, a: timedelta, b: timedelta):
    cal = CALENDARS[start.tzinfo.key]  # type: ignore[union-attr]
    assert cal.add(cal.add(start, a), b) == cal.add(start, a + b)


@settings(max_examples=150, deadline=None)
@given(moments, spans)
def test_between_inverts_add(start: datetime, delta: timedelta):
    cal = CALENDARS[start.tzinfo.key]  # type: ignore[union-attr]
    due = cal.add(start, delta)
    assert due >= start
    assert cal.between(start, due) == delta


@settings(max_examples=100, deadline=None)
@given(moments)
def test_next_working_moment_is_working_time(moment: datetime):
    cal = CALENDARS[moment.tzinfo.key]  # type: ignore[union-attr]
    nxt = cal.next_working_moment(moment)
    assert nxt >= moment
    assert cal.is_working_time(nxt)
    assert cal.between(moment, nxt) == timedelta(0)
