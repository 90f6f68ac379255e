"""The state's calendar of a year, before any municipality's overrides: the production
calendar data (``bot.domain.production_calendar``) for the years it lists, else the
``holidays`` package (``holidays.RU``) plus the Labour Code rules it cannot know — the
carry-over of a weekend holiday (art. 112) and the shortened day before a holiday
(art. 95). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

import holidays

from bot.domain.production_calendar import (
    FIXED_HOLIDAYS,
    NO_CARRY_OVER_MONTH,
    YEARS,
    fixed_holidays,
    is_fixed_holiday,
)

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class NationalYear:
    """What the state decides for a year, before any municipality's overrides.

    Shared by every calendar (cached), hence read-only mappings.
    """

    year: int
    holidays: Mapping[date, str]  # Labour Code art. 112 holidays, weekends included
    days_off: Mapping[date, str]  # every public non-working day: holidays and transfers
    working_weekends: Mapping[date, date | None]  # Sat/Sun worked -> the day worked as
    shortened: frozenset[date]
    transfers: tuple[tuple[date | None, date], ...]  # (from, to); from None = unknown
    source: str  # where the data came from, only what can be checked
    from_data: bool  # False: from the holidays package and rules, check the decree
    provisional: bool = True  # no decree is known for the year's transfers yet


def _transfer_name(source: date | None) -> str:
    if source is None:
        return "Перенесённый выходной день"
    return f"Выходной день (перенесён с {source:%d.%m.%Y})"


@lru_cache(maxsize=64)
def national_year(year: int) -> NationalYear:
    """The production calendar of ``year``: decree data if listed, else the package."""
    return _from_data(year) if year in YEARS else _from_package(year)


def _from_data(year: int) -> NationalYear:
    data = YEARS[year]
    fixed = fixed_holidays(year)
    days_off = dict(fixed)
    working: dict[date, date | None] = {}
    pairs = (*data.transfers, *data.carried)
    for source, target in pairs:
        days_off.setdefault(target, _transfer_name(source))
        if source.weekday() >= 5 and source not in fixed:
            working[source] = target
    return NationalYear(
        year=year,
        holidays=MappingProxyType(fixed),
        days_off=MappingProxyType(days_off),
        working_weekends=MappingProxyType(working),
        shortened=frozenset(data.shortened),
        transfers=tuple(sorted(pairs, key=lambda pair: pair[1])),
        source=(
            f"transfers: bot/domain/production_calendar.py, the same as the holidays "
            f"package's holidays.RU, which cites {data.transfers_cited} for them; "
            "shortened days: bot/domain/production_calendar.py, "
            + (f"checked against {data.shortened_checked}" if data.shortened_checked else
               "not yet checked against a published production calendar")
        ),
        from_data=True,
        provisional=not data.transfers_cited,
    )


def _from_package(year: int) -> NationalYear:
    """Fallback: ``holidays.RU`` plus the Labour Code rules it does not apply itself."""
    package = holidays.RU(years=year, language="ru")
    days_off = {day: str(name) for day, name in package.items() if day.year == year}
    working: dict[date, date | None] = {
        day: None for day in package.weekend_workdays if day.year == year
    }
    transfers: list[tuple[date | None, date]] = [
        (None, day) for day in days_off if not is_fixed_holiday(day)
    ]
    knows_decree = bool(transfers or working)
    if not knows_decree and year > max(YEARS, default=0):
        # art. 112 part 2: a weekend holiday (but the New Year ones) moves to the next
        # working day; the package has not heard of this year's decree yet
        for holiday in sorted(fixed_holidays(year)):
            if holiday.month == NO_CARRY_OVER_MONTH or holiday.weekday() < 5:
                continue
            target = holiday + _DAY
            while target.weekday() >= 5 or target in days_off:
                target += _DAY
            days_off[target] = _transfer_name(holiday)
            transfers.append((holiday, target))
    fixed = fixed_holidays(year)

    def works(day: date) -> bool:
        return day in working or (day.weekday() < 5 and day not in days_off)

    # art. 95: the working day right before a non-working holiday is one hour shorter
    shortened = frozenset(
        day
        for day in days_of_year(year)
        if works(day) and ((day + _DAY).month, (day + _DAY).day) in FIXED_HOLIDAYS
    )
    source = (
        f"holidays {holidays.__version__} (holidays.RU) and the Labour Code rules "
        f"(art. 112 carry-overs, art. 95 shortened days); no decree for {year} in "
        "bot/domain/production_calendar.py"
    )
    return NationalYear(
        year=year,
        holidays=MappingProxyType(fixed),
        days_off=MappingProxyType(days_off),
        working_weekends=MappingProxyType(working),
        shortened=shortened,
        transfers=tuple(sorted(transfers, key=lambda pair: pair[1])),
        source=source,
        from_data=False,
        provisional=True,
    )


def days_of_year(year: int) -> Iterator[date]:
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += _DAY
