"""Reports for the head: the daily digest, ratings, the analytical note, the XLSX export.

Counts are SQL aggregates over indexed columns (``received_at``, ``published_at``,
``due_at``, ``state``, ``incident_events(action, at)``), so a digest costs the same with
a hundred incidents or a hundred thousand. Only what SQL cannot do cheaply is done in
Python over the period's rows: medians of working hours (the calendar) and keywords
(morphology). The chart and the workbook are drawn in a worker thread: matplotlib and
openpyxl are slow enough to stall the event loop.

Scheduled sends (``Reports.tick``) look at the domain clock and claim a cursor per day
(per week for the note), so moving the sandbox clock sends them, and a restart sends
nothing twice.
"""

from __future__ import annotations

import asyncio
import html
import io
import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from bot.config import WEEKDAYS, Config, parse_hhmm
from bot.domain.calendar import WorkCalendar
from bot.domain.incident import OPEN_STATES
from bot.domain.limits import TG_CAPTION_MAX, TG_TEXT_MAX, telegram_len
from bot.domain.text import lemmas, morph, words
from bot.platforms.telegram.bot_api import upload
from bot.services.hub import Hub
from storage import cursors, outbox, posts, reports
from storage.db import Conn
from storage.incidents import iso
from storage.reports import Counts, ExportRow, Handled, Key

if TYPE_CHECKING:
    from bot.app import App

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
ALLOWED_ROLES = frozenset({"head", "curator", "manager", "coordinator"})

OPEN = tuple(sorted(state.value for state in OPEN_STATES))
REOPEN_ACTIONS = ("citizen_reply", "reopen")
BASELINE_DAYS = 7  # the digest's growth is measured against the week before its period
SINCE = "reports:since"  # first tick of this database: no digest for a moment before it
LIST_LIMITS = (12, 8, 5, 3, 1, 0)  # list lengths tried until a message fits Telegram
EXCEL_CELL_MAX = 32767  # characters in one cell (Excel's specifications and limits)


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


def _midnight(day: date, tz: Any) -> datetime:
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
    return Period(_midnight(start, calendar.tz), _midnight(today, calendar.tz), calendar.tz)


def report_period(kind: str, now: datetime, tz: Any, scheduled: bool = False) -> Period:
    """A rolling window of ``KINDS[kind]`` days: up to now on demand (today included),
    up to today's midnight for the scheduled note."""
    today = now.astimezone(tz).date()
    if scheduled:
        return Period(_midnight(today - timedelta(days=KINDS[kind]), tz), _midnight(today, tz),
                      tz)
    return Period(_midnight(today - timedelta(days=KINDS[kind] - 1), tz), now, tz)


# -- what the digest and the note hold -------------------------------------------------------


@dataclass
class Row:
    name: str
    counts: Counts
    before: int = 0  # received in the previous period (the note compares)


@dataclass
class Overdue:
    id: int
    block: str
    executor: str
    due_at: datetime


@dataclass
class Rise:
    """Something that grew: ``count`` now against ``usual`` at the earlier rate."""

    name: str
    count: int
    usual: float


@dataclass
class Quota:
    page: str
    published: int
    expected: int
    days_short: int  # days (of those with a quota) under the daily quota
    weekly: bool


@dataclass
class Rating:
    name: str
    handled: int = 0
    on_time: int = 0
    first_reply_hours: float | None = None  # median, working hours
    publish_hours: float | None = None  # median, working hours
    returns: int = 0
    reopens: int = 0
    rating: float | None = None
    rated: int = 0

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.handled if self.handled else None


@dataclass
class Summary:
    """Everything the daily digest or the note says, computed for one period."""

    period: Period
    totals: Counts
    sources: list[Row]
    blocks: list[Row]
    overdue: list[Overdue]
    rising_blocks: list[Rise]
    rising_words: list[Rise]
    topics: list[tuple[str, int]]
    quotas: list[Quota]
    before: Counts = field(default_factory=Counts)
    block_ratings: list[Rating] = field(default_factory=list)
    executor_ratings: list[Rating] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        """No incident came, was answered, reopened or is open; no post went out."""
        return self.totals.quiet and not any(q.published for q in self.quotas)


# -- what the storage is asked -------------------------------------------------------------


def _day_offset(period: Period) -> timedelta:
    """From UTC to local time, for grouping by local day (Russian zones have had no
    daylight saving time since 2014, so one offset holds for a period)."""
    return period.end.astimezone(period.tz).utcoffset() or timedelta(0)


async def posts_by_day(conn: Conn, config: Config, period: Period) -> dict[tuple[str, date], int]:
    """Posts that count toward each page's quota, per local day."""
    counts: Counter[tuple[str, date]] = Counter()
    for page in config.pages:
        for moment in await posts.published_times(conn, page.name, period.start):
            if moment < period.end:
                counts[page.name, moment.astimezone(period.tz).date()] += 1
    return dict(counts)


# -- pure computations ---------------------------------------------------------------------

# nouns that say nothing about the topic of a complaint (and nouns of quantity)
STOP_NOUNS = frozenset(
    "день год раз время час минута неделя месяц человек люди вопрос проблема ситуация "
    "администрация город житель улица ул дом номер спасибо здравствуйте добрый вечер утро "
    "сегодня вчера завтра глава мэр район сторона место случай дело помощь ответ "
    "тысяча миллион миллиард сотня десяток половина четверть пара штука".split()
)
# a word that can be one of these is never a topic: numerals («второй», «пять») and
# pronouns («наш», «что»), whatever rare noun shares its spelling («втора», «сто»)
NOT_TOPIC = frozenset({"NUMR", "Anum", "NPRO", "Apro", "NUMB", "ROMN"})
PERSON = frozenset({"Name", "Surn", "Patr"})


class Topics:
    """The topic words of messages: nouns in their dictionary form, cheap enough for a
    digest. An ambiguous form («ямы»: «ям» or «яма») takes a block keyword's reading.

    A word counts only when a noun is its likeliest reading (the noun parses weigh more
    than all others together) and it cannot be a numeral or a pronoun: «второй» is the
    ordinal, not the rare noun «втора» in another case."""

    def __init__(self, vocabulary: Iterable[str], stop: Iterable[str] = ()):
        self.vocabulary = frozenset(vocabulary)
        self.stop = STOP_NOUNS.union(*(lemmas(w) | {w} for w in stop))
        self._cache: dict[str, str | None] = {}

    def word(self, word: str) -> str | None:
        result = self._cache.get(word, "")
        if result == "":
            if len(self._cache) > 100_000:  # a town's vocabulary is far smaller
                self._cache.clear()
            result = self._cache[word] = self._lemma(word)
        return result

    def _lemma(self, word: str) -> str | None:
        if len(word) < 3 or not word.isalpha():
            return None
        scores: Counter[str] = Counter()
        other = 0.0
        for parse in morph().parse(word):
            grammemes = parse.tag.grammemes
            if grammemes & NOT_TOPIC:
                return None
            if "NOUN" in grammemes and not grammemes & PERSON:
                scores[parse.normal_form.replace("ё", "е")] += parse.score
            elif "NOUN" not in grammemes:
                other += parse.score
        if not scores or sum(scores.values()) <= other:
            return None
        known = [lemma for lemma in scores if lemma in self.vocabulary]
        lemma = max(known or scores, key=lambda w: (scores[w], len(w)))
        return None if lemma in self.stop or len(lemma) < 3 else lemma

    def of(self, text: str) -> set[str]:
        """Each topic once per message: one angry message repeating a word is one vote."""
        return {lemma for w in words(text) if (lemma := self.word(w)) is not None}

    def count(self, texts: Iterable[str]) -> Counter[str]:
        counter: Counter[str] = Counter()
        for text in texts:
            counter.update(self.of(text))
        return counter


def rises(current: Counter[str], baseline: Counter[str], scale: float,
          limit: int = 3) -> list[Rise]:
    """What grew the most: at least two now and half as much again as usual."""
    found = []
    for name, n in current.items():
        usual = baseline.get(name, 0) * scale
        if n >= 2 and n - usual >= max(1.0, usual / 2):
            found.append(Rise(name, n, usual))
    found.sort(key=lambda r: (r.usual - r.count, -r.count, r.name))
    return found[:limit]


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def ratings(rows: Iterable[Handled], calendar: WorkCalendar,
            name_of: Callable[[int | None], str]) -> tuple[list[Rating], list[Rating]]:
    """Per block and per executor: answers published, on time (published by the
    deadline), median working hours to the first reply and to publication, returns,
    reopens, the citizens' average rating. Best first: most answers, then on time."""
    groups: dict[tuple[str, Any], list[Handled]] = defaultdict(list)
    for row in rows:
        groups["block", row.block].append(row)
        groups["executor", row.assignee_id].append(row)
    blocks, executors = [], []
    for (kind, key), items in groups.items():
        rating = Rating(name=key if kind == "block" else name_of(key))
        first, publish, scores = [], [], []
        for row in items:
            received, published, due = row.received_at, row.published_at, row.due_at
            first_reply = row.first_reply_at
            rating.handled += 1
            rating.on_time += due is None or published <= due
            rating.returns += row.returns
            rating.reopens += row.reopens
            publish.append(_hours(calendar.between(received, published)))
            if first_reply is not None:
                first.append(_hours(calendar.between(received, first_reply)))
            if row.rating is not None:
                scores.append(row.rating)
        rating.publish_hours = statistics.median(publish)
        rating.first_reply_hours = statistics.median(first) if first else None
        rating.rating = statistics.fmean(scores) if scores else None
        rating.rated = len(scores)
        (blocks if kind == "block" else executors).append(rating)
    return sorted(blocks, key=_rank), sorted(executors, key=_rank)


def _rank(rating: Rating) -> tuple[int, float, str]:
    return -rating.handled, -(rating.on_time_share or 0.0), rating.name


def _page_days(table: dict[tuple[str, date], int], page: str) -> Counter[date]:
    return Counter({day: n for (name, day), n in table.items() if name == page})


def quotas(config: Config, calendar: WorkCalendar, period: Period,
           posts: dict[tuple[str, date], int] | None,
           week_posts: dict[tuple[str, date], int] | None = None) -> list[Quota]:
    """Posts published per page against its quota: per day for daily quotas (only the
    working days when the page keeps to them), per week for weekly ones.

    ``week_posts`` (the week so far) is what a weekly page is judged by in a daily digest.
    """
    if posts is None or not config.pages:
        return []
    result = []
    for page in config.pages:
        if page.period == "day":
            counts = _page_days(posts, page.name)
            days = [d for d in period.days
                    if not page.working_days_only or calendar.is_working_day(d)]
            result.append(Quota(page.name, sum(counts.values()), page.quota * len(days),
                                sum(1 for d in days if counts[d] < page.quota), weekly=False))
        else:
            counts = _page_days(week_posts if week_posts is not None else posts, page.name)
            weeks = 1 if week_posts is not None else max(1, round(period.length_days / 7))
            result.append(Quota(page.name, sum(counts.values()), page.quota * weeks, 0,
                                weekly=True))
    return result


# -- drawing and the workbook (run in a worker thread) ---------------------------------------


def chart_png(buckets: Sequence[date], labels: Sequence[str], blocks: Sequence[str],
              counts: dict[tuple[date, str], int], title: str) -> bytes:
    """Stacked bars of incidents by block per day (or week). matplotlib is imported here,
    not at start-up: it takes about a second and only reports need it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4.8), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    x = list(range(len(buckets)))
    bottom = [0] * len(buckets)
    for block in blocks:
        values = [counts.get((bucket, block), 0) for bucket in buckets]
        if any(values):
            axes.bar(x, values, bottom=bottom, label=block, width=0.7)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for i, total in enumerate(bottom):
        if total:
            axes.annotate(str(total), (i, total), ha="center", va="bottom", fontsize=9)
    axes.set_xticks(x, labels=list(labels), fontsize=8 if len(x) > 8 else 10)
    axes.set_title(title, fontsize=11)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_ylim(0, max([*bottom, 1]) * 1.15)
    axes.spines[["top", "right"]].set_visible(False)
    if any(bottom):
        axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def workbook(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """An XLSX of plain sheets (title, header, rows). Text cells stay text: a citizen's
    message starting with «=» must not become a formula in someone's Excel."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.freeze_panes = "A2"
        sample = list(rows)[:100] if isinstance(rows, Sequence) else []
        for i, name in enumerate(header, start=1):
            longest = max([len(name), *(len(str(row[i - 1] or "")) for row in sample)])
            sheet.column_dimensions[get_column_letter(i)].width = min(60, max(8, longest + 2))
        bold = Font(bold=True)
        head = []
        for name in header:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            head.append(cell)
        sheet.append(head)
        for row in rows:
            out: list[Any] = []
            for value in row:
                if isinstance(value, str):
                    value = ILLEGAL_CHARACTERS_RE.sub("", value)[:EXCEL_CELL_MAX]
                    if value.startswith("="):  # what openpyxl would store as a formula
                        value = WriteOnlyCell(sheet, value=value)
                        value.data_type = "s"
                out.append(value)
            sheet.append(out)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# -- text --------------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")
_BLANKS = re.compile(r"\n\s*\n(\s*\n)+")


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


# -- the service -----------------------------------------------------------------------------


@dataclass
class Reply:
    """What a command answers: a message, and maybe a chart or a workbook."""

    text: str
    chart: bytes | None = None
    chart_caption: str = ""
    document: bytes | None = None
    filename: str = ""


class Reports:
    def __init__(self, hub: Hub):
        self.hub = hub
        config = hub.config
        vocabulary = {w for block in config.blocks for kw in block.keywords for w in words(kw)}
        self.keywords = Topics(vocabulary, words(config.municipality.name))
        self._lock = asyncio.Lock()  # one heavy report at a time: they share the reader
        self._since: datetime | None = None

    @property
    def tz(self) -> Any:
        return self.hub.config.municipality.tz

    # -- names people read -------------------------------------------------------------

    def page(self, template: str, /, **context: Any) -> str:
        """A template of ``digest/``; optional sections leave at most one blank line."""
        return _BLANKS.sub("\n\n", self.hub.render.render(template, **context))

    def phrase(self, name: str, /, **context: Any) -> str:
        return self.hub.render.text(f"reports.j2:{name}", **context)

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
            week = Period(_midnight(monday, self.tz), period.end, self.tz)
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
            quotas=quotas(config, self.hub.calendar, period, posts, week_posts),
            before=before,
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
                                               _day_offset(period))
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
            blocks, executors = await self.ratings(period)
            sheets = [
                (self.phrase("xlsx_incidents"), self.phrase("xlsx_incident_columns").split("|"),
                 [self._incident_cells(row) for row in rows]),
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
        now = self.hub.clock.now()
        lane = f"tg:{chat_id}"
        if reply.document is not None:
            await outbox.enqueue(
                conn, key=f"{key}:document", platform="tg", lane=lane, method="sendDocument",
                now=now, params={"chat_id": chat_id, "caption": reply.text,
                                 "document": upload(reply.document, reply.filename)},
            )
            return
        await self.hub.send(conn, chat_id, reply.text, key=key)
        if reply.chart is not None:
            await outbox.enqueue(
                conn, key=f"{key}:chart", platform="tg", lane=lane, method="sendPhoto",
                now=now, params={"chat_id": chat_id, "caption": reply.chart_caption,
                                 "photo": upload(reply.chart, "chart.png")},
            )

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


def install(app: App) -> None:
    """The command router (before the private chat's catch-all) and the schedule."""
    from handlers import reports as handlers

    service = Reports(app.hub)
    app.dp_data["reports"] = service
    app.routers.append(handlers.build())
    app.jobs.add("reports", service.tick, 3.0)
