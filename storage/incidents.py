"""Incidents and their audit log: plain SQL, one function per question."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from storage.db import Conn, fetch_all, fetch_one


def iso(moment: datetime) -> str:
    """Times are stored as UTC ISO strings of one fixed shape, so SQL can compare them."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass
class NewIncident:
    source: str
    source_kind: str
    source_key: str
    author_id: str
    text: str
    written_at: datetime
    received_at: datetime
    block: str
    priority: str
    policy: str
    route_rule: str = ""
    thread_key: str | None = None
    link: str | None = None
    author_name: str = ""
    author_link: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    reply_target: dict[str, Any] = field(default_factory=dict)
    due_at: datetime | None = None
    first_reply_due_at: datetime | None = None


@dataclass
class Incident:
    id: int
    source: str
    source_kind: str
    source_key: str
    thread_key: str | None
    link: str | None
    author_id: str
    author_name: str
    author_link: str | None
    text: str
    attachments: list[dict[str, Any]]
    reply_target: dict[str, Any]
    written_at: datetime
    received_at: datetime
    block: str
    priority: str
    policy: str
    route_rule: str | None
    state: str
    version: int
    assignee_id: int | None
    assigned_at: datetime | None
    due_at: datetime | None
    first_reply_due_at: datetime | None
    first_reply_at: datetime | None
    answer_text: str | None
    answer_photos: list[str]
    answer_by: int | None
    publications: int
    published_at: datetime | None
    closed_at: datetime | None
    rating: int | None
    returns: int
    reopens: int
    overdue_at: datetime | None
    card_chat_id: int | None
    card_thread_id: int | None
    card_message_id: int | None
    edited_at: datetime | None
    deleted_at: datetime | None
    purged_at: datetime | None
    interim_text: str | None = None  # the interim reply's draft, before it goes
    promised_on: str | None = None  # the date promised for the works (local, YYYY-MM-DD)


_JSON = {"attachments", "reply_target", "answer_photos"}
_TIMES = {
    "written_at",
    "received_at",
    "assigned_at",
    "due_at",
    "first_reply_due_at",
    "first_reply_at",
    "published_at",
    "closed_at",
    "overdue_at",
    "edited_at",
    "deleted_at",
    "purged_at",
}
_COLUMNS = [f.name for f in fields(Incident)]


def _from_row(row: sqlite3.Row) -> Incident:
    values: dict[str, Any] = {}
    for name in _COLUMNS:
        value = row[name]
        if name in _JSON:
            value = json.loads(value)
        elif name in _TIMES:
            value = parse_time(value)
        values[name] = value
    return Incident(**values)


def _to_db(name: str, value: Any) -> Any:
    if name in _JSON:
        return json.dumps(value, ensure_ascii=False)
    if name in _TIMES and value is not None:
        return iso(value)
    return value


async def insert(conn: Conn, new: NewIncident) -> int | None:
    """Store a new incident; ``None`` when this platform event is stored already."""
    values = {f.name: _to_db(f.name, getattr(new, f.name)) for f in fields(NewIncident)}
    columns = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    row = await fetch_one(
        conn,
        f"INSERT INTO incidents ({columns}) VALUES ({marks}) "
        "ON CONFLICT(source_key) DO NOTHING RETURNING id",
        values,
    )
    return None if row is None else int(row[0])


async def get(conn: Conn, incident_id: int) -> Incident | None:
    row = await fetch_one(conn, "SELECT * FROM incidents WHERE id = ?", (incident_id,))
    return None if row is None else _from_row(row)


async def by_source_key(conn: Conn, source_key: str) -> Incident | None:
    row = await fetch_one(conn, "SELECT * FROM incidents WHERE source_key = ?", (source_key,))
    return None if row is None else _from_row(row)


async def update(conn: Conn, incident_id: int, **changes: Any) -> None:
    """Change fields and bump the version (which stale buttons are checked against)."""
    if not changes:
        return
    sets = ", ".join(f"{name} = :{name}" for name in changes)
    params = {name: _to_db(name, value) for name, value in changes.items()}
    params["_id"] = incident_id
    await conn.execute(
        f"UPDATE incidents SET {sets}, version = version + 1 WHERE id = :_id", params
    )


async def set_card(conn: Conn, incident_id: int, chat_id: int, message_id: int,
                   thread_id: int | None = None) -> None:
    """Where the card went; no version bump, the card's buttons stay valid."""
    await conn.execute(
        "UPDATE incidents SET card_chat_id = ?, card_message_id = ?, card_thread_id = ?"
        " WHERE id = ?",
        (chat_id, message_id, thread_id, incident_id),
    )


async def forget_card(conn: Conn, incident_id: int) -> None:
    """The card's message is gone from the group: the next sync posts it anew."""
    await conn.execute("UPDATE incidents SET card_message_id = NULL WHERE id = ?",
                       (incident_id,))


async def by_card(conn: Conn, chat_id: int, message_id: int) -> int | None:
    """The incident whose card is this message."""
    row = await fetch_one(
        conn, "SELECT id FROM incidents WHERE card_chat_id = ? AND card_message_id = ?",
        (chat_id, message_id))
    return None if row is None else int(row[0])


async def mark_overdue(conn: Conn, incident_id: int, due_at: datetime) -> None:
    """Overdue since its deadline (kept from the first time; no version bump)."""
    await conn.execute(
        "UPDATE incidents SET overdue_at = ? WHERE id = ? AND overdue_at IS NULL",
        (iso(due_at), incident_id))


@dataclass
class Event:
    id: int
    incident_id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    from_state: str | None
    to_state: str | None
    button: str | None
    detail: str


async def add_event(
    conn: Conn,
    incident_id: int,
    at: datetime,
    action: str,
    *,
    actor_id: int | None = None,
    actor_name: str = "",
    from_state: str | None = None,
    to_state: str | None = None,
    button: str | None = None,
    detail: str = "",
) -> None:
    await conn.execute(
        "INSERT INTO incident_events(incident_id, at, actor_id, actor_name, action,"
        " from_state, to_state, button, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (incident_id, iso(at), actor_id, actor_name, action, from_state, to_state, button, detail),
    )


async def events(conn: Conn, incident_id: int) -> list[Event]:
    rows = await fetch_all(
        conn, "SELECT * FROM incident_events WHERE incident_id = ? ORDER BY id", (incident_id,)
    )
    return [
        Event(
            id=row["id"],
            incident_id=row["incident_id"],
            at=datetime.fromisoformat(row["at"]),
            actor_id=row["actor_id"],
            actor_name=row["actor_name"],
            action=row["action"],
            from_state=row["from_state"],
            to_state=row["to_state"],
            button=row["button"],
            detail=row["detail"],
        )
        for row in rows
    ]


async def latest_in_thread(conn: Conn, thread_key: str, author_id: str) -> Incident | None:
    """The author's newest incident in this thread: a follow-up joins or reopens it."""
    row = await fetch_one(
        conn,
        "SELECT * FROM incidents WHERE thread_key = ? AND author_id = ? ORDER BY id DESC LIMIT 1",
        (thread_key, author_id),
    )
    return None if row is None else _from_row(row)


async def assigned_to(conn: Conn, user_id: int, states: list[str]) -> list[Incident]:
    marks = ", ".join("?" for _ in states)
    rows = await fetch_all(
        conn,
        f"SELECT * FROM incidents WHERE assignee_id = ? AND state IN ({marks})"
        " ORDER BY due_at IS NULL, due_at, id",
        (user_id, *states),
    )
    return [_from_row(row) for row in rows]


async def search(conn: Conn, text: str, limit: int = 10) -> list[Incident]:
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = await fetch_all(
        conn,
        "SELECT * FROM incidents WHERE text LIKE ? ESCAPE '\\' OR author_name LIKE ? ESCAPE '\\'"
        " ORDER BY id DESC LIMIT ?",
        (pattern, pattern, limit),
    )
    return [_from_row(row) for row in rows]


async def in_states(conn: Conn, states: list[str]) -> list[Incident]:
    marks = ", ".join("?" for _ in states)
    rows = await fetch_all(
        conn, f"SELECT * FROM incidents WHERE state IN ({marks}) ORDER BY id", tuple(states)
    )
    return [_from_row(row) for row in rows]


async def count(conn: Conn) -> int:
    row = await fetch_one(conn, "SELECT count(*) FROM incidents")
    return int(row[0]) if row else 0


# -- a storm at once: a few statements per batch rather than a few per message -----------

_CHUNK = 500  # SQL variables per IN (...) list, well under SQLite's limit


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i:i + _CHUNK] for i in range(0, len(values), _CHUNK)]


async def stored_keys(conn: Conn, keys: list[str]) -> set[str]:
    """Which of these platform events are stored already (as incidents or follow-ups)."""
    found: set[str] = set()
    for chunk in _chunks(keys):
        marks = ", ".join("?" for _ in chunk)
        rows = await fetch_all(
            conn, f"SELECT source_key FROM incidents WHERE source_key IN ({marks})", chunk)
        found.update(row[0] for row in rows)
        rows = await fetch_all(
            conn, f"SELECT name FROM cursors WHERE name IN ({marks})",
            [f"seen:{key}" for key in chunk])
        found.update(row[0].removeprefix("seen:") for row in rows)
    return found


async def threads_with_author(conn: Conn, threads: list[str]) -> set[tuple[str, str]]:
    """The (thread, author) pairs among these threads that already have an incident."""
    found: set[tuple[str, str]] = set()
    for chunk in _chunks(threads):
        marks = ", ".join("?" for _ in chunk)
        rows = await fetch_all(
            conn, f"SELECT DISTINCT thread_key, author_id FROM incidents"
                  f" WHERE thread_key IN ({marks})", chunk)
        found.update((row[0], row[1]) for row in rows)
    return found


async def insert_many(conn: Conn, news: list[NewIncident]) -> dict[str, int]:
    """Store new incidents at once; their ids by ``source_key`` (events stored already
    are skipped and absent from the answer). Needs the writer's transaction."""
    if not news:
        return {}
    names = [f.name for f in fields(NewIncident)]
    row = await fetch_one(conn, "SELECT coalesce(max(id), 0) FROM incidents")
    before = int(row[0]) if row else 0
    await conn.executemany(
        f"INSERT INTO incidents ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
        " ON CONFLICT(source_key) DO NOTHING",
        [[_to_db(name, getattr(new, name)) for name in names] for new in news],
    )
    rows = await fetch_all(conn, "SELECT id, source_key FROM incidents WHERE id > ?", (before,))
    return {row[1]: int(row[0]) for row in rows}


async def add_events(conn: Conn, events: list[tuple[int, datetime, str, str | None, str]]) -> None:
    """Many process events at once: (incident id, at, action, to_state, detail)."""
    await conn.executemany(
        "INSERT INTO incident_events(incident_id, at, action, to_state, detail)"
        " VALUES (?, ?, ?, ?, ?)",
        [(incident_id, iso(at), action, to_state, detail)
         for incident_id, at, action, to_state, detail in events],
    )
