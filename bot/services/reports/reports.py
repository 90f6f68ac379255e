"""Reports for the head: the daily digest, ratings, the analytical note, the XLSX export —
as texts that fit a Telegram message, sent through the staff workspace.

Scheduled sends (``Reports.tick``) look at the domain clock and claim a cursor per day
(per week for the note), so moving the sandbox clock sends them, and a restart sends
nothing twice.
"""

from __future__ import annotations

import asyncio
import html
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.config import WEEKDAYS, parse_hhmm
from bot.domain.limits import TG_CAPTION_MAX, TG_TEXT_MAX, telegram_len
from bot.services.hub import Hub
from bot.services.reports.drawing import workbook
from bot.services.reports.figures import Rating, Summary
from bot.services.reports.periods import Period, digest_period, report_period
from bot.services.reports.summaries import Summaries
from storage import cursors, external, reports
from storage.db import Conn
from storage.incidents import iso
from storage.reports import ExportRow

ALLOWED_ROLES = frozenset({"head", "curator", "manager", "coordinator"})
SINCE = "reports:since"  # first tick of this database: no digest for a moment before it
LIST_LIMITS = (12, 8, 5, 3, 1, 0)  # list lengths tried until a message fits Telegram
TICK_SECONDS = 3.0

# -- text --------------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")


def visible_len(text: str) -> int:
    """What Telegram counts of an HTML message: the text after the markup is parsed."""
    return telegram_len(html.unescape(_TAG.sub("", text)))


def fit(render: Callable[[int], str], limit: int = TG_TEXT_MAX) -> str:
    """The longest rendering that fits: lists are cut shorter («…и ещё N») until it does."""
    text = ""
    for n in LIST_LIMITS:
        text = render(n)
        if visible_len(text) <= limit:
            return text
    plain = html.unescape(_TAG.sub("", text))
    return html.escape(plain[: limit - 1] + "…")



@dataclass
class Reply:
    """What a command answers: a message, and maybe a chart or a workbook."""

    text: str
    chart: bytes | None = None
    chart_caption: str = ""
    document: bytes | None = None
    filename: str = ""

class Reports(Summaries):
    def __init__(self, hub: Hub):
        super().__init__(hub)
        self._since: datetime | None = None

    # -- texts -------------------------------------------------------------------------

    def _context(self, summary: Summary) -> dict[str, Any]:
        previous = summary.period.previous()
        return {"municipality": self.hub.config.municipality.name, "s": summary,
                "period": self.period_label(summary.period),
                "previous": self.period_label(previous),
                "previous_days": math.ceil(previous.length_days - 1e-9),
                "previous_first": f"{previous.first_day:%d.%m}",
                "previous_last": f"{previous.last_day:%d.%m}"}

    def digest_text(self, summary: Summary) -> str:
        if summary.quiet:
            return self.hub.render.html("reports.j2:digest_quiet",
                                        municipality=self.hub.config.municipality.name,
                                        period=self.period_label(summary.period))
        context = self._context(summary)
        return fit(lambda n: self.page("digest/daily.html.j2", limit=n, **context))

    @staticmethod
    def _quiet_note(summary: Summary) -> bool:
        """Nothing in the period nor in the one before: a note of one line."""
        return summary.quiet and not summary.before.new

    def note_text(self, summary: Summary) -> str:
        if self._quiet_note(summary):
            return self.hub.render.html("reports.j2:note_quiet",
                                        municipality=self.hub.config.municipality.name,
                                        period=self.period_label(summary.period))
        context = self._context(summary)
        return fit(lambda n: self.page("digest/weekly.html.j2", limit=n, **context))

    async def digest(self, now: datetime) -> Reply:
        """Today's digest: the previous working day(s) and what is open now."""
        period = digest_period(now.astimezone(self.tz).date(), self.hub.calendar)
        summary = await self.summary(period, now)
        reply = Reply(self.digest_text(summary))
        if not summary.quiet:
            week = Period(period.end - timedelta(days=7), period.end, self.tz)
            reply.chart = await self.chart(week)
            reply.chart_caption = self._caption(week)
        return reply

    def _caption(self, period: Period) -> str:
        caption = self.phrase("chart_caption", municipality=self.hub.config.municipality.name,
                              period=self.period_label(period))
        return html.escape(caption[:TG_CAPTION_MAX])

    async def note(self, kind: str, now: datetime, scheduled: bool = False) -> Reply:
        """The analytical note; on demand with its chart (the scheduled one goes beside
        the digest, which carries the same week's chart)."""
        async with self._lock:
            period = report_period(kind, now, self.tz, scheduled)
            summary = await self.summary(period, now, note=True)
            reply = Reply(self.note_text(summary))
            if not scheduled and not self._quiet_note(summary):
                reply.chart = await self.chart(period)
                reply.chart_caption = self._caption(period)
            return reply

    async def rating(self, kind: str, now: datetime) -> Reply:
        period = report_period(kind, now, self.tz)
        blocks, executors = await self.ratings(period)
        label = self.period_label(period)
        if not blocks:
            return Reply(self.hub.render.html("reports.j2:rating_quiet", period=label))
        return Reply(fit(lambda n: self.page(
            "digest/rating.html.j2", period=label, blocks=blocks, executors=executors,
            limit=n, municipality=self.hub.config.municipality.name)))

    async def export(self, kind: str, now: datetime) -> Reply:
        """An XLSX for the regional centre: the period's incidents and both ratings."""
        async with self._lock:
            period = report_period(kind, now, self.tz)
            rows = await reports.exported(self.hub.db.reader, period.start, period.end)
            extras = await external.export_extras(self.hub.db.reader, [r.id for r in rows])
            blocks, executors = await self.ratings(period)
            columns = self.phrase("xlsx_incident_columns").split("|") + self.hub.render.text(
                "people.j2:xlsx_extra_columns").split("|")
            sheets = [
                (self.phrase("xlsx_incidents"), columns,
                 [self._incident_cells(row) + self._extra_cells(extras.get(row.id))
                  for row in rows]),
                (self.phrase("xlsx_blocks"),
                 self.phrase("xlsx_rating_columns", what=self.phrase("xlsx_block")).split("|"),
                 [self._rating_cells(r) for r in blocks]),
                (self.phrase("xlsx_executors"),
                 self.phrase("xlsx_rating_columns", what=self.phrase("xlsx_executor")).split("|"),
                 [self._rating_cells(r) for r in executors]),
            ]
            data = await asyncio.to_thread(workbook, sheets)
        label = self.period_label(period)
        first, last = period.first_day, period.last_day
        return Reply(
            html.escape(self.phrase("export_caption",
                                    municipality=self.hub.config.municipality.name,
                                    period=label, count=len(rows))[:TG_CAPTION_MAX]),
            document=data, filename=f"mcu-{kind}-{first:%Y%m%d}-{last:%Y%m%d}.xlsx",
        )

    def _local(self, moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.astimezone(self.tz).replace(tzinfo=None)

    def _incident_cells(self, row: ExportRow) -> list[Any]:
        published, due = row.published_at, row.due_at
        on_time = "" if published is None else self.phrase(
            "yes" if due is None or published <= due else "no")
        return [
            row.id, self._local(row.received_at), self.source_name(row.source),
            row.block, self.phrase("priority_fast" if row.priority == "fast"
                                   else "priority_normal"),
            self.hub.render.text(f"state_{row.state}"),
            self.hub.staff_name(row.assignee_id) if row.assignee_id is not None else "",
            self._local(row.due_at), self._local(row.first_reply_at),
            self._local(row.published_at), on_time, row.returns, row.reopens,
            row.rating, row.text, row.link or "",
        ]

    def _extra_cells(self, extra: external.ExportExtras | None) -> list[Any]:
        """The answer, the external system's number and category, the result, and when
        each step was taken (ИМ/ПОС reporting)."""
        if extra is None:
            return [""] * 9
        render = self.hub.render
        return [
            extra.answer_text,
            render.text(f"source_forward_{extra.system}") if extra.system else "",
            extra.number, extra.category,
            render.text(f"people.j2:result_{extra.result}") if extra.result else "",
            self._local(extra.assigned_at), self._local(extra.answered_at),
            self._local(extra.approved_at), self._local(extra.closed_at),
        ]

    @staticmethod
    def _rating_cells(r: Rating) -> list[Any]:
        share = None if r.on_time_share is None else round(100 * r.on_time_share)
        rounded = [None if v is None else round(v, 2)
                   for v in (r.first_reply_hours, r.publish_hours, r.rating)]
        return [r.name, r.handled, r.on_time, share, rounded[0], rounded[1], r.returns,
                r.reopens, rounded[2], r.rated]

    # -- sending -----------------------------------------------------------------------

    async def queue(self, conn: Conn, chat_id: int, key: str, reply: Reply) -> None:
        """Through the outbox: the message, then its chart; a workbook goes alone, the
        text as its caption."""
        await self.hub.workspace.send_report(
            conn, chat_id, reply.text, key=key, chart=reply.chart,
            chart_caption=reply.chart_caption, document=reply.document, filename=reply.filename)

    async def answer(self, chat_id: int, message_id: int, reply: Reply) -> None:
        async with self.hub.db.tx() as conn:
            await self.queue(conn, chat_id, f"reply:{chat_id}:{message_id}", reply)
        self.hub.wake_outbox()

    def may_ask(self, user_id: int) -> bool:
        member = self.hub.config.staff_by_id(user_id)
        return member is not None and bool(ALLOWED_ROLES & set(member.roles))

    # -- the schedule ------------------------------------------------------------------

    def weekly_target(self, today: date) -> date:
        """The latest configured weekday on or before today: the note it owes."""
        wanted = WEEKDAYS.index(self.hub.config.digest.weekly_day)
        return today - timedelta(days=(today.weekday() - wanted) % 7)

    async def since(self) -> datetime:
        """When this database first ran the schedule: nothing is owed from before."""
        if self._since is None:
            value = await cursors.get(self.hub.db.reader, SINCE)
            if value is None:
                value = iso(self.hub.clock.now())
                async with self.hub.db.tx() as conn:
                    await cursors.put(conn, SINCE, value)
            self._since = datetime.fromisoformat(value)
        return self._since

    async def tick(self) -> None:
        """On a working day from the digest time: the digest once a day, the note once
        a week (on the first working day from ``weekly_day``)."""
        config = self.hub.config.digest
        if not config.recipients:
            return
        since = await self.since()
        now = self.hub.clock.now()
        local = now.astimezone(self.tz)
        today = local.date()
        moment = datetime.combine(today, parse_hhmm(config.time), self.tz)
        if local < moment or moment <= since or not self.hub.calendar.is_working_day(today):
            return
        await self._send_once(f"digest:{today}", lambda: self.digest(now))
        target = self.weekly_target(today)
        if datetime.combine(target, moment.timetz()) > since:
            await self._send_once(f"weekly:{target}",
                                  lambda: self.note("week", now, scheduled=True))

    async def _send_once(self, name: str, make: Callable[[], Any]) -> None:
        if await cursors.get(self.hub.db.reader, name) is not None:
            return
        reply: Reply = await make()
        async with self.hub.db.tx() as conn:
            if not await cursors.claim(conn, name, iso(self.hub.clock.now())):
                return
            for chat_id in self.hub.config.digest.recipients:
                await self.queue(conn, chat_id, f"{name}:{chat_id}", reply)
        self.hub.wake_outbox()
