"""Absences: a staff member away until a local date, and the deputy acting for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from storage.db import Conn, fetch_all, fetch_value
from storage.incidents import iso


@dataclass(frozen=True)
class AbsenceRow:
    id: int
    user_id: int
    deputy_id: int
    until: date  # the last local day away
    set_at: str
    set_by: int | None


async def set_away(conn: Conn, user_id: int, deputy_id: int, until: date, now: datetime,
                   set_by: int | None) -> int:
    """A new absence; one open at a time per person, so an earlier one ends now."""
    await end(conn, user_id, now)
    found = await fetch_value(
        conn, "INSERT INTO absences(user_id, deputy_id, until, set_at, set_by)"
              " VALUES (?, ?, ?, ?, ?) RETURNING id",
        (user_id, deputy_id, until.isoformat(), iso(now), set_by))
    return int(found or 0)


async def end(conn: Conn, user_id: int, now: datetime) -> bool:
    """The person is back before the date they gave; False when they were not away."""
    cursor = await conn.execute(
        "UPDATE absences SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL",
        (iso(now), user_id))
    return bool(cursor.rowcount)


async def open_absences(conn: Conn, since: date) -> list[AbsenceRow]:
    """Absences not ended by hand and not over before ``since`` (a local date)."""
    rows = await fetch_all(
        conn, "SELECT id, user_id, deputy_id, until, set_at, set_by FROM absences"
              " WHERE ended_at IS NULL AND until >= ? ORDER BY id", (since.isoformat(),))
    return [AbsenceRow(r["id"], r["user_id"], r["deputy_id"], date.fromisoformat(r["until"]),
                       r["set_at"], r["set_by"]) for r in rows]


async def open_incidents_of(conn: Conn, user_id: int) -> list[int]:
    """The incidents assigned to a person that are still being worked on."""
    rows = await fetch_all(
        conn, "SELECT id FROM incidents WHERE assignee_id = ? AND state IN"
              " ('new', 'assigned', 'in_progress', 'answer_ready', 'returned', 'reopened')"
              " ORDER BY id", (user_id,))
    return [int(r["id"]) for r in rows]
