"""A message's number and category in an external system, and its result on closing."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Conn, fetch_all, fetch_one


@dataclass(frozen=True)
class External:
    incident_id: int
    system: str = ""  # 'im', 'pos', 'portal'
    number: str = ""
    category: str = ""
    result: str = ""  # 'solved' (решено) or 'explained' (разъяснено)


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
    row = await fetch_one(conn, "SELECT * FROM incident_external WHERE incident_id = ?",
                          (incident_id,))
    return None if row is None else External(**dict(row))


async def many(conn: Conn, incident_ids: list[int]) -> dict[int, External]:
    if not incident_ids:
        return {}
    marks = ", ".join("?" for _ in incident_ids)
    rows = await fetch_all(conn, f"SELECT * FROM incident_external WHERE incident_id IN ({marks})",
                           tuple(incident_ids))
    return {r["incident_id"]: External(**dict(r)) for r in rows}
