"""The Bots Long Poll half of the VK stand-in: one event history per community.

It keeps what VK's long poll server keeps — a numbered event history, issued keys and
the ``failed`` answers — so a consumer's recovery from ``failed`` 1/2/3 is exercised
exactly as against VK. Control can force each failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from typing import Any

API_VERSION = "5.199"
MAX_WAIT = 90  # VK caps ``wait`` at 90 seconds


class LongPoll:
    """One community's event stream: numbered events, keys and forced failures."""

    HISTORY = 50_000  # events kept; older ``ts`` answer ``failed: 1``
    BATCH = 1_000  # events per answer, so a backlog arrives in pieces as from VK
    DUMP_EVENTS = 5_000  # events kept across a restart with ``--state``

    def __init__(self, group_id: int) -> None:
        self.group_id = group_id
        self.events: list[dict[str, Any]] = []
        self.first_ts = 1  # the number of ``events[0]``
        self.keys: dict[str, int] = {}  # key -> 0 (valid) or the ``failed`` it now answers
        self.failed1_pending = False
        self.closing = False
        self._waiters: set[asyncio.Event] = set()

    @property
    def next_ts(self) -> int:
        """The number the next event will get: what ``getLongPollServer`` hands out."""
        return self.first_ts + len(self.events)

    def new_key(self) -> str:
        key = secrets.token_hex(20)
        self.keys[key] = 0
        return key

    def emit(self, event_type: str, obj: dict[str, Any]) -> None:
        self._append(event_type, obj)
        self._wake()

    def emit_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        for event_type, obj in items:
            self._append(event_type, obj)
        self._wake()

    def force(self, failed: int) -> None:
        """Make the consumer see ``failed`` as VK would send it.

        1: the next check answers ``failed: 1`` with the current ts (events in between
        are lost, as when VK's history is cut); 2: every issued key expires;
        3: every issued key answers ``failed: 3`` (information lost: new key and ts).
        """
        if failed == 1:
            self.failed1_pending = True
        elif failed in (2, 3):
            for key, status in self.keys.items():
                if status == 0:
                    self.keys[key] = failed
        else:
            raise ValueError("failed is 1, 2 or 3")
        self._wake()

    async def check(self, key: str, ts_raw: str, wait: float) -> dict[str, Any]:
        """Answer one ``a_check``: events from ``ts`` on, or wait up to ``wait`` seconds."""
        deadline = time.monotonic() + min(max(wait, 0.0), MAX_WAIT)
        while True:
            status = self.keys.get(key)
            if status is None:
                return {"failed": 2}
            if status:
                return {"failed": status}
            if self.failed1_pending:
                self.failed1_pending = False
                return {"failed": 1, "ts": self.next_ts}
            try:
                ts = int(ts_raw)
            except (TypeError, ValueError):
                return {"failed": 1, "ts": self.next_ts}
            if ts < self.first_ts:
                return {"failed": 1, "ts": self.first_ts}
            if ts > self.next_ts:
                return {"failed": 1, "ts": self.next_ts}
            if ts < self.next_ts:
                start = ts - self.first_ts
                batch = self.events[start : start + self.BATCH]
                return {"ts": str(ts + len(batch)), "updates": batch}
            left = deadline - time.monotonic()
            if left <= 0 or self.closing:
                return {"ts": str(ts), "updates": []}
            waiter = asyncio.Event()
            self._waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter.wait(), left)
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(waiter)

    def close(self) -> None:
        """Release waiting checks so the server can stop at once."""
        self.closing = True
        self._wake()

    def dump(self) -> dict[str, Any]:
        kept = self.events[-self.DUMP_EVENTS :]
        return {
            "first_ts": self.next_ts - len(kept),
            "events": kept,
            "keys": dict(self.keys),
        }

    @classmethod
    def load(cls, group_id: int, data: dict[str, Any]) -> LongPoll:
        poll = cls(group_id)
        poll.first_ts = int(data.get("first_ts", 1))
        poll.events = list(data.get("events", []))
        poll.keys = {str(k): int(v) for k, v in data.get("keys", {}).items()}
        return poll

    def _append(self, event_type: str, obj: dict[str, Any]) -> None:
        number = self.next_ts
        self.events.append(
            {
                "group_id": self.group_id,
                "type": event_type,
                "event_id": hashlib.sha1(f"{self.group_id}:{number}".encode()).hexdigest(),
                "v": API_VERSION,
                "object": obj,
            }
        )
        overflow = len(self.events) - self.HISTORY
        if overflow > 0:
            del self.events[:overflow]
            self.first_ts += overflow

    def _wake(self) -> None:
        for waiter in self._waiters:
            waiter.set()
