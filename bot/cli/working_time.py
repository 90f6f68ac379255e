"""``mcu-hub deadline`` and ``mcu-hub calendar``: «when is it due?» and the year's norms.

Without ``-c`` the decrees' defaults apply: Europe/Moscow, Monday–Friday 08:30–17:30,
the default SLA policies. With ``-c`` the municipality's time zone, calendar overrides
and policies; ``--tz`` overrides the time zone either way. Bad input gives one line on
stderr naming the argument, and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import Calendar, ConfigError, Municipality, Sla, SlaPolicy, load_config
from bot.domain.calendar import WorkCalendar, YearReport
from bot.domain.sla import deadline

DEFAULT_TZ = "Europe/Moscow"
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAY = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class UsageError(Exception):
    """Bad input: ``argument: what is wrong``; exit code 2."""


def add_parsers(subparsers: Any) -> None:
    """Add the ``deadline`` and ``calendar`` subcommands to the CLI's subparsers."""
    dl = subparsers.add_parser(
        "deadline",
        help="when a message that came at a given moment is due",
        description="Print the deadline as ISO 8601 with the UTC offset.",
    )
    dl.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="MOMENT",
        help="when the message came, ISO 8601 (e.g. 2026-03-06T17:00; no offset = local)",
    )
    how = dl.add_mutually_exclusive_group()
    how.add_argument("--policy", help="an SLA policy name (default: sla.default_policy)")
    how.add_argument("--hours", help="ad-hoc number of working hours instead of a policy")
    dl.add_argument("--tz", help=f"time zone (default: the config's, else {DEFAULT_TZ})")
    dl.add_argument("-c", "--config", help="config file (default: the decrees' defaults)")
    dl.set_defaults(func=run_deadline)

    cal = subparsers.add_parser(
        "calendar",
        help="the production calendar of a year: working days and hours by month",
        description="Working days and norm hours (40-hour week) by month, the year's "
        "totals, holidays, transfers and shortened days.",
    )
    cal.add_argument("--year", required=True, help="the year, e.g. 2026")
    cal.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cal.add_argument("-c", "--config", help="config file: apply its calendar overrides")
    cal.set_defaults(func=run_calendar)


# -- shared ------------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> tuple[Municipality, Calendar, Sla]:
    if args.config:
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            raise UsageError(f"--config: {'; '.join(exc.problems)}") from None
        municipality, calendar, sla = config.municipality, config.calendar, config.sla
    else:
        municipality, calendar, sla = Municipality(name="-"), Calendar(), Sla()
    tz = getattr(args, "tz", None)
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"--tz: unknown time zone {tz!r}") from None
        municipality = municipality.model_copy(update={"timezone": tz})
    return municipality, calendar, sla


def _fail(command: str, error: UsageError) -> int:
    print(f"mcu-hub {command}: {error}", file=sys.stderr)
    return 2


# -- deadline ----------------------------------------------------------------------------


def parse_moment(text: str, tz: ZoneInfo) -> datetime:
    """ISO 8601; without an offset it is local time in ``tz``."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--from: not a date and time {text!r} (expected ISO 8601, e.g. 2026-03-06T17:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def _policy(args: argparse.Namespace, sla: Sla) -> SlaPolicy:
    if args.hours is not None:
        try:
            hours = float(args.hours)
        except ValueError:
            hours = math.nan
        if not (hours > 0 and math.isfinite(hours)):
            raise UsageError(f"--hours: expected a positive number of hours, got {args.hours!r}")
        return SlaPolicy(kind="working_hours", hours=hours)
    name = args.policy or sla.default_policy
    if name not in sla.policies:
        known = ", ".join(sla.policies)
        raise UsageError(f"--policy: unknown policy {name!r} (known: {known})")
    return sla.policies[name]


def compute_deadline(args: argparse.Namespace) -> datetime:
    municipality, calendar, sla = _settings(args)
    cal = WorkCalendar.from_config(municipality, calendar)
    start = parse_moment(args.start, cal.tz)
    return deadline(_policy(args, sla), start, cal)


def run_deadline(args: argparse.Namespace) -> int:
    """Print the deadline; 2 on bad input."""
    try:
        due = compute_deadline(args)
    except UsageError as exc:
        return _fail("deadline", exc)
    print(due.isoformat())
    return 0


# -- calendar ----------------------------------------------------------------------------


def _year(text: str) -> int:
    try:
        year = int(text)
    except ValueError:
        year = 0
    if not 1992 <= year <= 2100:
        raise UsageError(f"--year: expected a year from 1992 to 2100, got {text!r}")
    return year


def report_json(report: YearReport) -> dict[str, Any]:
    """The ``--json`` document."""
    return {
        "year": report.year,
        "months": [
            {"month": m.month, "working_days": m.working_days, "hours": m.hours}
            for m in report.months
        ],
        "working_days": report.working_days,
        "hours": report.hours,
        "holidays": [{"date": day.isoformat(), "name": name} for day, name in report.holidays],
        "transfers": [
            {"from": source.isoformat() if source else None, "to": target.isoformat()}
            for source, target in report.transfers
        ],
        "working_weekends": [day.isoformat() for day in report.working_weekends],
        "shortened": [day.isoformat() for day in report.shortened],
        "source": report.source,
        "provisional": report.provisional,
    }


def _day(day: date) -> str:
    return f"{day.isoformat()} {WEEKDAY[day.weekday()]}"


def format_report(report: YearReport) -> str:
    """The table ``calendar`` prints."""
    lines = [f"Production calendar {report.year}, 5-day 40-hour week", "Source:"]
    lines += [f"  {part}" for part in report.source.split("; ")]
    if report.provisional:
        lines.append(f"Provisional: the decree on the transfers of days off in {report.year} "
                     "is not known here yet; check the transfers and shortened days against "
                     "it once it is published.")
    lines += ["", f"{'month':<10} {'working days':>12} {'hours':>6}"]
    for m in report.months:
        lines.append(f"{MONTHS[m.month - 1]:<10} {m.working_days:>12} {m.hours:>6}")
    lines.append(f"{'total':<10} {report.working_days:>12} {report.hours:>6}")
    lines += ["", "Holidays:"]
    lines += [f"  {_day(day)}  {name}" for day, name in report.holidays]
    lines += ["", "Transfers of days off:"]
    for source, target in report.transfers:
        origin = _day(source) if source else "(from the holidays package)"
        lines.append(f"  {origin} -> {_day(target)}")
    if not report.transfers:
        lines.append("  none")
    lines += ["", "Working weekend days:"]
    lines += [f"  {_day(day)}" for day in report.working_weekends] or ["  none"]
    lines += ["", "Shortened days (one hour shorter):"]
    lines += [f"  {_day(day)}" for day in report.shortened] or ["  none"]
    return "\n".join(lines) + "\n"


def run_calendar(args: argparse.Namespace) -> int:
    """Print the year's production calendar; 2 on bad input."""
    try:
        year = _year(args.year)
        municipality, calendar, _ = _settings(args)
    except UsageError as exc:
        return _fail("calendar", exc)
    report = WorkCalendar.from_config(municipality, calendar).report(year)
    if args.json:
        print(json.dumps(report_json(report), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(format_report(report))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point (``python -m bot.cli.working_time deadline ...``)."""
    parser = argparse.ArgumentParser(prog="mcu-hub")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
