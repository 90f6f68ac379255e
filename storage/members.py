"""The members of a group incident (a comment storm, or a merged card): each message
kept whole with its author and where its answer goes."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.db import Conn, fetch_all, fetch_one, fetch_value
from storage.incidents import iso, parse_time


@dataclass
class NewMember:
    source_key: str
    author_id: str
    text: str
    written_at: datetime
    author_name: str = ""
    author_link: str | None = None
    link: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    reply_target: dict[str, Any] = field(default_factory=dict)
    merged_from: int | None = None


@dataclass
class Member:
    id: int
    incident_id: int
    source_key: str
    author_id: str
    author_name: str
    author_link: str | None
    text: str
    link: str | None
    attachments: list[dict[str, Any]]
    reply_target: dict[str, Any]
    written_at: datetime
    joined_at: datetime
    merged_from: int | None
    published_round: int | None
    failed: str | None


def _from_row(row: sqlite3.Row) -> Member:
    values = dict(row)
    values.pop("municipality", None)  # PostgreSQL's tenancy key
    values["attachments"] = json.loads(values["attachments"])
    values["reply_target"] = json.loads(values["reply_target"])
    values["written_at"] = parse_time(values["written_at"])
    values["joined_at"] = parse_time(values["joined_at"])
    return Member(**values)


async def add(conn: Conn, incident_id: int, new: NewMember, now: datetime) -> int | None:
    """The message as a member of the group; None when it is a member already."""
    found = await fetch_value(
        conn, "INSERT INTO incident_members(incident_id, source_key, author_id, author_name,"
        " author_link, text, link, attachments, reply_target, written_at, joined_at,"
        " merged_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(source_key) DO NOTHING RETURNING id",
        (incident_id, new.source_key, new.author_id, new.author_name, new.author_link,
         new.text, new.link, json.dumps(new.attachments, ensure_ascii=False),
         json.dumps(new.reply_target, ensure_ascii=False), iso(new.written_at), iso(now),
         new.merged_from))
    return None if found is None else int(found)


async def of(conn: Conn, incident_id: int) -> list[Member]:
    """The group's members, oldest first."""
    rows = await fetch_all(conn, "SELECT * FROM incident_members WHERE incident_id = ?"
                                 " ORDER BY written_at, id", (incident_id,))
    return [_from_row(r) for r in rows]


async def newest(conn: Conn, incident_id: int, limit: int) -> list[Member]:
    """The group's ``limit`` newest members, oldest of them first (a storm of thousands
    is compared with its latest words, not read whole for every newcomer)."""
    rows = await fetch_all(conn, "SELECT * FROM incident_members WHERE incident_id = ?"
                                 " ORDER BY id DESC LIMIT ?",
                           (incident_id, limit))
    return [_from_row(r) for r in reversed(rows)]


async def get(conn: Conn, member_id: int) -> Member | None:
    row = await fetch_one(conn, "SELECT * FROM incident_members WHERE id = ?", (member_id,))
    return _from_row(row) if row else None


async def open_groups_in_thread(conn: Conn, thread_key: str, states: list[str]) -> list[int]:
    """Incidents of this thread in ``states``, newest first: the groups a message may join."""
    marks = ",".join("?" * len(states))
    rows = await fetch_all(conn, f"SELECT id FROM incidents WHERE thread_key = ?"
                                 f" AND state IN ({marks}) ORDER BY id DESC LIMIT 20",
                           (thread_key, *states))
    return [int(r["id"]) for r in rows]


async def group_of_author(conn: Conn, thread_key: str, author_id: str) -> int | None:
    """The group on this thread the author last wrote in as a member, if any."""
    row = await fetch_one(
        conn, "SELECT m.incident_id FROM incident_members m JOIN incidents i"
              " ON i.id = m.incident_id WHERE i.thread_key = ? AND m.author_id = ?"
              " ORDER BY m.id DESC LIMIT 1", (thread_key, author_id))
    return int(row["incident_id"]) if row else None


async def move(conn: Conn, from_incident: int, to_incident: int) -> int:
    """Every member of one group into another (a merge); how many moved."""
    cur = await conn.execute(
        "UPDATE incident_members SET incident_id = ?, merged_from = coalesce(merged_from, ?)"
        " WHERE incident_id = ?", (to_incident, from_incident, from_incident))
    return cur.rowcount


async def remove(conn: Conn, member_id: int) -> None:
    """A member split out again (it is its own incident now, nothing is lost)."""
    await conn.execute("DELETE FROM incident_members WHERE id = ?", (member_id,))


async def mark_published(conn: Conn, member_id: int, publication: int) -> None:
    await conn.execute("UPDATE incident_members SET published_round = ?, failed = NULL"
                       " WHERE id = ?", (publication, member_id))


async def mark_failed(conn: Conn, member_id: int, error: str) -> None:
    await conn.execute("UPDATE incident_members SET failed = ? WHERE id = ?",
                       (error, member_id))


async def authors(conn: Conn, incident_ids: list[int]) -> dict[int, int]:
    """How many distinct authors each group has besides its own first author's."""
    if not incident_ids:
        return {}
    marks = ",".join("?" * len(incident_ids))
    rows = await fetch_all(
        conn, f"SELECT m.incident_id AS id, count(DISTINCT m.author_id) AS n"
              f" FROM incident_members m JOIN incidents i ON i.id = m.incident_id"
              f" WHERE m.incident_id IN ({marks}) AND m.author_id != i.author_id"
              f" GROUP BY m.incident_id", tuple(incident_ids))
    return {int(r["id"]): int(r["n"]) for r in rows}
