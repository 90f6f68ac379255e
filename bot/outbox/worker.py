"""The outbox worker: delivers stored calls at the platforms' pace, once each.

A row is claimed (``sending``) in one transaction, the platform is called, and the
result with its consequences (a card's message id, an incident published) is recorded
in the next. The claim records the intent: a try is in flight and, for a Telegram send,
the highest message id the bot knew in the chat. After a crash, rows left in flight go
again: VK dedupes them by ``guid`` and ``random_id``, Telegram edits are idempotent, and a
Telegram *send* whose outcome is unknown is *uncertain*: it is not sent again blindly, the
Telegram edge first looks for the bot's own orphan above that id
(bot/platforms/telegram/sends.py).

Every failure ends in one of: delivered; retried, within ``MAX_ATTEMPTS`` for transient
trouble (5xx, an unreadable answer, the network, our own code); or failed, its reason
kept on the row and told to a person (the purpose's hook, else ``on_failed_default``).

Rate limits (``bot.outbox.limits``) are kept here, in real (monotonic) time, so that
429 and error 6 are the exception. What a delivery answers is ``bot.outbox.outcomes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bot.clock import Clock
from bot.logs import Redactor
from bot.outbox import outcomes
from bot.outbox.limits import Limits
from bot.outbox.outcomes import Done, Permanent, Retry
from storage import outbox as rows
from storage.db import Conn, Database
from storage.outbox import Item

log = logging.getLogger(__name__)

_redactor = Redactor()


def _clean(text: str) -> str:
    """A platform's or the network's words without secrets: aiohttp names the request
    URL (``…/bot<token>/…``) in some errors, and these words are stored on the row,
    put in the audit log and told to the coordinators."""
    return _redactor.redact(text)


Deliver = Callable[[Item], Awaitable[Any]]
Hook = Callable[[Conn, Item, Any], Awaitable[None]]
Classify = Callable[[Item], Awaitable[str]]
Watermark = Callable[[Conn, Item], Awaitable[int | None]]

MAX_ATTEMPTS = 30
# Seconds (real, times ``Limits.scale``) an edit may wait behind newer messages in a lane
# that is behind, before it gets its turn anyway: new cards go first, but a group flooded
# for longer still sees its cards' labels change.
EDIT_PATIENCE = 600.0


def weight_of(item: Item) -> int:
    """How many messages a call puts into a chat: an album is several."""
    media = item.params.get("media") if item.method == "sendMediaGroup" else None
    return len(media) if isinstance(media, list) and media else 1

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
        on_failed_default: Hook | None = None,
        watermark: Watermark | None = None,
    ):
        self.db = db
        self.clock = clock
        self.deliver = deliver
        self.classify = classify
        self.limits = limits or Limits()
        self.on_done = on_done or {}
        self.on_failed = on_failed or {}
        # a failure whose purpose has no hook of its own is told to a person through this
        self.on_failed_default = on_failed_default
        self.watermark = watermark
        self._wake = asyncio.Event()
        self._busy: set[str] = set()
        self._after_edit: set[str] = set()  # lanes whose last row was an edit
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

    @contextlib.asynccontextmanager
    async def paced(self, lane: str, kind: str = "edit", weight: int = 1) -> AsyncIterator[None]:
        """One more call within a delivery (a probe, a removal): it waits for the lane's
        budget like a row, and is counted like one."""
        while True:
            wait = self.limits.wait(lane, kind, time.monotonic(), weight)
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        started = time.monotonic()
        self.limits.note(lane, kind, started, weight)
        try:
            yield
        finally:
            self.limits.settle(lane, kind, started, time.monotonic())

    async def _start_due(self) -> float:
        now = time.time()
        sleep = 1.0
        heads = await rows.lane_heads(self.db.reader, now=now,
                                      patience=EDIT_PATIENCE * self.limits.scale,
                                      after_edit=self._after_edit)
        for item in heads:
            if item.lane in self._busy:
                continue
            if item.not_before > now:
                sleep = min(sleep, item.not_before - now)
                continue
            kind = await self.classify(item)
            weight = weight_of(item)
            wait = self.limits.wait(item.lane, kind, time.monotonic(), weight)
            if wait > 0:
                sleep = min(sleep, wait)
                continue
            started = time.monotonic()
            self.limits.note(item.lane, kind, started, weight)
            if kind == "edit":
                self._after_edit.add(item.lane)
            else:
                self._after_edit.discard(item.lane)
            self._busy.add(item.lane)
            task = asyncio.create_task(self._deliver(item, kind, started))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return max(sleep, 0.005)

    async def _deliver(self, item: Item, kind: str = "call", started: float | None = None
                       ) -> None:
        try:
            await self._deliver_one(item, kind, started)
        except Exception as exc:  # never let one row stop the worker, nor loop forever
            log.exception("outbox row %s: unexpected error", item.id)
            # the call may have gone out before our own code failed: a send is uncertain
            retry = Retry(outcomes.backoff(item.attempts + 1, 1.0), f"internal error: {exc}",
                          uncertain=kind == "send")
            with contextlib.suppress(Exception):
                await self._retry(item, retry)
        finally:
            self._busy.discard(item.lane)
            self._wake.set()

    async def _deliver_one(self, item: Item, kind: str = "call",
                           started: float | None = None) -> None:
        async with self.db.tx() as conn:
            mark = None
            if kind == "send" and self.watermark is not None:
                mark = await self.watermark(conn, item)
            claimed = await rows.claim(conn, item.id, mark)
            if claimed is None:
                return
        item = dataclasses.replace(item, uncertain=claimed.uncertain,
                                   watermark=claimed.watermark)
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
            log.warning("outbox row %s (%s %s) failed: %s", item.id, item.platform,
                        item.method, exc)
            await self._fail(item, _clean(str(exc)))
            return
        after = None
        if isinstance(result, Done):
            result, after = result.result, result.after
        self.stats["delivered"] += 1
        async with self.db.tx() as conn:
            await rows.mark_done(conn, item.id, result, self.clock.now())
            if after is not None:
                await after(conn)
            hook = self.on_done.get(item.purpose)
            if hook is not None:
                await hook(conn, item, result)

    async def _fail(self, item: Item, message: str) -> None:
        """The row failed for good: its reason is kept and told to a person, once."""
        self.stats["failed"] += 1
        async with self.db.tx() as conn:
            if not await rows.mark_failed(conn, item.id, message, self.clock.now()):
                return
            hook = self.on_failed.get(item.purpose, self.on_failed_default)
            if hook is not None:
                await hook(conn, item, message)

    async def _retry(self, item: Item, retry: Retry) -> None:
        self.stats["retried"] += 1
        retry.reason = _clean(retry.reason)
        if retry.pause_lane:
            self.stats["rate_limited"] += 1
            self.limits.pause(item.lane, retry.after, time.monotonic())
        attempts = item.attempts + 1
        # transient trouble counts toward the limit; waits the platform asks for (429)
        # only toward a far one, so that not even those can hold a lane forever
        if attempts >= (MAX_ATTEMPTS if retry.transient else 4 * MAX_ATTEMPTS):
            log.warning("outbox row %s (%s %s) gave up after %s attempts: %s", item.id,
                        item.platform, item.method, attempts, retry.reason)
            await self._fail(item, f"gave up after {attempts} attempts: {retry.reason}")
            return
        log.info("outbox row %s: retry in %.1fs (%s)", item.id, retry.after, retry.reason)
        async with self.db.tx() as conn:
            await rows.retry_later(conn, item.id, time.time() + retry.after, retry.reason,
                                   uncertain=retry.uncertain, watermark=retry.watermark)
