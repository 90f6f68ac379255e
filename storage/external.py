"""A message's number and category in an external system, and its result on closing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Conn, fetch_all, fetch_one
from storage.incidents import parse_time


@dataclass(frozen=True)
class External:
    incident_id: int
    system: str = ""  # 'im', 'pos', 'portal'
    number: str = ""
    category: str = ""
    result: str = ""  # 'solved' (решено) or 'explained' (разъяснено)


_COLUMNS = "incident_id, system, number, category, result"  # not PostgreSQL's tenancy key


async def put(conn: Conn, incident_id: int, **values: str) -> None:
    """Set some of the fields, keeping the others."""
    current = await get(conn, incident_id) or External(incident_id)
    merged = {**current.__dict__, **values}
    await conn.execute(
        "INSERT INTO incident_external(incident_id, system, number, category, result)"
        " VALUES (:incident_id, :system, :number, :category, :result)"
        " ON CONFLICT(incident_id) DO UPDATE SET system = excluded.system,"
        " number = excluded.number, category = excluded.category, result = excluded.result",
        merged)


async def get(conn: Conn, incident_id: int) -> External | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM incident_external"
                                " WHERE incident_id = ?", (incident_id,))
    return None if row is None else External(**dict(row))


async def many(conn: Conn, incident_ids: list[int]) -> dict[int, External]:
    if not incident_ids:
        return {}
    marks = ", ".join("?" for _ in incident_ids)
    rows = await fetch_all(conn, f"SELECT {_COLUMNS} FROM incident_external"
                                 f" WHERE incident_id IN ({marks})", tuple(incident_ids))
    return {r["incident_id"]: External(**dict(r)) for r in rows}


@dataclass(frozen=True)
class ExportExtras:
    """What the regional centre's report needs beyond ``reports.ExportRow``."""

    answer_text: str
    assigned_at: datetime | None
    answered_at: datetime | None  # the last draft submitted
    approved_at: datetime | None
    closed_at: datetime | None
    system: str
    number: str
    category: str
    result: str


_EXTRAS = """
SELECT i.id, coalesce(i.answer_text, '') AS answer_text, i.assigned_at, i.closed_at,
       coalesce(x.system, '') AS system, coalesce(x.number, '') AS number,
       coalesce(x.category, '') AS category, coalesce(x.result, '') AS result,
       (SELECT max(at) FROM incident_events e WHERE e.incident_id = i.id
            AND e.action = 'submit') AS answered_at,
       (SELECT max(at) FROM incident_events e WHERE e.incident_id = i.id
            AND e.action = 'approve') AS approved_at
FROM incidents i LEFT JOIN incident_external x ON x.incident_id = i.id
WHERE i.id IN ({marks})
"""


async def export_extras(conn: Conn, incident_ids: list[int]) -> dict[int, ExportExtras]:
    found: dict[int, ExportExtras] = {}
    for start in range(0, len(incident_ids), 500):  # within SQLite's variable limit
        chunk = incident_ids[start:start + 500]
        rows = await fetch_all(conn, _EXTRAS.format(marks=", ".join("?" for _ in chunk)),
                               tuple(chunk))
        for r in rows:
            found[r["id"]] = ExportExtras(
                r["answer_text"], parse_time(r["assigned_at"]), parse_time(r["answered_at"]),
                parse_time(r["approved_at"]), parse_time(r["closed_at"]), r["system"],
                r["number"], r["category"], r["result"])
    return found
