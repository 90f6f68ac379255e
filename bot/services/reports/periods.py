"""The periods reports cover: the digest's (the previous working day(s)), the rolling
windows asked for (/report неделя), and the local days people read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.domain.calendar import WorkCalendar

KINDS = {"week": 7, "month": 30, "quarter": 91}  # on-demand windows, in days with today
RATING_KINDS = ("week", "month")
# what staff may type instead: /report неделя, /rating месяц, /export квартал
KIND_WORDS = {"неделя": "week", "неделю": "week", "месяц": "month", "квартал": "quarter"}


def report_kind(args: str | None, default: str) -> str:
    """The period a command asks for, in English or in Russian («неделя»); "" if none."""
    said = (args or "").strip().lower().replace("ё", "е")
    if not said:
        return default
    return KIND_WORDS.get(said, said)
# -- periods -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A half-open UTC interval ``[start, end)`` with the local dates people read."""

    start: datetime
    end: datetime
    tz: Any

    @property
    def first_day(self) -> date:
        return self.start.astimezone(self.tz).date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(microseconds=1)).astimezone(self.tz).date()

    @property
    def days(self) -> list[date]:
        first, last = self.first_day, self.last_day
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    @property
    def length_days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    def previous(self) -> Period:
        """The period of the same length just before: what growth is measured against."""
        return Period(self.start - (self.end - self.start), self.start, self.tz)


def midnight(day: date, tz: Any) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def digest_period(today: date, calendar: WorkCalendar) -> Period:
    """From the previous working day to today: Monday's digest covers Friday to Sunday,
    so every day is reported once whatever the holidays."""
    start = today - timedelta(days=1)
    for _ in range(30):
        if calendar.is_working_day(start):
            break
        start -= timedelta(days=1)
    else:
        start = today - timedelta(days=1)
    return Period(midnight(start, calendar.tz), midnight(today, calendar.tz), calendar.tz)


def report_period(kind: str, now: datetime, tz: Any, scheduled: bool = False) -> Period:
    """A rolling window of ``KINDS[kind]`` days: up to now on demand (today included),
    up to today's midnight for the scheduled note."""
    today = now.astimezone(tz).date()
    if scheduled:
        return Period(midnight(today - timedelta(days=KINDS[kind]), tz), midnight(today, tz),
                      tz)
    return Period(midnight(today - timedelta(days=KINDS[kind] - 1), tz), now, tz)
