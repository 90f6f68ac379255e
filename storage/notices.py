"""The deadline scan's tables: which incidents to look at when, and the notices sent.

``deadline_queue`` (migration 0002) holds, for each incident that may still owe a
reminder, an escalation or a first-reply alert, the earliest moment one can fall due;
triggers put an incident back in front ('') whenever its state, assignee or deadlines
change. ``notices`` records every notice once, so none goes twice, also across restarts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.db import Conn, fetch_all, fetch_one
from storage.incidents import iso, parse_time

# The events that start the deadline's clock again (the citizen wrote again, or the
# coordinator's «reopen»): reminders count from the latest of them.
RESTART_ACTIONS = ("citizen_reply", "reopen")

_COLUMNS = ("id", "state", "policy", "block", "text", "assignee_id", "assigned_at",
            "received_at", "due_at", "first_reply_due_at", "first_reply_at", "overdue_at",
            "card_chat_id", "card_message_id")
_RESTARTED = (
    "(SELECT MAX(e.at) FROM incident_events e WHERE e.incident_id = i.id AND e.action IN ("
    + ", ".join(f"'{action}'" for action in RESTART_ACTIONS) + ")) AS restarted_at"
)
_TIMES = ("assigned_at", "received_at", "due_at", "first_reply_due_at", "first_reply_at",
          "overdue_at", "restarted_at")


@dataclass(frozen=True)
class Watch:
    """The part of an incident the scan needs (no JSON, no answer text: fast to load)."""

    id: int
    state: str
    policy: str
    block: str
    text: str
    assignee_id: int | None
    assigned_at: datetime | None
    received_at: datetime
    due_at: datetime | None
    first_reply_due_at: datetime | None
    first_reply_at: datetime | None
    overdue_at: datetime | None
    card_chat_id: int | None = None
    card_message_id: int | None = None
    restarted_at: datetime | None = None  # the last reopening: the deadline ran again

    @classmethod
    def from_row(cls, row: object) -> Watch:
        values = {name: row[name] for name in _COLUMNS}  # type: ignore[index]
        values["restarted_at"] = row["restarted_at"]  # type: ignore[index]
        for name in _TIMES:
            values[name] = parse_time(values[name])
        return cls(**values)

    @property
    def work_started(self) -> datetime:
        """Where the executor's reminders count from: the assignment or the last
        reopening, whichever is later (the deadline's clock started again then)."""
        moments = [m for m in (self.assigned_at, self.restarted_at) if m is not None]
        return max(moments) if moments else self.received_at


async def any_due(conn: Conn, now: datetime) -> bool:
    """Whether any incident is due a look: one indexed read, no write lock."""
    return await fetch_one(conn, "SELECT 1 FROM deadline_queue WHERE next_at <= ? LIMIT 1",
                           (iso(now),)) is not None


async def due(conn: Conn, now: datetime, limit: int) -> list[Watch]:
    """Up to ``limit`` incidents due a look, the earliest first."""
    columns = ", ".join(f"i.{name}" for name in _COLUMNS)
    rows = await fetch_all(
        conn,
        f"SELECT {columns}, {_RESTARTED} FROM deadline_queue q"
        " JOIN incidents i ON i.id = q.incident_id"
        " WHERE q.next_at <= ? ORDER BY q.next_at LIMIT ?",
        (iso(now), limit),
    )
    return [Watch.from_row(row) for row in rows]


async def handled(conn: Conn, incident_ids: Iterable[int]) -> dict[int, set[tuple[str, str]]]:
    """The notices recorded for these incidents: (kind, due key) each."""
    found: dict[int, set[tuple[str, str]]] = {i: set() for i in incident_ids}
    if not found:
        return found
    marks = ", ".join("?" for _ in found)
    for row in await fetch_all(
            conn, f"SELECT incident_id, kind, due_key FROM notices"
            f" WHERE incident_id IN ({marks})", tuple(found)):
        found[row[0]].add((row[1], row[2]))
    return found


async def record(conn: Conn, incident_id: int, kind: str, due_key: str, now: datetime) -> bool:
    """Mark the notice as done; False if it already was (it must not go again)."""
    row = await fetch_one(
        conn,
        "INSERT INTO notices(incident_id, kind, due_key, sent_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        (incident_id, kind, due_key, iso(now)),
    )
    return row is not None


def _ceil_iso(moment: datetime) -> str:
    """Stored times have whole seconds: round up, so the row is not read too early."""
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return iso(moment)


async def reschedule(conn: Conn, finished: list[int], later: list[tuple[int, datetime]]) -> None:
    """Incidents that owe nothing more leave the queue; the others are looked at again
    at their moment (incident id, when)."""
    if finished:
        await conn.executemany("DELETE FROM deadline_queue WHERE incident_id = ?",
                               [(i,) for i in finished])
    if later:
        await conn.executemany("UPDATE deadline_queue SET next_at = ? WHERE incident_id = ?",
                               [(_ceil_iso(at), i) for i, at in later])
