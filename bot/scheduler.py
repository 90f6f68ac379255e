"""Periodic work: each job is a short idempotent "tick" that looks at the clock.

Jobs do not fire at wall-clock instants; every few seconds they ask the domain clock
what is due (a reminder, a digest at 09:00, a post's slot) and record what they did,
so moving the sandbox clock makes things happen, and a restart repeats nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

Tick = Callable[[], Awaitable[Any]]


class Jobs:
    def __init__(self) -> None:
        self.ticks: list[tuple[str, Tick, float]] = []
        self.on_start: list[Callable[[Any], Awaitable[None]]] = []
        # one run of a job at a time, whoever starts it (the scheduler or run_all_once)
        self._running: dict[str, asyncio.Lock] = {}

    def add(self, name: str, tick: Tick, seconds: float) -> None:
        self.ticks.append((name, tick, seconds))

    async def startup(self, bot: Any) -> None:
        """Run every start-up hook; one that fails is one log line, and the rest still run."""
        for hook in self.on_start:
            try:
                await hook(bot)
            except Exception as exc:
                name = getattr(hook, "__qualname__", repr(hook))
                log.error("start-up hook %s failed: %s: %s", name, type(exc).__name__,
                          (str(exc).strip().splitlines() or [""])[0][:200])
                log.debug("start-up hook %s failed", name, exc_info=True)

    async def run_all_once(self) -> None:
        """Every job once, in order: what a test or the demo calls after moving time."""
        for name, tick, _ in self.ticks:
            await self._safe(name, tick)

    async def _safe(self, name: str, tick: Tick) -> None:
        async with self._running.setdefault(name, asyncio.Lock()):
            try:
                await tick()
            except Exception:  # a failing job must not stop the others or the process
                log.exception("job %s failed", name)

    async def run(self, stop: asyncio.Event) -> None:
        scheduler = AsyncIOScheduler()
        for name, tick, seconds in self.ticks:
            scheduler.add_job(self._safe, "interval", seconds=seconds, args=(name, tick),
                              id=name, max_instances=1, coalesce=True)
        scheduler.start()
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
