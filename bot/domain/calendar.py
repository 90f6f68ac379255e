"""Working time of a municipality: office hours, Russian holidays, transfers, short days.

The decrees judge the МЦУ in working hours (DESIGN.md, «Deadlines»), so every SLA clock
runs on this calendar. Which days are worked comes from, in order of precedence:

1. the municipality's config: ``extra_holidays`` (regional holidays, days off),
   ``extra_working_days``, ``shortened_days``;
2. the production calendar data (``bot.domain.production_calendar``) for the years it
   lists: the Labour Code holidays, the decree's transfers, the carry-overs and the
   shortened pre-holiday days;
3. for other years, the ``holidays`` package (``holidays.RU``: holidays, transfers and
   working weekend days), plus the Labour Code rules for what it cannot know: the
   carry-over of a weekend holiday (art. 112) for years after the newest decree, and the
   shortened day before a holiday (art. 95);
4. the office hours of the weekday (default Monday–Friday 08:30–17:30, no break).

A working Saturday or Sunday uses the office hours of the weekday it is worked as (the
day the day off moved to), or Friday's when that is unknown. A shortened day ends one
hour earlier.

Pure: no I/O, no wall clock. Every moment must be timezone-aware; results are in the
calendar's time zone. Arithmetic is done in UTC, so zones with daylight saving time work
too (Russian zones have none since 2014).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import WEEKDAYS, Calendar, Municipality, parse_hhmm
from bot.domain.national_calendar import days_of_year, national_year

OfficeHours = Mapping[int, Sequence[tuple[time, time]]]

DEFAULT_OFFICE_HOURS: dict[int, tuple[tuple[time, time], ...]] = {
    weekday: ((time(8, 30), time(17, 30)),) for weekday in range(5)
}
NORM_DAY_HOURS = 8  # a 40-hour week: the production calendar's norm
SHORTENED_BY = timedelta(hours=1)
FRIDAY = 4
_GIVE_UP_DAYS = 3660  # this many days in a row without working time: the hours are wrong
_DAY = timedelta(days=1)


def _seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


# -- the municipality's calendar ---------------------------------------------------------


@dataclass(frozen=True)
class MonthNorm:
    month: int
    working_days: int
    hours: int


@dataclass(frozen=True)
class YearReport:
    """The production-calendar report of a year (``mcu-hub calendar``)."""

    year: int
    months: tuple[MonthNorm, ...]
    working_days: int
    hours: int
    holidays: tuple[tuple[date, str], ...]
    transfers: tuple[tuple[date | None, date], ...]
    working_weekends: tuple[date, ...]
    shortened: tuple[date, ...]
    source: str
    from_data: bool
    provisional: bool


class WorkCalendar:
    """Working days and hours of one municipality; see the module docstring."""

    def __init__(
        self,
        tz: ZoneInfo | str = "Europe/Moscow",
        office_hours: OfficeHours = DEFAULT_OFFICE_HOURS,
        extra_holidays: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        shortened_days: Iterable[date] = (),
    ) -> None:
        """``office_hours``: weekday (0 = Monday) -> intervals; gaps between them are breaks."""
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        hours: dict[int, tuple[tuple[int, int], ...]] = {}
        for weekday, intervals in office_hours.items():
            if weekday not in range(7):
                raise ValueError(f"office hours: weekday {weekday} is not 0 (Monday)..6")
            spans = sorted((_seconds(start), _seconds(end)) for start, end in intervals)
            for i, (start, end) in enumerate(spans):
                if start >= end:
                    raise ValueError(f"office hours: weekday {weekday}: an interval ends first")
                if i and start < spans[i - 1][1]:
                    raise ValueError(f"office hours: weekday {weekday}: intervals overlap")
            hours[weekday] = tuple(spans)
        self._hours = hours
        self._holidays = frozenset(extra_holidays)
        self._working = frozenset(extra_working_days)
        self._shortened = frozenset(shortened_days)
        self._utc_cache: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    def __repr__(self) -> str:
        return f"WorkCalendar(tz={self.tz.key!r})"

    @classmethod
    def from_config(cls, municipality: Municipality, calendar: Calendar) -> WorkCalendar:
        """The calendar of the config's ``[municipality]`` time zone and ``[calendar]``."""
        office_hours: dict[int, list[tuple[time, time]]] = {}
        for name, intervals in calendar.office_hours.items():
            spans = []
            for interval in intervals:
                start, _, end = interval.partition("-")
                spans.append((parse_hhmm(start), parse_hhmm(end)))
            office_hours[WEEKDAYS.index(name)] = spans
        return cls(
            tz=municipality.tz,
            office_hours=office_hours,
            extra_holidays=tuple(calendar.extra_holidays),
            extra_working_days=tuple(calendar.extra_working_days),
            shortened_days=tuple(calendar.shortened_days),
        )

    # -- days ----------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """A day with office hours that no holiday, transfer or override makes a day off."""
        if day in self._holidays:
            return False
        if day in self._working:
            return True
        national = national_year(day.year)
        if day in national.days_off:
            return False
        if day in national.working_weekends:
            return True
        return bool(self._hours.get(day.weekday()))

    def is_shortened(self, day: date) -> bool:
        """A working day one hour shorter: pre-holiday days of the production calendar."""
        if not self.is_working_day(day):
            return False
        return day in self._shortened or day in national_year(day.year).shortened

    def _day_spans(self, day: date) -> tuple[tuple[int, int], ...]:
        """Office hours of a working day as seconds since midnight, shortening applied."""
        if not self.is_working_day(day):
            return ()
        spans = self._hours.get(day.weekday(), ())
        if not spans:
            # a working weekend day: worked as the day the day off moved to
            worked_as = national_year(day.year).working_weekends.get(day)
            if worked_as is not None:
                spans = self._hours.get(worked_as.weekday(), ())
            if not spans:
                spans = self._hours.get(FRIDAY) or next(
                    (self._hours[d] for d in range(7) if self._hours.get(d)), ()
                )
        if self.is_shortened(day):
            cut = int(SHORTENED_BY.total_seconds())
            trimmed = list(spans)
            while cut and trimmed:
                start, end = trimmed[-1]
                take = min(cut, end - start)
                cut -= take
                if end - take > start:
                    trimmed[-1] = (start, end - take)
                else:
                    trimmed.pop()
            spans = tuple(trimmed)
        return spans

    def intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working intervals of ``day``, aware, in the calendar's time zone."""
        return [
            (start.astimezone(self.tz), end.astimezone(self.tz)) for start, end in self._utc(day)
        ]

    def _utc(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        cached = self._utc_cache.get(day)
        if cached is None:
            midnight = datetime(day.year, day.month, day.day)
            cached = tuple(
                (self._local_to_utc(midnight, start), self._local_to_utc(midnight, end))
                for start, end in self._day_spans(day)
            )
            self._utc_cache[day] = cached
        return cached

    def _local_to_utc(self, midnight: datetime, seconds: int) -> datetime:
        wall = midnight + timedelta(seconds=seconds)
        return wall.replace(tzinfo=self.tz).astimezone(UTC)

    # -- moments -------------------------------------------------------------------------

    def _check(self, moment: datetime, name: str = "moment") -> None:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got {moment.isoformat()}")

    def _days_from(self, moment: datetime) -> Iterator[date]:
        """Local days from ``moment``'s on; stops when none has had hours for ten years."""
        day = moment.astimezone(self.tz).date()
        idle = 0
        while idle < _GIVE_UP_DAYS:
            yield day
            idle = 0 if self._utc(day) else idle + 1
            day += _DAY
        raise ValueError("no working time in ten years: check the office hours")

    def is_working_time(self, moment: datetime) -> bool:
        self._check(moment)
        at = moment.astimezone(UTC)
        day = moment.astimezone(self.tz).date()
        return any(start <= at < end for start, end in self._utc(day))

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself in working time, else the start of the next working interval."""
        self._check(moment)
        at = moment.astimezone(UTC)
        for day in self._days_from(moment):
            for start, end in self._utc(day):
                if end > at:
                    return max(start, at).astimezone(self.tz)
        raise AssertionError("unreachable")  # pragma: no cover

    def add(self, start: datetime, delta: timedelta) -> datetime:
        """The moment ``delta`` of working time after ``start``.

        A start outside working time begins at the next working moment. The result may be
        the end of an interval (17:30), not the next morning: that is when the time is up.
        Adding zero returns ``start`` unchanged, so that adding in steps equals one step.
        """
        self._check(start, "start")
        if delta < timedelta(0):
            raise ValueError("cannot add negative working time")
        if not delta:
            return start.astimezone(self.tz)
        at = start.astimezone(UTC)
        left = delta
        for day in self._days_from(start):
            for begin, end in self._utc(day):
                if end <= at:
                    continue
                begin = max(begin, at)
                if left <= end - begin:
                    return (begin + left).astimezone(self.tz)
                left -= end - begin
        raise AssertionError("unreachable")  # pragma: no cover

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Working time from ``a`` to ``b``; zero when ``b`` is not after ``a``."""
        self._check(a, "a")
        self._check(b, "b")
        lo, hi = a.astimezone(UTC), b.astimezone(UTC)
        total = timedelta(0)
        if hi <= lo:
            return total
        day = a.astimezone(self.tz).date()
        last = b.astimezone(self.tz).date()
        while day <= last:
            for begin, end in self._utc(day):
                overlap = min(end, hi) - max(begin, lo)
                if overlap > timedelta(0):
                    total += overlap
            day += _DAY
        return total

    # -- the production-calendar report ---------------------------------------------------

    def working_days(self, year: int, month: int) -> int:
        day = date(year, month, 1)
        count = 0
        while day.month == month:
            count += self.is_working_day(day)
            day += _DAY
        return count

    def norm_hours(self, year: int, month: int) -> int:
        """The month's norm at a 40-hour week: 8 h a working day, 1 h less a shortened day."""
        day = date(year, month, 1)
        hours = 0
        while day.month == month:
            if self.is_working_day(day):
                hours += NORM_DAY_HOURS - self.is_shortened(day)
            day += _DAY
        return hours

    def report(self, year: int) -> YearReport:
        """Working days and norm hours by month, and the year's special days."""
        national = national_year(year)
        months = tuple(
            MonthNorm(month, self.working_days(year, month), self.norm_hours(year, month))
            for month in range(1, 13)
        )
        holidays_ = dict(national.holidays)
        for day in self._holidays:
            if day.year == year:
                holidays_.setdefault(day, "Нерабочий день (настройки муниципалитета)")
        for day in self._working:
            holidays_.pop(day, None)
        days = list(days_of_year(year))
        return YearReport(
            year=year,
            months=months,
            working_days=sum(m.working_days for m in months),
            hours=sum(m.hours for m in months),
            holidays=tuple(sorted(holidays_.items())),
            transfers=national.transfers,
            working_weekends=tuple(
                day
                for day in days
                if not self._hours.get(day.weekday()) and self.is_working_day(day)
            ),
            shortened=tuple(day for day in days if self.is_shortened(day)),
            source=national.source,
            from_data=national.from_data,
            provisional=national.provisional,
        )
