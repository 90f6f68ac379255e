"""The health tables: heartbeats of sources and outbox lanes, recent failures, backlog."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.db import Conn, fetch_all

KEEP_FAILURES = 86400.0  # seconds a failure is kept


@dataclass
class Beat:
    name: str
    ok_at: float | None
    error_at: float | None
    error: str | None


@dataclass
class Lane:
    lane: str
    pending: int
    oldest: float | None  # since when its oldest unsettled row has waited (epoch seconds)


@dataclass
class Snapshot:
    """What the health tables say at ``now`` (real epoch seconds)."""

    now: float
    beats: dict[str, Beat] = field(default_factory=dict)
    lanes: list[Lane] = field(default_factory=list)
    failures: dict[str, tuple[int, str]] = field(default_factory=dict)  # name → (n, last)


async def record(conn: Conn, oks: dict[str, float], errors: dict[str, tuple[float, str]],
                 failures: list[tuple[str, float, str]], now: float) -> None:
    """Successes (name → when), latest errors (name → (when, what)) and every failure."""
    await conn.executemany(
        "INSERT INTO heartbeats(name, ok_at) VALUES (?, ?) ON CONFLICT(name) DO UPDATE"
        " SET ok_at = max(coalesce(heartbeats.ok_at, 0), excluded.ok_at)", list(oks.items()))
    await conn.executemany(
        "INSERT INTO heartbeats(name, error_at, error) VALUES (?, ?, ?) ON CONFLICT(name)"
        " DO UPDATE SET error_at = excluded.error_at, error = excluded.error",
        [(name, at, error) for name, (at, error) in errors.items()])
    await conn.executemany(
        "INSERT INTO health_failures(name, at, error) VALUES (?, ?, ?)", failures)
    await conn.execute("DELETE FROM health_failures WHERE at < ?", (now - KEEP_FAILURES,))


async def snapshot(conn: Conn, now: float, window: float = 3600.0) -> Snapshot:
    """Heartbeats, the backlog per lane and the failures of the last ``window`` seconds."""
    found = Snapshot(now=now)
    for row in await fetch_all(conn, "SELECT name, ok_at, error_at, error FROM heartbeats"):
        found.beats[row["name"]] = Beat(row["name"], row["ok_at"], row["error_at"],
                                        row["error"])
    for row in await fetch_all(
        conn,
        "SELECT lane, count(*) AS n, min(pending_since) AS oldest FROM outbox"
        " WHERE status IN ('pending', 'sending') GROUP BY lane ORDER BY lane",
    ):
        found.lanes.append(Lane(row["lane"], row["n"], row["oldest"]))
    for row in await fetch_all(
        conn,
        "SELECT name, count(*) AS n, (SELECT error FROM health_failures f2"
        " WHERE f2.name = f.name ORDER BY at DESC LIMIT 1) AS last"
        " FROM health_failures f WHERE at >= ? GROUP BY name ORDER BY name",
        (now - window,),
    ):
        found.failures[row["name"]] = (row["n"], row["last"] or "")
    return found
