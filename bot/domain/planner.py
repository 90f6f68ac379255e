"""The posting planner: when each queued post of an official page goes out.

Pure: it takes the queue, what was already published and the current moment, and
returns the slots. It is recomputed whenever the queue or the clock changes, so
nothing here is stored; the publisher sends a post once its slot is due.

Rules (issue 7, item 3):

* A page has ``quota`` posts per period: a day, or a Monday–Sunday week. Published
  posts and fixed-time posts count toward it; the planner never adds a post to a
  period that is full — what does not fit moves to the next period.
* Posts without a time fill free slots in queue order (``queued_at``, then ``id``),
  only on publishing days (working days when ``working_days_only``, else every
  day) and inside ``page.hours``.
* Spreading. A day's publishing hours are cut into an even grid of as many points
  as the day's share of the quota: for a daily quota the share is the quota itself
  (5 over 09:00–18:00 → 09:00, 10:48, 12:36, 14:24, 16:12); for a weekly quota the
  rest of the week's quota is spread over the remaining publishing days, earlier
  days taking the odd one (5 a week over Mon–Fri → one a day at 09:00). Posts
  already on the day (published, fixed) take the grid point nearest to them; queued
  posts take the remaining points, earliest first. The grid is fixed for the day,
  so publishing one post does not move the others.
* Today: grid points before ``now`` are not used. If the points left are fewer than
  the posts today may still take, the posts are spread evenly over the rest of
  today instead (from ``now`` to the end of hours).
* ``min_gap_minutes`` holds between any two posts, published and fixed ones
  included: a slot that is too close moves to the nearest time that is not (never
  before the previous queued post, so queue order holds); if none is left in the
  day, the post moves to the next publishing day.
* Times are whole minutes. Fixed-time posts keep their time, even a past one
  (the publisher sends an overdue post at once); they appear among the slots.
* What was confirmed stays (issue 19): queued posts whose stored slot (``planned_at``)
  still holds — not past, on a publishing day inside the hours, the gap kept, room in
  its period, after the previous one — keep it, in queue order from the head of the
  queue; a post queued later takes what is left after them (queuing a fifth post no
  longer pulls the first from its 10:48 to 09:05). Only a change of order (a move, a
  fixed time in the way, a slot missed) re-plans, from the first post it breaks on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Page, parse_hhmm

__all__ = [
    "QueuedPost",
    "Slot",
    "check_fixed",
    "is_publishing_day",
    "period_of",
    "plan",
    "shortfall",
]

# how far ahead the planner looks for publishing days (long holidays, odd calendars)
MAX_SCAN_DAYS = 400

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class QueuedPost:
    id: int
    fixed_at: datetime | None  # aware; None = the planner picks the slot
    queued_at: datetime
    # the slot the press secretary was told (the stored plan): kept while it still holds
    planned_at: datetime | None = None


@dataclass(frozen=True)
class Slot:
    post_id: int
    at: datetime  # aware, in the page's tz


# -- time helpers: everything inside is whole minutes since the epoch -------------------


def _floor_min(moment: datetime) -> int:
    return (moment - _EPOCH) // _MINUTE


def _ceil_min(moment: datetime) -> int:
    return -((_EPOCH - moment) // _MINUTE)


def _to_dt(minute: int, tz: ZoneInfo) -> datetime:
    return (_EPOCH + minute * _MINUTE).astimezone(tz)


def _local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _window(page: Page, day: date, tz: ZoneInfo) -> tuple[int, int]:
    """The day's publishing hours as [start, end) minutes; a post at the end is late."""
    start, _, end = page.hours.partition("-")
    a = datetime.combine(day, parse_hhmm(start), tzinfo=tz)
    b = datetime.combine(day, parse_hhmm(end), tzinfo=tz)
    return _ceil_min(a), _floor_min(b)


def _grid(start: int, end: int, n: int) -> list[int]:
    """``n`` evenly spaced points from ``start``, the last one a step before ``end``."""
    if n <= 0:
        return []
    return [start + (i * (end - start)) // n for i in range(n)]


def _take_nearest(points: list[int], taken_by: Sequence[int]) -> list[int]:
    """Points left after each of ``taken_by`` removes the one nearest to it."""
    free = list(points)
    for moment in sorted(taken_by):
        if not free:
            break
        nearest = min(free, key=lambda p: (abs(p - moment), p))
        free.remove(nearest)
    return free


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _nearest_free(target: int, lo: int, hi: int, blocked: list[tuple[int, int]]) -> int | None:
    """The minute in [lo, hi) nearest to ``target`` (earlier on a tie) outside ``blocked``.

    ``blocked`` holds merged, sorted inclusive ranges of forbidden minutes.
    """
    best: int | None = None
    cursor = lo
    for b_lo, b_hi in [*blocked, (hi, hi)]:
        if b_hi < cursor:
            continue
        free_hi = min(b_lo, hi) - 1
        if cursor <= free_hi:
            candidate = min(max(target, cursor), free_hi)
            if best is None or abs(candidate - target) < abs(best - target):
                best = candidate
        cursor = max(cursor, b_hi + 1)
        if cursor >= hi:
            break
    return best


class _Occupied:
    """Times of posts the gap must be kept from, as forbidden minute ranges."""

    def __init__(self, gap: int):
        self.gap = gap
        self.ranges: list[tuple[int, int]] = []
        self._merged: list[tuple[int, int]] | None = []

    def add(self, moment: datetime | int) -> None:
        if isinstance(moment, int):
            lo = hi = moment
        else:
            lo, hi = _floor_min(moment), _ceil_min(moment)
        # a minute t keeps the gap when t <= floor - gap or t >= ceil + gap
        if self.gap > 0 or lo != hi:
            self.ranges.append((lo - self.gap + 1, hi + self.gap - 1))
            self._merged = None

    def blocked(self) -> list[tuple[int, int]]:
        if self._merged is None:
            self._merged = _merge([r for r in self.ranges if r[0] <= r[1]])
        return self._merged


# -- public API -----------------------------------------------------------------------


def is_publishing_day(page: Page, day: date, is_working_day: Callable[[date], bool]) -> bool:
    """A page with ``working_days_only`` posts on working days; any other page every day."""
    return is_working_day(day) if page.working_days_only else True


def period_of(page: Page, moment: datetime | date, tz: ZoneInfo) -> tuple[date, date]:
    """The quota period holding ``moment``: (day, day) or (Monday, Sunday), both inclusive."""
    day = _local_date(moment, tz) if isinstance(moment, datetime) else moment
    if page.period == "day":
        return day, day
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _queue_order(post: QueuedPost) -> tuple[datetime, int]:
    return post.queued_at, post.id


def plan(
    page: Page,
    queue: Sequence[QueuedPost],
    published: Sequence[datetime],
    now: datetime,
    tz: ZoneInfo,
    is_working_day: Callable[[date], bool],
    horizon_periods: int = 8,
) -> list[Slot]:
    """Slots for every post of ``queue`` that fits within ``horizon_periods`` periods.

    The horizon counts periods that still have publishing time (today after hours
    and holidays do not count), so a long holiday does not empty the plan. Posts
    that do not fit are left out of the result: the caller shows them as «не
    запланирован». Sorted by time, then post id.
    """
    gap = page.min_gap_minutes
    today = _local_date(now, tz)
    now_min = _ceil_min(now)

    fixed = [post for post in queue if post.fixed_at is not None]
    autos = sorted((post for post in queue if post.fixed_at is None), key=_queue_order)
    slots = [Slot(post.id, post.fixed_at.astimezone(tz)) for post in fixed if post.fixed_at]

    occupied = _Occupied(gap)
    per_period: dict[date, int] = defaultdict(int)  # period start -> published + fixed
    per_day: dict[date, list[int]] = defaultdict(list)  # day -> minutes of published + fixed
    for moment in [*published, *(slot.at for slot in slots)]:
        occupied.add(moment)
        per_period[period_of(page, moment, tz)[0]] += 1
        per_day[_local_date(moment, tz)].append(_floor_min(moment))

    def window_left(day: date) -> tuple[int, int] | None:
        if not is_publishing_day(page, day, is_working_day):
            return None
        start, end = _window(page, day, tz)
        if day == today:
            start = max(start, now_min)
        return (start, end) if start < end else None

    placed_in_period: dict[date, int] = defaultdict(int)
    periods_seen: set[date] = set()
    kept, last_auto = _keep_confirmed(page, autos, now_min, occupied, per_period, per_day,
                                      tz, is_working_day)
    slots += kept
    next_auto = len(kept)
    for offset in range(MAX_SCAN_DAYS):
        if next_auto >= len(autos):
            break
        day = today + timedelta(days=offset)
        window = window_left(day)
        if window is None:
            continue
        period_start, period_end = period_of(page, day, tz)
        if period_start not in periods_seen:
            if len(periods_seen) >= horizon_periods:
                break
            periods_seen.add(period_start)

        existing = per_day.get(day, [])
        room = page.quota - per_period[period_start] - placed_in_period[period_start]
        if page.period == "day":
            share = page.quota
        else:
            # the week's quota not yet used before this day, spread over the days left
            before = sum(
                len(per_day.get(period_start + timedelta(days=i), []))
                for i in range((day - period_start).days)
            )
            rest = page.quota - before - placed_in_period[period_start]
            days_left = sum(
                1
                for i in range((period_end - day).days + 1)
                if window_left(day + timedelta(days=i)) is not None
            )
            share = -(-rest // days_left) if rest > 0 else 0
        take = min(share - len(existing), room, len(autos) - next_auto)
        if take <= 0:
            continue

        start, end = window
        day_start, day_end = _window(page, day, tz)
        free = [p for p in _take_nearest(_grid(day_start, day_end, share), existing) if p >= start]
        if len(free) >= take:
            targets = free[:take]
        else:
            # late in the day: spread what is left of today's share over the rest of it
            inside = [m for m in existing if start <= m < end]
            targets = _take_nearest(_grid(start, end, take + len(inside)), inside)[:take]

        for target in targets:
            lo = start if last_auto is None else max(start, last_auto + gap)
            minute = _nearest_free(target, lo, end, occupied.blocked())
            if minute is None:
                break  # the day is full: the rest waits for the next publishing day
            slots.append(Slot(autos[next_auto].id, _to_dt(minute, tz)))
            occupied.add(minute)
            last_auto = minute
            next_auto += 1
            placed_in_period[period_start] += 1

    return sorted(slots, key=lambda slot: (slot.at, slot.post_id))


def _keep_confirmed(page: Page, autos: Sequence[QueuedPost], now_min: int,
                    occupied: _Occupied, per_period: dict[date, int],
                    per_day: dict[date, list[int]], tz: ZoneInfo,
                    is_working_day: Callable[[date], bool]) -> tuple[list[Slot], int | None]:
    """The head of the queue that keeps the slots it was told, counted where it stands,
    and the minute of the last of them."""
    kept: list[Slot] = []
    last: int | None = None
    for post in autos:
        minute = _still_holds(page, post, now_min, last, occupied, tz, is_working_day,
                              lambda day: per_period[period_of(page, day, tz)[0]])
        if minute is None:
            break
        moment = _to_dt(minute, tz)
        kept.append(Slot(post.id, moment))
        occupied.add(minute)
        per_period[period_of(page, moment, tz)[0]] += 1
        per_day[_local_date(moment, tz)].append(minute)
        last = minute
    return kept, last


def _still_holds(page: Page, post: QueuedPost, now_min: int, last: int | None,
                 occupied: _Occupied, tz: ZoneInfo, is_working_day: Callable[[date], bool],
                 used: Callable[[date], int]) -> int | None:
    """The minute of the post's confirmed slot if every rule still allows it, else None."""
    if post.planned_at is None:
        return None
    minute = _floor_min(post.planned_at)
    day = _local_date(post.planned_at, tz)
    start, end = _window(page, day, tz)
    if (minute < now_min or not start <= minute < end
            or not is_publishing_day(page, day, is_working_day)
            or (last is not None and minute < last + page.min_gap_minutes)
            or used(day) >= page.quota):
        return None
    if any(lo <= minute <= hi for lo, hi in occupied.blocked()):
        return None
    return minute


def check_fixed(
    page: Page,
    queue: Sequence[QueuedPost],
    published: Sequence[datetime],
    at: datetime,
    tz: ZoneInfo,
    is_working_day: Callable[[date], bool],
    *,
    exclude: int | None = None,
) -> str | None:
    """Why a post fixed at ``at`` needs the press secretary's confirmation, or None.

    Checked in order: the period's quota (published and other fixed posts; queued
    posts without a time just move), the minimum gap to published and fixed posts,
    a non-publishing day, a time outside the publishing hours. ``exclude`` is the
    id of the post being moved, so it does not count against itself.
    """
    others = [post.fixed_at for post in queue if post.fixed_at is not None and post.id != exclude]
    period_start, period_end = period_of(page, at, tz)
    used = sum(
        1
        for moment in [*published, *others]
        if period_start <= _local_date(moment, tz) <= period_end
    )
    if used + 1 > page.quota:
        if page.period == "day":
            where = f"на {period_start:%d.%m}"
        else:
            where = f"на неделю {period_start:%d.%m}–{period_end:%d.%m}"
        return f"квота {where} исчерпана: {used} из {page.quota}"
    gap = timedelta(minutes=page.min_gap_minutes)
    for moment in sorted([*published, *others]):
        if abs(moment - at) < gap:
            local = moment.astimezone(tz)
            return f"меньше {page.min_gap_minutes} мин до другого поста ({local:%d.%m %H:%M})"
    local_at = at.astimezone(tz)
    if not is_publishing_day(page, local_at.date(), is_working_day):
        return f"{local_at:%d.%m} — нерабочий день, страница публикует в рабочие дни"
    start, end = _window(page, local_at.date(), tz)
    if not start <= _floor_min(at) < end:
        return f"{local_at:%H:%M} — вне часов публикации {page.hours}"
    return None


def shortfall(
    page: Page,
    queue: Sequence[QueuedPost],
    published: Sequence[datetime],
    now: datetime,
    tz: ZoneInfo,
    is_working_day: Callable[[date], bool],
) -> tuple[int, int] | None:
    """(posts today incl. published, quota) when today's plan misses a daily quota.

    None for weekly pages and on days the page does not publish: there is no daily
    figure to fall short of. Feeds «План на сегодня: 3 из 5».
    """
    today = _local_date(now, tz)
    if page.period != "day" or not is_publishing_day(page, today, is_working_day):
        return None
    done = sum(1 for moment in published if _local_date(moment, tz) == today)
    planned = sum(
        1
        for slot in plan(page, queue, published, now, tz, is_working_day, horizon_periods=1)
        if slot.at.date() == today
    )
    total = done + planned
    return (total, page.quota) if total < page.quota else None
