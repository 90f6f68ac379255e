"""What the coordinator's Monday needs from storage: the search column and its look-up,
the open work for /inbox and the status message, and notices gathered per person.

Plain SQL that PostgreSQL runs as well: the search column holds lowercase words and
lemmas computed in Python (``bot.services.search``), so a case-sensitive LIKE suffices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Conn, fetch_all
from storage.incidents import Incident, _from_row, iso

# cursors of the status message in the staff group: its message id, the text it shows
BOARD_MESSAGE, BOARD_TEXT, BOARD_AT = "board:message", "board:text", "board:at"


def _like(term: str) -> str:
    """A LIKE pattern for a word that starts a word of the search column."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "% " + escaped + "%"


# -- the search column -----------------------------------------------------------------


async def unindexed(conn: Conn, limit: int) -> list[tuple[int, str, str]]:
    """Incidents whose search column is empty: (id, text, author's name)."""
    rows = await fetch_all(
        conn, "SELECT id, text, author_name FROM incidents WHERE search_text IS NULL"
              " ORDER BY id LIMIT ?", (limit,))
    return [(int(r[0]), r[1], r[2]) for r in rows]


async def set_search_text(conn: Conn, rows: list[tuple[int, str]]) -> None:
    """Fill the search column (no version bump: the card's buttons stay valid)."""
    await conn.executemany("UPDATE incidents SET search_text = ? WHERE id = ?",
                           [(text, incident_id) for incident_id, text in rows])


async def search(conn: Conn, words: list[list[str]], number: int | None, *, limit: int,
                 offset: int) -> list[Incident]:
    """Incidents where every query word matches one of its forms, or whose number is
    ``number``; the newest first, ``limit`` from ``offset``."""
    clauses: list[str] = []
    params: list[object] = []
    for forms in words:
        clauses.append("(" + " OR ".join("search_text LIKE ? ESCAPE '\\'" for _ in forms) + ")")
        params.extend(_like(form) for form in forms)
    where = " AND ".join(clauses) if clauses else "1 = 0"
    if number is not None:
        where = f"id = ? OR ({where})"
        params.insert(0, number)
    rows = await fetch_all(
        conn, f"SELECT * FROM incidents WHERE {where} ORDER BY id = ? DESC, id DESC"
              " LIMIT ? OFFSET ?", (*params, number if number is not None else -1, limit,
                                    offset))
    return [_from_row(row) for row in rows]


# -- the open work ---------------------------------------------------------------------


async def open_work(conn: Conn, states: list[str],
                    blocks: list[str] | None = None) -> list[Incident]:
    """Incidents in these states (of these blocks), oldest first."""
    marks = ", ".join("?" for _ in states)
    params: list[object] = list(states)
    where = f"state IN ({marks})"
    if blocks is not None:
        if not blocks:
            return []
        where += f" AND block IN ({', '.join('?' for _ in blocks)})"
        params.extend(blocks)
    rows = await fetch_all(conn, f"SELECT * FROM incidents WHERE {where} ORDER BY id",
                           tuple(params))
    return [_from_row(row) for row in rows]


# -- notices gathered per person ---------------------------------------------------------


@dataclass(frozen=True)
class Gathered:
    user_id: int
    kind: str
    incident_id: int
    due_key: str
    queued_at: datetime


async def gather(conn: Conn, items: list[tuple[int, str, int, str]], now: datetime) -> None:
    """Add (person, kind, incident, key) items; one already there stays as it was."""
    await conn.executemany(
        "INSERT INTO gathered_items(user_id, kind, incident_id, due_key, queued_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(*item, iso(now)) for item in items])


async def waiting(conn: Conn) -> list[Gathered]:
    """Items not sent yet, in the order they came."""
    rows = await fetch_all(
        conn, "SELECT user_id, kind, incident_id, due_key, queued_at FROM gathered_items"
              " WHERE sent_at IS NULL ORDER BY queued_at, incident_id")
    return [Gathered(int(r[0]), r[1], int(r[2]), r[3], datetime.fromisoformat(r[4]))
            for r in rows]


async def mark_sent(conn: Conn, items: list[Gathered], now: datetime) -> None:
    """These items went out (or are resolved and never will): they are not sent again."""
    await conn.executemany(
        "UPDATE gathered_items SET sent_at = ? WHERE user_id = ? AND kind = ?"
        " AND incident_id = ? AND due_key = ?",
        [(iso(now), g.user_id, g.kind, g.incident_id, g.due_key) for g in items])
