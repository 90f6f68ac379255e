"""Routing corrections («Сменить блок») and the words an admin took back from learning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Conn, fetch_all
from storage.incidents import iso


@dataclass(frozen=True)
class CorrectionRow:
    incident_id: int
    from_block: str
    to_block: str
    text: str


async def add(conn: Conn, municipality: str, incident_id: int, now: datetime,
              actor_id: int | None, from_block: str, to_block: str, text: str) -> None:
    await conn.execute(
        "INSERT INTO routing_corrections(municipality, incident_id, at, actor_id, from_block,"
        " to_block, text) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (municipality, incident_id, iso(now), actor_id, from_block, to_block, text))


async def all_for(conn: Conn, municipality: str) -> list[CorrectionRow]:
    """Every correction of the municipality, oldest first; a message moved twice counts
    once, by where it went last."""
    rows = await fetch_all(
        conn, "SELECT incident_id, from_block, to_block, text FROM routing_corrections"
              " WHERE municipality = ? ORDER BY id", (municipality,))
    last: dict[int, CorrectionRow] = {}
    first_from: dict[int, str] = {}
    for r in rows:
        first_from.setdefault(r["incident_id"], r["from_block"])
        last[r["incident_id"]] = CorrectionRow(r["incident_id"], first_from[r["incident_id"]],
                                               r["to_block"], r["text"])
    return [c for c in last.values() if c.from_block != c.to_block]


async def unlearn(conn: Conn, municipality: str, word: str, block: str, now: datetime,
                  actor: str) -> None:
    await conn.execute(
        "INSERT INTO routing_unlearned(municipality, word, block, at, actor) VALUES"
        " (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", (municipality, word, block, iso(now), actor))


async def relearn(conn: Conn, municipality: str, word: str, block: str) -> bool:
    cursor = await conn.execute(
        "DELETE FROM routing_unlearned WHERE municipality = ? AND word = ? AND block = ?",
        (municipality, word, block))
    return bool(cursor.rowcount)


async def unlearned(conn: Conn, municipality: str) -> set[tuple[str, str]]:
    rows = await fetch_all(conn, "SELECT word, block FROM routing_unlearned"
                                 " WHERE municipality = ?", (municipality,))
    return {(r["word"], r["block"]) for r in rows}
