"""What a delivery function answers the outbox: done, try again later, or never.

Platform adapters raise ``Retry`` or ``Permanent`` from their delivery functions (sorted
from the platform's own errors); the worker records each outcome on the row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from storage.db import Conn


class Retry(Exception):
    """Try again later; ``pause_lane`` holds back everything else for that lane too.

    ``uncertain``: the call may have been carried out though we could not tell (a send
    is then looked for before it goes again); ``watermark``: message ids up to this have
    been looked at, none of them an orphan of this row left standing.
    """

    def __init__(self, after: float, reason: str, *, pause_lane: bool = False, transient=True,
                 uncertain: bool = False, watermark: int | None = None):
        super().__init__(reason)
        self.after = after
        self.reason = reason
        self.pause_lane = pause_lane
        self.transient = transient  # counts toward the attempt limit
        self.uncertain = uncertain
        self.watermark = watermark


@dataclass
class Done:
    """A delivery's result plus work to record in the same transaction as its success
    (which message ids are the bot's, a follow-up row), so that a crash cannot keep one
    without the other."""

    result: Any
    after: Callable[[Conn], Awaitable[None]] | None = None


class Permanent(Exception):
    """The platform refused for good; its words are kept on the row."""


def backoff(attempts: int, base: float = 0.5, cap: float = 60.0) -> float:
    """Seconds before try ``attempts + 1``: doubling from ``base``, at most ``cap``.

    Callers look it up as ``outcomes.backoff`` (a test may make it shorter)."""
    return min(cap, base * 2 ** max(0, attempts - 1))
