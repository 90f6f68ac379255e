"""The regional view: every municipality of the shared database side by side, ranked.

Each municipality is read through its own connection (``storage.Database(url, id)``),
so the regional view asks the very questions a municipality's own reports ask, and
row-level security keeps each answer to its own rows.
"""

from __future__ import annotations

import asyncio
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.config.region import RegionConfig
from bot.domain.calendar import WorkCalendar
from bot.domain.incident import OPEN_STATES
from bot.render import Renderer
from bot.services.reports.periods import Period, midnight
from storage import region, reports
from storage.db import Database

OPEN = tuple(sorted(state.value for state in OPEN_STATES))
REOPEN_ACTIONS = ("citizen_reply", "reopen")
DAYS = {"week": 7, "month": 30}


@dataclass
class Row:
    """One municipality's figures for the period."""

    id: str
    name: str
    volume: int = 0  # messages received
    answered: int = 0  # answers published
    on_time: float | None = None  # share of them published by the deadline
    median_hours: float | None = None  # working hours from receipt to the first answer
    overdue: int = 0  # open and past the deadline now
    reopens: int = 0
    satisfaction: float | None = None  # citizens' mean score, 1–5
    rated: int = 0
    quota: float | None = None  # share of (page, working day) with the daily floor reached
    place: int = 0


def period_of(kind: str, now: datetime, tz: Any) -> Period:
    """The last full week or 30 days up to today's midnight (local)."""
    today = now.astimezone(tz).date()
    return Period(midnight(today - timedelta(days=DAYS[kind]), tz), midnight(today, tz), tz)


async def municipality_row(url: str, municipality: Any, period: Period, now: datetime,
                           calendar: WorkCalendar, floor: int) -> Row:
    row = Row(municipality.id, municipality.name)
    db = await Database(url, municipality.id).open()
    try:
        conn = db.reader
        volume = await reports.volume(conn, period.start, period.end, now, REOPEN_ACTIONS, OPEN)
        handled = await reports.handled(conn, period.start, period.end)
        posts = await region.posts_published(conn, period.start, period.end)
    finally:
        await db.close()
    row.volume = sum(c.new for c in volume.values())
    row.overdue = sum(c.overdue for c in volume.values())
    row.reopens = sum(c.reopened for c in volume.values())
    row.answered = len(handled)
    if handled:
        row.on_time = sum(h.due_at is None or h.published_at <= h.due_at
                          for h in handled) / len(handled)
        row.median_hours = statistics.median(
            calendar.between(h.received_at, h.first_reply_at or h.published_at)
            .total_seconds() / 3600 for h in handled)
    scores = [h.rating for h in handled if h.rating is not None]
    if scores:
        row.satisfaction, row.rated = statistics.fmean(scores), len(scores)
    row.quota = _quota(posts, period, calendar, floor)
    return row


def _quota(posts: list[tuple[str, datetime]], period: Period, calendar: WorkCalendar,
           floor: int) -> float | None:
    days = [period.first_day + timedelta(days=n)
            for n in range((period.last_day - period.first_day).days + 1)]
    working = [day for day in days if calendar.is_working_day(day)]
    per_day: dict[tuple[str, date], int] = defaultdict(int)
    for page, at in posts:
        per_day[page, at.astimezone(period.tz).date()] += 1
    pages = {page for page, _ in posts}
    if not pages or not working:
        return None
    reached = sum(per_day[page, day] >= floor for page in pages for day in working)
    return reached / (len(pages) * len(working))


def rank(rows: list[Row]) -> list[Row]:
    """Best first: on-time share, then fewer overdue now, then quicker answers."""
    ordered = sorted(rows, key=lambda r: (
        -(r.on_time if r.on_time is not None else -1), r.overdue,
        r.median_hours if r.median_hours is not None else float("inf"), r.name))
    for place, row in enumerate(ordered, 1):
        row.place = place
    return ordered


async def collect(config: RegionConfig, kind: str, now: datetime) -> tuple[Period, list[Row]]:
    period = period_of(kind, now, config.region.tz)
    calendar = WorkCalendar(config.region.tz)
    rows = [await municipality_row(config.storage.url, m, period, now, calendar,
                                   config.region.posts_per_day)
            for m in config.municipalities]
    return period, rank(rows)


def text(render: Renderer, config: RegionConfig, kind: str, period: Period,
         rows: list[Row]) -> str:
    return render.render("region_report.j2", region=config.region.name, kind=kind,
                         first=period.start, last=period.end - timedelta(seconds=1), rows=rows)


def chart_png(rows: list[Row], title: str) -> bytes:
    """On-time share per municipality, in the ranking's order (matplotlib imported here)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, max(3.0, 0.32 * len(rows) + 1.2)), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    shown = list(reversed(rows))
    values = [100 * (r.on_time or 0) for r in shown]
    axes.barh([r.name for r in shown], values, color="#4c78a8")
    for y, (value, row) in enumerate(zip(values, shown, strict=True)):
        axes.annotate(f"{value:.0f}% · {row.volume}", (value, y), va="center", fontsize=8,
                      xytext=(3, 0), textcoords="offset points")
    axes.set_xlim(0, 115)
    axes.set_title(title, fontsize=11)
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(axis="y", labelsize=8)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def workbook(rows: list[Row], headers: list[str]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for r in rows:
        sheet.append([r.place, r.name, r.volume, r.answered,
                      None if r.on_time is None else round(100 * r.on_time, 1),
                      None if r.median_hours is None else round(r.median_hours, 1),
                      r.overdue, r.reopens,
                      None if r.satisfaction is None else round(r.satisfaction, 2),
                      None if r.quota is None else round(100 * r.quota, 1)])
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def files(render: Renderer, rows: list[Row], title: str) -> tuple[bytes, bytes]:
    """The chart and the workbook, drawn in a worker thread."""
    headers = render.text("region.j2:headers").split("|")
    return (await asyncio.to_thread(chart_png, rows, title),
            await asyncio.to_thread(workbook, rows, headers))
