"""The Russian production calendar as data: what a year's government decree decides.

The ``holidays`` package knows the holidays and most transfers, but not the shortened
pre-holiday days, and a package upgrade may change what it says. For the years listed
here this data is authoritative; ``bot.domain.calendar`` falls back to ``holidays.RU``
(plus the Labour Code rules) for other years, and the tests check that both agree for
every year listed.

To add a year, once the government's decree «О переносе выходных дней в <год> году» is
published (usually in August–October of the year before) and the ``holidays`` package
knows it: copy a block below, list the decree's transfers, the Labour Code carry-overs of
that year (a holiday other than the New Year holidays that falls on a Saturday or Sunday
moves to the next working day, art. 112 part 2, unless the decree moves it elsewhere), and
the shortened days as the official production calendar shows them. Name only sources that
can be checked: the document the ``holidays`` package cites for the year's transfers (the
tests check the installed package still cites it), and where the shortened days were
checked, or leave ``shortened_checked`` empty. Never write down a decree's number or date
that nothing here can verify. Shortened days are data, not a rule: the Ministry of Labour
shortened the working Saturday 1 November 2025 but not the working Saturday 28 December
2024.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# Labour Code art. 112 part 1 (in force since 2013): the non-working public holidays.
FIXED_HOLIDAYS: dict[tuple[int, int], str] = {
    (1, 1): "Новогодние каникулы",
    (1, 2): "Новогодние каникулы",
    (1, 3): "Новогодние каникулы",
    (1, 4): "Новогодние каникулы",
    (1, 5): "Новогодние каникулы",
    (1, 6): "Новогодние каникулы",
    (1, 7): "Рождество Христово",
    (1, 8): "Новогодние каникулы",
    (2, 23): "День защитника Отечества",
    (3, 8): "Международный женский день",
    (5, 1): "Праздник Весны и Труда",
    (5, 9): "День Победы",
    (6, 12): "День России",
    (11, 4): "День народного единства",
}

# The New Year holidays and Christmas: when they fall on a weekend they do not carry over
# to the next working day; the government's decree moves those days off instead.
NO_CARRY_OVER_MONTH = 1


@dataclass(frozen=True)
class ProductionYear:
    """One year of the production calendar.

    ``transfers`` and ``carried`` are ``(from, to)`` pairs: the day off moves from
    ``from`` to ``to``, so ``to`` is a non-working day; when ``from`` is a Saturday or
    Sunday that is not itself a holiday, it becomes a working day (it is worked as
    ``to``'s weekday).
    """

    # the decree's text as the holidays package cites it for this year's transfers
    transfers_cited: str
    transfers: tuple[tuple[date, date], ...]  # by the decree
    carried: tuple[tuple[date, date], ...]  # by the Labour Code, art. 112 part 2
    shortened: tuple[date, ...]  # pre-holiday days, one hour shorter (art. 95)
    # where the shortened days (our own data) were checked; "" = not yet checked
    shortened_checked: str = ""


YEARS: dict[int, ProductionYear] = {
    2024: ProductionYear(
        transfers_cited="https://web.archive.org/web/20250417024116/"
        "https://www.consultant.ru/document/cons_doc_LAW_455140/",
        transfers=(
            (date(2024, 1, 6), date(2024, 5, 10)),
            (date(2024, 1, 7), date(2024, 12, 31)),
            (date(2024, 4, 27), date(2024, 4, 29)),
            (date(2024, 11, 2), date(2024, 4, 30)),
            (date(2024, 12, 28), date(2024, 12, 30)),
        ),
        carried=(),
        # the working Saturday 28 December is a full day: it replaces Monday 30 December
        shortened=(
            date(2024, 2, 22),
            date(2024, 3, 7),
            date(2024, 5, 8),
            date(2024, 6, 11),
            date(2024, 11, 2),
        ),
    ),
    2025: ProductionYear(
        transfers_cited="https://web.archive.org/web/20250414071812/"
        "https://www.consultant.ru/document/cons_doc_LAW_481586/",
        transfers=(
            (date(2025, 1, 4), date(2025, 5, 2)),
            (date(2025, 1, 5), date(2025, 12, 31)),
            (date(2025, 2, 23), date(2025, 5, 8)),
            (date(2025, 3, 8), date(2025, 6, 13)),
            (date(2025, 11, 1), date(2025, 11, 3)),
        ),
        carried=(),  # 23 February and 8 March fall on a weekend; the decree moves them
        shortened=(
            date(2025, 3, 7),
            date(2025, 4, 30),
            date(2025, 6, 11),
            date(2025, 11, 1),
        ),
        shortened_checked="consultant.ru «Производственный календарь на 2025 год»",
    ),
    2026: ProductionYear(
        transfers_cited="https://web.archive.org/web/20250927144157/"
        "https://www.consultant.ru/document/cons_doc_LAW_515170/",
        transfers=(
            (date(2026, 1, 3), date(2026, 1, 9)),
            (date(2026, 1, 4), date(2026, 12, 31)),
        ),
        carried=(
            (date(2026, 3, 8), date(2026, 3, 9)),
            (date(2026, 5, 9), date(2026, 5, 11)),
        ),
        # Friday 6 March is a full day: the next day is a Saturday, not the holiday
        shortened=(
            date(2026, 4, 30),
            date(2026, 5, 8),
            date(2026, 6, 11),
            date(2026, 11, 3),
        ),
        shortened_checked="glavaudit.org «Производственный календарь 2026» and the quarterly "
        "totals on 4dk.ru",
    ),
    2027: ProductionYear(
        transfers_cited="https://web.archive.org/web/20260919183121/"
        "https://www.consultant.ru/document/cons_doc_LAW_544706/",
        transfers=(
            (date(2027, 1, 2), date(2027, 11, 5)),
            (date(2027, 1, 3), date(2027, 12, 31)),
            (date(2027, 2, 20), date(2027, 2, 22)),
        ),
        carried=(
            (date(2027, 5, 1), date(2027, 5, 3)),
            (date(2027, 5, 9), date(2027, 5, 10)),
            (date(2027, 6, 12), date(2027, 6, 14)),
        ),
        shortened=(
            date(2027, 2, 20),
            date(2027, 4, 30),
            date(2027, 6, 11),
            date(2027, 11, 3),
        ),
    ),
}


def fixed_holidays(year: int) -> dict[date, str]:
    """The art. 112 holidays of ``year`` by date, weekends included."""
    return {date(year, month, day): name for (month, day), name in FIXED_HOLIDAYS.items()}


def is_fixed_holiday(day: date) -> bool:
    return (day.month, day.day) in FIXED_HOLIDAYS
