"""One aiohttp session per token, every call paced by one sliding window: what the thin
clients of ours (MAX, Одноклассники) share, so the long poll and the outbox of a token
never pass its limit together."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from bot.outbox.limits import Window


class PacedHttp:
    def __init__(self, per_second: int, timeout: float, headers: dict[str, str] | None = None):
        self._timeout = timeout
        self._headers = headers or {}
        self._window = Window(per_second, 1.0)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=aiohttp.ClientTimeout(total=self._timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _pace(self) -> None:
        while True:
            wait = self._window.wait(time.monotonic())
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        self._window.note(time.monotonic())
