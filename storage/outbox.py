"""The outbox table: every outgoing call is a row before it is a request."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Conn, fetch_all, fetch_one
from storage.incidents import iso


@dataclass
class Item:
    id: int
    key: str
    platform: str
    lane: str
    method: str
    params: dict[str, Any]
    purpose: str
    ref_id: int | None
    status: str
    attempts: int
    not_before: float
    error: str | None
    result: Any


def _item(row: Any) -> Item:
    return Item(
        id=row["id"],
        key=row["key"],
        platform=row["platform"],
        lane=row["lane"],
        method=row["method"],
        params=json.loads(row["params"]),
        purpose=row["purpose"],
        ref_id=row["ref_id"],
        status=row["status"],
        attempts=row["attempts"],
        not_before=row["not_before"],
        error=row["error"],
        result=json.loads(row["result"]) if row["result"] else None,
    )


async def enqueue(
    conn: Conn,
    *,
    key: str,
    platform: str,
    lane: str,
    method: str,
    params: dict[str, Any],
    now: datetime,
    purpose: str = "",
    ref_id: int | None = None,
    refresh: bool = False,
) -> bool:
    """Queue a call once per key; True when queued now.

    ``refresh`` re-arms a row whose key exists (a card to be brought up to date again):
    it goes back to pending even while being delivered, and the worker's ``done`` for
    the older delivery then does not overwrite it.
    """
    values = (key, platform, lane, method, json.dumps(params, ensure_ascii=False), purpose,
              ref_id, iso(now))
    if refresh:
        await conn.execute(
            "INSERT INTO outbox(key, platform, lane, method, params, purpose, ref_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET"
            " status = 'pending', attempts = 0, not_before = 0, error = NULL,"
            " params = excluded.params",
            values,
        )
        return True
    row = await fetch_one(
        conn,
        "INSERT INTO outbox(key, platform, lane, method, params, purpose, ref_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING RETURNING id",
        values,
    )
    return row is not None


async def enqueue_refresh_many(
    conn: Conn, rows: list[tuple[str, str, str, str, dict[str, Any], str, int | None]],
    now: datetime,
) -> None:
    """``enqueue(..., refresh=True)`` for many rows in one statement:
    (key, platform, lane, method, params, purpose, ref_id)."""
    await conn.executemany(
        "INSERT INTO outbox(key, platform, lane, method, params, purpose, ref_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET"
        " status = 'pending', attempts = 0, not_before = 0, error = NULL,"
        " params = excluded.params",
        [(key, platform, lane, method, json.dumps(params, ensure_ascii=False), purpose, ref_id,
          iso(now)) for key, platform, lane, method, params, purpose, ref_id in rows],
    )


async def lane_heads(conn: Conn) -> list[Item]:
    """The oldest unsettled row of every lane: a lane goes strictly in order, so a
    row told to wait (429 ``retry_after``) holds back the rows behind it — also
    after a restart."""
    rows = await fetch_all(
        conn,
        "SELECT * FROM outbox WHERE id IN (SELECT min(id) FROM outbox"
        " WHERE status IN ('pending', 'sending') GROUP BY lane) ORDER BY id",
    )
    return [_item(row) for row in rows]


async def get(conn: Conn, item_id: int) -> Item | None:
    row = await fetch_one(conn, "SELECT * FROM outbox WHERE id = ?", (item_id,))
    return None if row is None else _item(row)


async def mark_sending(conn: Conn, item_id: int) -> bool:
    """Claim a row before calling the platform; False when it was settled meanwhile."""
    cur = await conn.execute(
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1"
        " WHERE id = ? AND status IN ('pending', 'sending')",
        (item_id,),
    )
    return cur.rowcount == 1


async def mark_done(conn: Conn, item_id: int, result: Any, now: datetime) -> bool:
    """Record success; False when the row was re-armed meanwhile (it will go again)."""
    cur = await conn.execute(
        "UPDATE outbox SET status = 'done', done_at = ?, result = ?, error = NULL"
        " WHERE id = ? AND status = 'sending'",
        (iso(now), json.dumps(result, ensure_ascii=False, default=str), item_id),
    )
    return cur.rowcount == 1


async def mark_failed(conn: Conn, item_id: int, error: str, now: datetime) -> bool:
    cur = await conn.execute(
        "UPDATE outbox SET status = 'failed', done_at = ?, error = ? "
        "WHERE id = ? AND status = 'sending'",
        (iso(now), error, item_id),
    )
    return cur.rowcount == 1


async def retry_later(conn: Conn, item_id: int, not_before: float, error: str) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'pending', not_before = ?, error = ? WHERE id = ?",
        (not_before, error, item_id),
    )


async def counts(conn: Conn) -> dict[str, int]:
    rows = await fetch_all(conn, "SELECT status, count(*) FROM outbox GROUP BY status")
    return {row[0]: row[1] for row in rows}
