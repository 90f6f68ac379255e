"""Health you can monitor: heartbeats of the sources and the outbox, and what is stale.

The running process notes every successful poll of each source (Telegram's getUpdates,
each VK long poll, each watched public) and every failure, in memory; a job writes them
to the health tables every few seconds, with a heartbeat of the process itself. The
outbox's lanes beat on their own (storage triggers: a row settles). ``mcu-hub status``
and ``/status`` read the tables and say what is stale by the thresholds of
``[health]``. Times are real epoch seconds: an operator's watch is real, the domain
clock (which the sandbox moves) is not.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from bot.config import Config
from storage import health as tables
from storage.db import Database

log = logging.getLogger(__name__)

FLUSH_SECONDS = 5.0
PROCESS = "process"
TELEGRAM = "telegram"


class Health:
    """What the sources saw since the last flush (kept in memory: a poll every second
    must not be a write every second)."""

    def __init__(self, clock: Any = time.time):
        self.clock = clock
        self.oks: dict[str, float] = {}
        self.errors: dict[str, tuple[float, str]] = {}
        self.failures: list[tuple[str, float, str]] = []

    def ok(self, name: str) -> None:
        self.oks[name] = self.clock()

    def failed(self, name: str, error: str) -> None:
        now = self.clock()
        error = error.strip().splitlines()[0][:300] if error.strip() else "error"
        self.errors[name] = (now, error)
        if len(self.failures) < 1000:  # a flood of failures between two flushes: enough
            self.failures.append((name, now, error))

    async def flush(self, db: Database) -> None:
        """Write what was seen, and the process's own heartbeat."""
        now = self.clock()
        oks, errors, failures = {**self.oks, PROCESS: now}, self.errors, self.failures
        self.oks, self.errors, self.failures = {}, {}, []
        async with db.tx() as conn:
            await tables.record(conn, oks, errors, failures, now)


# ------------------------------------------------------------------ what is stale (pure)


@dataclass
class SourceState:
    name: str
    ok_at: float | None
    limit: float
    error: str | None = None
    error_at: float | None = None

    def age(self, now: float) -> float | None:
        return None if self.ok_at is None else max(0.0, now - self.ok_at)

    def stale(self, now: float) -> bool:
        age = self.age(now)
        return age is None or age > self.limit


@dataclass
class LaneState:
    lane: str
    pending: int
    oldest: float | None
    limit: float
    delivered_at: float | None = None

    def age(self, now: float) -> float:
        return 0.0 if self.oldest is None or not self.pending else max(0.0, now - self.oldest)

    def stale(self, now: float) -> bool:
        return self.pending > 0 and self.age(now) > self.limit


@dataclass
class Report:
    now: float
    sources: list[SourceState] = field(default_factory=list)
    lanes: list[LaneState] = field(default_factory=list)
    failures: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def stale(self) -> list[str]:
        """Names of what is stale: sources that did not poll, lanes that do not drain."""
        return ([s.name for s in self.sources if s.stale(self.now)]
                + [f"lane:{lane.lane}" for lane in self.lanes if lane.stale(self.now)])

    @property
    def failures_total(self) -> int:
        return sum(n for n, _ in self.failures.values())


def expected_sources(config: Config) -> dict[str, float]:
    """The sources this config runs, with how long each may go without a poll."""
    limit = float(config.health.source_stale_seconds)
    found = {PROCESS: max(limit, 2 * FLUSH_SECONDS), TELEGRAM: limit}
    for community in config.vk.communities:
        if community.longpoll and community.token.get_secret_value():
            found[f"vk:{community.id}"] = limit
    if config.vk.publics and config.vk.service_token.get_secret_value():
        publics = max(limit, 3.0 * config.vk.poll_interval_seconds)
        for public in config.vk.publics:
            found[f"vk:public:{public.id}"] = publics
    if config.max.token.get_secret_value():
        found["max"] = limit  # the MAX long poll (bot.sources.max)
    return found


def assess(config: Config, snapshot: tables.Snapshot) -> Report:
    """What the tables say, judged by the config's thresholds."""
    report = Report(now=snapshot.now, failures=snapshot.failures)
    for name, limit in expected_sources(config).items():
        beat = snapshot.beats.get(name)
        report.sources.append(SourceState(
            name, beat.ok_at if beat else None, limit,
            beat.error if beat else None, beat.error_at if beat else None))
    limit = float(config.health.outbox_stale_seconds)
    for lane in snapshot.lanes:
        beat = snapshot.beats.get(f"lane:{lane.lane}")
        report.lanes.append(LaneState(lane.lane, lane.pending, lane.oldest, limit,
                                      beat.ok_at if beat else None))
    return report


async def read(config: Config, db: Database, now: float | None = None) -> Report:
    return assess(config, await tables.snapshot(db.reader, time.time() if now is None
                                                else now))


def ago(seconds: float | None) -> str:
    """``42s``, ``5m``, ``3h``, ``2d``; ``never`` for None."""
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * 2 or (unit == "m" and seconds >= size):
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def plain(report: Report) -> str:
    """The report as ``mcu-hub status`` prints it (for an operator: English)."""
    now = report.now
    lines = ["sources (last successful poll):"]
    for s in report.sources:
        mark = "STALE" if s.stale(now) else "ok"
        line = f"  {s.name:<24} {ago(s.age(now)) + ' ago' if s.ok_at else 'never':<12} {mark}"
        if s.error and s.error_at and (s.ok_at is None or s.error_at > s.ok_at):
            line += f"  (last error {ago(now - s.error_at)} ago: {s.error})"
        lines.append(line)
    lines.append("outbox (pending rows per lane, the oldest waiting):")
    if not report.lanes:
        lines.append("  empty")
    for lane in report.lanes:
        mark = "STALE" if lane.stale(now) else "ok"
        lines.append(f"  {lane.lane:<24} {lane.pending:>5} pending, oldest {ago(lane.age(now))}"
                     f"  {mark}")
    lines.append(f"failures in the last hour: {report.failures_total}")
    for name, (count, last) in report.failures.items():
        lines.append(f"  {name:<24} {count:>5}  last: {last}")
    stale = report.stale
    lines.append(f"STALE: {', '.join(stale)}" if stale else "OK")
    return "\n".join(lines)
