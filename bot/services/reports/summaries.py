"""The figures of a period, computed from storage: the digest's and the note's summary,
the ratings, the chart's counts — and the names people read in them.

Counts are SQL aggregates (``storage.reports``), so a digest costs the same with a
hundred incidents or a hundred thousand; medians and keywords are computed in a worker
thread (``bot.services.reports.figures``).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from bot.domain.incident import OPEN_STATES
from bot.domain.text import words
from bot.services.hub import Hub
from bot.services.reports.drawing import chart_png
from bot.services.reports.figures import (
    Overdue,
    Rating,
    Row,
    Summary,
    Topics,
    day_offset,
    posts_by_day,
    quotas,
    ratings,
    rises,
)
from bot.services.reports.periods import Period, midnight
from storage import reports
from storage.reports import Counts, Key

OPEN = tuple(sorted(state.value for state in OPEN_STATES))
REOPEN_ACTIONS = ("citizen_reply", "reopen")
STORM_AUTHORS = 3  # a group this big is named in "what grew"
BASELINE_DAYS = 7  # the digest's growth is measured against the week before its period
_BLANKS = re.compile(r"\n\s*\n(\s*\n)+")


class Summaries:
    def __init__(self, hub: Hub):
        self.hub = hub
        config = hub.config
        vocabulary = {w for block in config.blocks for kw in block.keywords for w in words(kw)}
        self.keywords = Topics(vocabulary, words(config.municipality.name))
        self._lock = asyncio.Lock()  # one heavy report at a time: they share the reader

    @property
    def tz(self) -> Any:
        return self.hub.config.municipality.tz

    # -- names people read -------------------------------------------------------------

    def page(self, template: str, /, **context: Any) -> str:
        """A template of ``digest/``; optional sections leave at most one blank line."""
        return _BLANKS.sub("\n\n", self.hub.render.render(template, **context))

    def phrase(self, name: str, /, **context: Any) -> str:
        return self.hub.render.text(f"reports.j2:{name}", **context)

    def target_name(self, key: str) -> str:
        """A page's target ('vk:100001', 'max:-72…') as staff know it."""
        platform, _, ident = key.partition(":")
        page = self.hub.page(platform)
        return page.target_name(int(ident)) if page else key

    def source_name(self, source: str) -> str:
        config = self.hub.config
        platform, _, ident = source.partition(":")
        if platform == "vk" and ident.isdigit():
            community = config.community(int(ident))
            public = next((p for p in config.vk.publics if p.id == int(ident)), None)
            name = community.name if community else public.name if public else ident
            return self.phrase("source_vk", name=name or ident)
        if platform == "tg":
            if ident == "private":
                return self.phrase("source_tg_private")
            chat = int(ident) if ident.lstrip("-").isdigit() else 0
            if chat and chat in (config.telegram.channel, config.telegram.discussion_group):
                return self.phrase("source_tg_channel")
            chats = config.telegram.city_chats
            if chat not in chats:  # a chat no longer in the config: its id
                return self.phrase("source_tg_chat", n=ident)
            return self.phrase("source_tg_chat", n=chats.index(chat) + 1 if len(chats) > 1
                               else "")
        if platform == "max":
            return self.phrase("source_max_private" if ident == "private" else "source_max_chat")
        if platform == "forward":
            known = {"pos": "source_pos", "portal": "source_portal"}
            return self.phrase(known.get(ident, "source_forward_other"))
        return source

    def executor_name(self, user_id: int | None) -> str:
        return self.hub.staff_name(user_id) if user_id is not None else self.phrase(
            "no_executor")

    def period_label(self, period: Period) -> str:
        first, last = period.first_day, period.last_day
        if first == last:
            return self.phrase("period_day", day=first.strftime("%d.%m"),
                               weekday=self.phrase("weekday", n=first.weekday()))
        return self.phrase("period_span", first=first.strftime("%d.%m"),
                           last=last.strftime("%d.%m.%Y" if first.year != last.year
                                              else "%d.%m"))

    # -- computing ---------------------------------------------------------------------

    def _rows(self, table: dict[Key, Counts], index: int, before: Counter[str],
              order: Sequence[str] = ()) -> list[Row]:
        merged: dict[str, Counts] = defaultdict(Counts)
        for key, counts in table.items():
            merged[key[index]].add(counts)
        names = set(merged) | {name for name, n in before.items() if n}
        rank = {name: i for i, name in enumerate(order)}
        rows = [Row(name, merged.get(name, Counts()), before.get(name, 0)) for name in names]
        rows.sort(key=lambda r: (-r.counts.new, -r.counts.open, rank.get(r.name, len(rank)),
                                 r.name))
        return rows

    async def summary(self, period: Period, now: datetime, *, note: bool = False,
                      overdue_limit: int = 50) -> Summary:
        """The numbers of a digest (``note=False``) or of an analytical note.

        The digest measures growth against the week before its period (scaled to its
        length); the note against the previous period of the same length.
        """
        conn = self.hub.db.reader
        config = self.hub.config
        table = await reports.volume(conn, period.start, period.end, now, REOPEN_ACTIONS, OPEN)
        totals = Counts()
        for counts in table.values():
            totals.add(counts)
        baseline = (period.previous() if note else
                    Period(period.start - timedelta(days=BASELINE_DAYS), period.start, self.tz))
        scale = period.length_days / baseline.length_days
        before = Counts()
        before_sources: Counter[str] = Counter()
        before_blocks: Counter[str] = Counter()
        earlier = await reports.volume(conn, baseline.start, baseline.end, None, REOPEN_ACTIONS,
                                       OPEN)
        for (source, block), counts in earlier.items():
            before.add(counts)
            before_sources[source] += counts.new
            before_blocks[block] += counts.new
        current_blocks: Counter[str] = Counter()
        for (_, block), counts in table.items():
            current_blocks[block] += counts.new
        current_texts = await reports.texts(conn, period.start, period.end)
        baseline_texts = await reports.texts(conn, baseline.start, baseline.end)
        current_words = await asyncio.to_thread(self.keywords.count, current_texts)
        baseline_words = await asyncio.to_thread(self.keywords.count, baseline_texts)
        overdue = [
            Overdue(item.id, item.block, self.hub.staff_name(item.assignee_id)
                    if item.assignee_id is not None else self.phrase("unassigned"), item.due_at)
            for item in await reports.overdue(conn, now, overdue_limit, OPEN)
        ]
        posts = await posts_by_day(conn, config, period)
        week_posts = None
        if not note and posts is not None:
            monday = period.last_day - timedelta(days=period.last_day.weekday())
            week = Period(midnight(monday, self.tz), period.end, self.tz)
            week_posts = await posts_by_day(conn, config, week)
        block_order = [b.name for b in config.blocks]
        summary = Summary(
            period=period,
            totals=totals,
            sources=[Row(self.source_name(r.name), r.counts, r.before)
                     for r in self._rows(table, 0, before_sources if note else {})],
            blocks=self._rows(table, 1, before_blocks if note else {}, block_order),
            overdue=overdue,
            rising_blocks=rises(current_blocks, before_blocks, scale),
            rising_words=rises(current_words, baseline_words, scale, limit=5),
            topics=[(w, n) for w, n in current_words.most_common(5) if n >= 2],
            quotas=quotas(config, self.hub.calendar, period, posts, week_posts,
                          self.target_name),
            before=before,
            storms=await reports.storms(conn, period.start, period.end, STORM_AUTHORS),
        )
        if note:
            summary.block_ratings, summary.executor_ratings = await self.ratings(period)
        return summary

    async def ratings(self, period: Period) -> tuple[list[Rating], list[Rating]]:
        rows = await reports.handled(self.hub.db.reader, period.start, period.end)
        return await asyncio.to_thread(ratings, rows, self.hub.calendar, self.executor_name)

    async def chart(self, period: Period) -> bytes:
        """The period's incidents by block and by day (by week beyond a month)."""
        counts = await reports.received_by_day(self.hub.db.reader, period.start, period.end,
                                               day_offset(period))
        days = period.days
        if len(days) > 31:
            weekly: dict[tuple[date, str], int] = Counter()
            for (day, block), n in counts.items():
                weekly[day - timedelta(days=day.weekday()), block] += n
            counts = dict(weekly)
            buckets = sorted({d - timedelta(days=d.weekday()) for d in days})
            labels = [b.strftime("%d.%m") for b in buckets]
        else:
            buckets = days
            labels = [f"{d:%d.%m}\n{self.phrase('weekday', n=d.weekday())}" for d in days]
        blocks = [b.name for b in self.hub.config.blocks]
        blocks += sorted({block for _, block in counts} - set(blocks))
        title = self.phrase("chart_caption", municipality=self.hub.config.municipality.name,
                            period=self.period_label(period)).rstrip(".")
        return await asyncio.to_thread(chart_png, buckets, labels, blocks, counts, title)
