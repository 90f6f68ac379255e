"""The reports' questions: counts of a period, overdue work, the rows ratings are made of.

Counts are SQL aggregates over indexed columns (``received_at``, ``published_at``,
``due_at``, ``state``, ``incident_events(action, at)``), so a digest costs the same with
a hundred incidents or a hundred thousand. Each figure is its own query over its own
index, rather than one scan of everything. Periods are half-open ``[start, end)``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

from storage.db import Conn, fetch_all
from storage.incidents import iso, parse_time

Key = tuple[str, str]  # (source, block)


@dataclass
class Counts:
    """Per source, block or in total. The first four count the period, the rest now."""

    new: int = 0  # received in the period
    answered: int = 0  # answer published in the period
    late: int = 0  # of those, published after the deadline
    reopened: int = 0  # reopened in the period (the citizen objected, or staff)
    open: int = 0  # in work now, whatever their age
    unassigned: int = 0  # of the open: nobody has taken them yet
    overdue: int = 0  # of the open: past the deadline now

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def quiet(self) -> bool:
        return not (self.new or self.answered or self.reopened or self.open)


@dataclass
class OverdueItem:
    id: int
    block: str
    assignee_id: int | None
    due_at: datetime


@dataclass
class Handled:
    """An incident whose answer was published: what ratings are made of."""

    assignee_id: int | None
    block: str
    received_at: datetime
    first_reply_at: datetime | None
    published_at: datetime
    due_at: datetime | None
    returns: int
    reopens: int
    rating: int | None
    thanked: bool = False  # the citizen thanked for the answer (a satisfaction)


@dataclass
class ExportRow:
    """An incident as the XLSX export lists it."""

    id: int
    received_at: datetime
    source: str
    block: str
    priority: str
    state: str
    assignee_id: int | None
    due_at: datetime | None
    first_reply_at: datetime | None
    published_at: datetime | None
    returns: int
    reopens: int
    rating: int | None
    text: str
    link: str | None


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


async def volume(conn: Conn, start: datetime, end: datetime, now: datetime | None,
                 reopen_actions: Sequence[str], open_states: Sequence[str]) -> dict[Key, Counts]:
    """Counts per (source, block); ``now`` adds the open and overdue ones at that moment."""
    first, last = iso(start), iso(end)
    table: dict[Key, Counts] = defaultdict(Counts)
    for source, block, n in await fetch_all(
        conn,
        "SELECT source, block, count(*) FROM incidents"
        " WHERE received_at >= ? AND received_at < ?"
        # a card merged into another is that group's message, not an incident of its own
        " AND source_key NOT IN (SELECT source_key FROM incident_members)"
        " GROUP BY source, block",
        (first, last),
    ):
        table[source, block].new = n
    for source, block, n, late in await fetch_all(
        conn,
        "SELECT source, block, count(*), total(due_at IS NOT NULL AND published_at > due_at)"
        " FROM incidents WHERE published_at >= ? AND published_at < ?"
        " GROUP BY source, block",
        (first, last),
    ):
        table[source, block].answered = n
        table[source, block].late = int(late)
    for source, block, n in await fetch_all(
        conn,
        "SELECT i.source, i.block, count(DISTINCT e.incident_id) FROM incident_events e"
        " JOIN incidents i ON i.id = e.incident_id"
        f" WHERE e.action IN ({_marks(reopen_actions)}) AND e.at >= ? AND e.at < ?"
        " GROUP BY i.source, i.block",
        (*reopen_actions, first, last),
    ):
        table[source, block].reopened = n
    if now is not None:
        for source, block, n, unassigned, overdue in await fetch_all(
            conn,
            "SELECT source, block, count(*), total(state = 'new'), total(due_at < ?)"
            f" FROM incidents WHERE state IN ({_marks(open_states)}) GROUP BY source, block",
            (iso(now), *open_states),
        ):
            counts = table[source, block]
            counts.open, counts.unassigned, counts.overdue = n, int(unassigned), int(overdue)
    return table


async def overdue(conn: Conn, now: datetime, limit: int,
                  open_states: Sequence[str]) -> list[OverdueItem]:
    """Open incidents past their deadline, the longest overdue first."""
    rows = await fetch_all(
        conn,
        f"SELECT id, block, assignee_id, due_at FROM incidents"
        f" WHERE state IN ({_marks(open_states)}) AND due_at < ? ORDER BY due_at, id LIMIT ?",
        (*open_states, iso(now), limit),
    )
    return [OverdueItem(row["id"], row["block"], row["assignee_id"],
                        datetime.fromisoformat(row["due_at"])) for row in rows]


async def texts(conn: Conn, start: datetime, end: datetime) -> list[str]:
    """The period's citizens' words (the first 1000 characters of each): its topics."""
    rows = await fetch_all(
        conn,
        "SELECT substr(text, 1, 1000) FROM incidents WHERE received_at >= ? AND received_at < ?"
        " AND source_key NOT IN (SELECT source_key FROM incident_members)",
        (iso(start), iso(end)),
    )
    return [row[0] for row in rows]


@dataclass
class StormRow:
    id: int
    block: str
    text: str
    authors: int  # everyone who wrote, the group's first author too


async def storms(conn: Conn, start: datetime, end: datetime, least: int,
                 limit: int = 5) -> list[StormRow]:
    """Group incidents that began in the period with at least ``least`` authors, the
    biggest first: a comment storm is one incident, and the digest names it."""
    rows = await fetch_all(
        conn,
        "SELECT id, block, text, authors FROM ("
        " SELECT i.id AS id, i.block AS block, substr(i.text, 1, 200) AS text,"
        " count(DISTINCT m.author_id) + CASE WHEN sum(CASE WHEN m.author_id = i.author_id"
        " THEN 1 ELSE 0 END) = 0 THEN 1 ELSE 0 END AS authors"
        " FROM incidents i JOIN incident_members m ON m.incident_id = i.id"
        " WHERE i.received_at >= ? AND i.received_at < ?"
        " GROUP BY i.id, i.block, i.text, i.author_id) AS s"
        " WHERE authors >= ? ORDER BY authors DESC, id LIMIT ?",
        (iso(start), iso(end), least, limit),
    )
    return [StormRow(int(r["id"]), str(r["block"]), str(r["text"]), int(r["authors"]))
            for r in rows]


async def received_by_day(conn: Conn, start: datetime, end: datetime,
                          offset: timedelta) -> dict[tuple[date, str], int]:
    """Incidents received per local day (UTC + ``offset``) and block."""
    rows = await fetch_all(
        conn,
        "SELECT date(received_at, ?) AS day, block, count(*) FROM incidents"
        " WHERE received_at >= ? AND received_at < ? GROUP BY day, block",
        (f"{int(offset.total_seconds()):+d} seconds", iso(start), iso(end)),
    )
    return {(date.fromisoformat(day), block): n for day, block, n in rows}


_HANDLED = [f.name for f in fields(Handled) if f.name != "thanked"]
# a thank-you after the answer (bot.domain.feedback): an event of the incident
_THANKED = ("EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = incidents.id"
            " AND e.action = 'thanks') AS thanked")
_EXPORTED = [f.name for f in fields(ExportRow)]
_TIMES = {"received_at", "first_reply_at", "published_at", "due_at"}


def _values(row: object, names: list[str]) -> dict[str, object]:
    return {name: parse_time(row[name]) if name in _TIMES else row[name]  # type: ignore[index]
            for name in names}


async def _incidents(conn: Conn, names: list[str], where: str, start: datetime,
                     end: datetime) -> list[dict[str, object]]:
    """The columns ``names`` of the incidents ``where`` says, in a period, times parsed."""
    rows = await fetch_all(conn, f"SELECT {', '.join(names)} FROM incidents WHERE {where}",
                           (iso(start), iso(end)))
    return [_values(row, [n.rpartition(" AS ")[2] for n in names]) for row in rows]


async def handled(conn: Conn, start: datetime, end: datetime) -> list[Handled]:
    """The incidents whose answer was published in the period (rejected ones aside)."""
    rows = await _incidents(conn, [*_HANDLED, _THANKED], "published_at >= ? AND"
                            " published_at < ? AND state != 'rejected'", start, end)
    return [Handled(**{**row, "thanked": bool(row["thanked"])})  # type: ignore[arg-type]
            for row in rows]


async def exported(conn: Conn, start: datetime, end: datetime) -> list[ExportRow]:
    """The incidents received in the period, in the order they came."""
    rows = await _incidents(conn, _EXPORTED, "received_at >= ? AND received_at < ?"
                            " ORDER BY received_at, id", start, end)
    return [ExportRow(**row) for row in rows]  # type: ignore[arg-type]
