"""The outbox worker: delivers stored calls at the platforms' pace, once each.

A row is claimed (``sending``) in one transaction, the platform is called, and the
result with its consequences (a card's message id, an incident published) is recorded
in the next. After a crash, rows left ``sending`` go again: VK dedupes them by ``guid``
and ``random_id``, Telegram edits are idempotent; a Telegram *send* interrupted in the
millisecond between the call and its record can repeat — the Bot API has no key to stop it.

Rate limits are kept here, in real (monotonic) time, so that 429 and error 6 are the
exception: Telegram about 1 message/s per chat, 20 a minute per group and 30/s overall.
VK's limits are per token and kept by the token's client (``bot.platforms.vk``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock
from bot.logs import Redactor
from storage import outbox as rows
from storage.db import Conn, Database
from storage.outbox import Item

log = logging.getLogger(__name__)


class Retry(Exception):
    """Try again later; ``pause_lane`` holds back everything else for that lane too."""

    def __init__(self, after: float, reason: str, *, pause_lane: bool = False, transient=True):
        super().__init__(reason)
        self.after = after
        self.reason = reason
        self.pause_lane = pause_lane
        self.transient = transient  # counts toward the attempt limit


class Permanent(Exception):
    """The platform refused for good; its words are kept on the row."""


_redactor = Redactor()


def _clean(text: str) -> str:
    """A platform's or the network's words without secrets: aiohttp names the request
    URL (``…/bot<token>/…``) in some errors, and these words are stored on the row,
    put in the audit log and told to the coordinators."""
    return _redactor.redact(text)


Deliver = Callable[[Item], Awaitable[Any]]
Hook = Callable[[Conn, Item, Any], Awaitable[None]]
Classify = Callable[[Item], Awaitable[str]]


class Window:
    """At most ``count`` events in any ``seconds``: a sliding window."""

    def __init__(self, count: int, seconds: float):
        self.count = count
        self.seconds = seconds
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        while self.times and self.times[0] <= now - self.seconds:
            self.times.popleft()
        if len(self.times) < self.count:
            return 0.0
        return self.times[0] + self.seconds - now

    def note(self, now: float) -> None:
        self.times.append(now)

    def settle(self, started: float, ended: float) -> None:
        """A call noted when it started has ended: count it from then on instead.

        The platform counts a call when it arrives, somewhere between the two; counting
        from the end keeps the window's start no earlier than the platform's, whatever
        the network's jitter (a slow first call, a fast twenty-first: a 429).
        """
        for n in range(len(self.times) - 1, -1, -1):
            if self.times[n] == started:
                self.times[n] = max(ended, started)
                if n != len(self.times) - 1:
                    self.times = deque(sorted(self.times))
                return


@dataclass
class Limits:
    """The platforms' published limits; ``scale`` shrinks their windows for benchmarks."""

    scale: float = 1.0
    windows: dict[tuple[str, ...], Window] = field(default_factory=dict)
    paused: dict[str, float] = field(default_factory=dict)

    def _window(self, key: tuple[str, ...], count: int, seconds: float) -> Window:
        window = self.windows.get(key)
        if window is None:
            window = self.windows[key] = Window(count, seconds * self.scale)
        return window

    def windows_for(self, lane: str, kind: str) -> list[Window]:
        platform, _, rest = lane.partition(":")
        if platform == "tg":
            chat = int(rest)
            result = [self._window(("tg", "all"), 30, 1.0)]
            if kind == "send":
                result.append(self._window(("tg", rest, "s"), 1, 1.0))
                if chat < 0:
                    result.append(self._window(("tg", rest, "m"), 20, 60.0))
            return result
        # VK: paced per token by the token's client (bot.platforms.vk.Pacer), which every
        # user of the token shares — the long poll and the publics as well as the outbox
        return []

    def wait(self, lane: str, kind: str, now: float) -> float:
        paused = self.paused.get(lane, 0.0) - now
        return max([paused, 0.0] + [w.wait(now) for w in self.windows_for(lane, kind)])

    def note(self, lane: str, kind: str, now: float) -> None:
        for window in self.windows_for(lane, kind):
            window.note(now)

    def settle(self, lane: str, kind: str, started: float, ended: float) -> None:
        """The lane's own windows count the call from its end (see ``Window.settle``);
        the overall window, shared by lanes in flight together, keeps its start."""
        for window in self.windows_for(lane, kind):
            if window is not self.windows.get(("tg", "all")):
                window.settle(started, ended)

    def pause(self, lane: str, seconds: float, now: float) -> None:
        self.paused[lane] = max(self.paused.get(lane, 0.0), now + seconds)


MAX_ATTEMPTS = 30


def backoff(attempts: int, base: float = 0.5, cap: float = 60.0) -> float:
    return min(cap, base * 2 ** max(0, attempts - 1))


class Outbox:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        deliver: dict[str, Deliver],
        classify: Classify,
        limits: Limits | None = None,
        on_done: dict[str, Hook] | None = None,
        on_failed: dict[str, Hook] | None = None,
    ):
        self.db = db
        self.clock = clock
        self.deliver = deliver
        self.classify = classify
        self.limits = limits or Limits()
        self.on_done = on_done or {}
        self.on_failed = on_failed or {}
        self._wake = asyncio.Event()
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.stats = {"delivered": 0, "retried": 0, "failed": 0, "rate_limited": 0}

    def wake(self) -> None:
        """New rows were committed: look at them now rather than at the next tick."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            sleep = await self._start_due()
            try:
                await asyncio.wait_for(self._wake.wait(), sleep)
            except TimeoutError:
                pass
        await self.drain_in_flight(3.0)

    async def drain_in_flight(self, seconds: float) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=seconds)

    async def _start_due(self) -> float:
        now = time.time()
        sleep = 1.0
        for item in await rows.lane_heads(self.db.reader):
            if item.lane in self._busy:
                continue
            if item.not_before > now:
                sleep = min(sleep, item.not_before - now)
                continue
            kind = await self.classify(item)
            wait = self.limits.wait(item.lane, kind, time.monotonic())
            if wait > 0:
                sleep = min(sleep, wait)
                continue
            started = time.monotonic()
            self.limits.note(item.lane, kind, started)
            self._busy.add(item.lane)
            task = asyncio.create_task(self._deliver(item, kind, started))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return max(sleep, 0.005)

    async def _deliver(self, item: Item, kind: str = "call", started: float | None = None
                       ) -> None:
        try:
            await self._deliver_one(item, kind, started)
        except Exception:  # never let one row stop the worker
            log.exception("outbox row %s: unexpected error", item.id)
            async with self.db.tx() as conn:
                await rows.retry_later(conn, item.id, time.time() + 30, "internal error")
        finally:
            self._busy.discard(item.lane)
            self._wake.set()

    async def _deliver_one(self, item: Item, kind: str = "call",
                           started: float | None = None) -> None:
        async with self.db.tx() as conn:
            if not await rows.mark_sending(conn, item.id):
                return
        deliver = self.deliver.get(item.platform)
        try:
            if deliver is None:
                raise Permanent(f"no delivery for platform {item.platform!r}")
            try:
                result = await deliver(item)
            finally:
                if started is not None:
                    self.limits.settle(item.lane, kind, started, time.monotonic())
        except Retry as retry:
            await self._retry(item, retry)
            return
        except Permanent as exc:
            self.stats["failed"] += 1
            log.warning("outbox row %s (%s %s) failed: %s", item.id, item.platform,
                        item.method, exc)
            async with self.db.tx() as conn:
                await rows.mark_failed(conn, item.id, _clean(str(exc)), self.clock.now())
                hook = self.on_failed.get(item.purpose)
                if hook is not None:
                    await hook(conn, item, _clean(str(exc)))
            return
        self.stats["delivered"] += 1
        async with self.db.tx() as conn:
            await rows.mark_done(conn, item.id, result, self.clock.now())
            hook = self.on_done.get(item.purpose)
            if hook is not None:
                await hook(conn, item, result)

    async def _retry(self, item: Item, retry: Retry) -> None:
        self.stats["retried"] += 1
        retry.reason = _clean(retry.reason)
        if retry.pause_lane:
            self.stats["rate_limited"] += 1
            self.limits.pause(item.lane, retry.after, time.monotonic())
        attempts = item.attempts + 1
        if retry.transient and attempts >= MAX_ATTEMPTS:
            async with self.db.tx() as conn:
                message = f"gave up after {attempts} attempts: {retry.reason}"
                await rows.mark_failed(conn, item.id, message, self.clock.now())
                hook = self.on_failed.get(item.purpose)
                if hook is not None:
                    await hook(conn, item, message)
            return
        log.info("outbox row %s: retry in %.1fs (%s)", item.id, retry.after, retry.reason)
        async with self.db.tx() as conn:
            await rows.retry_later(conn, item.id, time.time() + retry.after, retry.reason)
