"""What the digest and the note hold, and the pure computations behind them: topics of
the messages (morphology), what grew, ratings of blocks and executors (medians of working
hours), posting quotas. Only what SQL cannot do cheaply is done here, in Python over the
period's rows."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.config import Config
from bot.domain.calendar import WorkCalendar
from bot.domain.text import lemmas, morph, words
from bot.services.reports.periods import Period
from storage import posts
from storage.db import Conn
from storage.reports import Counts, Handled

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
    target: str = ""  # the page's target as staff know it: each is judged on its own


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
    thanked: int = 0  # answers the citizen thanked for

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
    storms: list[Any] = field(default_factory=list)  # storage.reports.StormRow, biggest first

    @property
    def quiet(self) -> bool:
        """No incident came, was answered, reopened or is open; no post went out."""
        return self.totals.quiet and not any(q.published for q in self.quotas)


# -- what the storage is asked -------------------------------------------------------------


def day_offset(period: Period) -> timedelta:
    """From UTC to local time, for grouping by local day (Russian zones have had no
    daylight saving time since 2014, so one offset holds for a period)."""
    return period.end.astimezone(period.tz).utcoffset() or timedelta(0)


async def posts_by_day(conn: Conn, config: Config, period: Period
                       ) -> dict[tuple[str, str, date], int]:
    """Posts that reached each target of each page, per local day: a target is judged
    against the quota on its own (decree 004 §3.9: «не менее 5 постов в день»)."""
    counts: Counter[tuple[str, str, date]] = Counter()
    for page in config.pages:
        for target, moment in await posts.target_times(conn, page.name, period.start):
            if moment < period.end:
                counts[page.name, target, moment.astimezone(period.tz).date()] += 1
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
    reopens, the citizens' average rating and thanks. Best first: most answers, then on time."""
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
            rating.thanked += row.thanked
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


def _page_days(table: dict[tuple[str, str, date], int], page: str,
               target: str) -> Counter[date]:
    return Counter({day: n for (name, key, day), n in table.items()
                    if name == page and key == target})


def quotas(config: Config, calendar: WorkCalendar, period: Period,
           posts: dict[tuple[str, str, date], int] | None,
           week_posts: dict[tuple[str, str, date], int] | None = None,
           names: Callable[[str], str] = str) -> list[Quota]:
    """Posts published on each target of each page against the page's quota, a floor:
    per day for daily quotas (only the working days when the page keeps to them), per
    week for weekly ones. ``names`` turns a target key into the name staff know.

    ``week_posts`` (the week so far) is what a weekly page is judged by in a daily digest.
    """
    if posts is None or not config.pages:
        return []
    result = []
    for page in config.pages:
        keys = list(dict.fromkeys(
            f"{'tg' if t.platform == 'telegram' else t.platform}:{t.id}" for t in page.targets))
        for key in keys:
            if page.period == "day":
                counts = _page_days(posts, page.name, key)
                days = [d for d in period.days
                        if not page.working_days_only or calendar.is_working_day(d)]
                result.append(Quota(page.name, sum(counts.values()), page.quota * len(days),
                                    sum(1 for d in days if counts[d] < page.quota),
                                    weekly=False, target=names(key)))
            else:
                counts = _page_days(week_posts if week_posts is not None else posts,
                                    page.name, key)
                weeks = 1 if week_posts is not None else max(1, round(period.length_days / 7))
                result.append(Quota(page.name, sum(counts.values()), page.quota * weeks, 0,
                                    weekly=True, target=names(key)))
    return result
