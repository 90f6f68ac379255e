"""Time for the domain: always taken from a clock, so tests and the sandbox can move it."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Protocol

import aiohttp

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told: for unit tests."""

    def __init__(self, start: datetime):
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self._now += timedelta(seconds=seconds)


class SandboxClock:
    """Follows the sandbox's clock: real time plus the offset the sandbox reports.

    ``follow()`` asks the sandbox once a second, so a jump of the sandbox clock is seen
    within about a second; between polls time runs on at the real pace.
    """

    def __init__(self, url: str, interval: float = 1.0):
        self.url = url
        self.interval = interval
        self._offset = 0.0
        self.changed = asyncio.Event()

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self._offset, UTC)

    async def sync(self, session: aiohttp.ClientSession) -> None:
        async with session.get(self.url) as response:
            data = await response.json()
        offset = datetime.fromisoformat(data["now"]).timestamp() - time.time()
        if abs(offset - self._offset) > 1.0:
            self.changed.set()
        self._offset = offset

    async def first_sync(self) -> None:
        """Before anything reads the time: the sandbox may still be starting (10 s)."""
        async with aiohttp.ClientSession() as session:
            for _ in range(50):
                try:
                    await self.sync(session)
                    return
                except (aiohttp.ClientError, OSError):
                    await asyncio.sleep(0.2)

    async def follow(self, stop: asyncio.Event) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            while not stop.is_set():
                try:
                    await self.sync(session)
                except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
                    log.warning("sandbox clock unreachable: %s", exc)
                try:
                    await asyncio.wait_for(stop.wait(), self.interval)
                except TimeoutError:
                    pass
