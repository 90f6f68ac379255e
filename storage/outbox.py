"""The outbox table: every outgoing call is a row before it is a request."""

from __future__ import annotations

import json
from collections.abc import Collection
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
    armed_at: float = 0.0  # real epoch seconds: queued, or last re-armed
    uncertain: bool = False  # an earlier try may have sent without our record
    watermark: int | None = None  # message ids up to this were known before the first try


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
        armed_at=row["armed_at"],
        uncertain=bool(row["uncertain"]),
        watermark=row["watermark"],
    )


# the database's own clock, in real epoch seconds (the bot's clock may be a sandbox's)
_NOW = "((julianday('now') - 2440587.5) * 86400.0)"


# re-arming keeps what is known about an earlier try (in_flight, uncertain, watermark)
_REFRESH = (
    "INSERT INTO outbox(key, platform, lane, method, params, purpose, ref_id, created_at,"
    f" armed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, {_NOW}) ON CONFLICT(key) DO UPDATE SET"
    " status = 'pending', attempts = 0, not_before = 0, error = NULL,"
    " params = excluded.params, armed_at = excluded.armed_at"
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
        await conn.execute(_REFRESH, values)
        return True
    row = await fetch_one(
        conn,
        "INSERT INTO outbox(key, platform, lane, method, params, purpose, ref_id, created_at,"
        f" armed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, {_NOW}) ON CONFLICT(key) DO NOTHING"
        " RETURNING id",
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
        _REFRESH,
        [(key, platform, lane, method, json.dumps(params, ensure_ascii=False), purpose, ref_id,
          iso(now)) for key, platform, lane, method, params, purpose, ref_id in rows],
    )


# Which row of a lane goes next: 0 a try to finish (a row left ``sending``, the
# removal of a send's orphans), 1 a new message, 2 an edit. A card is a new message
# until its message id is known. VK lanes keep strict order.
_GROUPS = (
    "SELECT lane, grp, min(id) AS id FROM (SELECT o.id, o.lane, CASE"
    " WHEN o.status = 'sending' OR o.method = 'deleteOrphans' THEN 0"
    " WHEN o.platform = 'card' THEN CASE WHEN EXISTS (SELECT 1 FROM incidents i"
    "  WHERE i.id = o.ref_id AND i.card_message_id IS NOT NULL) THEN 2 ELSE 1 END"
    " WHEN o.platform = 'tg' AND NOT (o.method LIKE 'send%' OR o.method LIKE 'forward%'"
    "  OR o.method LIKE 'copy%') THEN 2"
    " ELSE 1 END AS grp FROM outbox o WHERE o.status IN ('pending', 'sending')) AS heads"
    " GROUP BY lane, grp"
)


async def lane_heads(conn: Conn, now: float | None = None, patience: float = 0.0,
                     after_edit: Collection[str] = ()) -> list[Item]:
    """The row every lane delivers next, oldest lane head first.

    A lane goes in order of its rows, with one exception for a Telegram group or channel
    (the 20-a-minute chats): when it is behind, a new message (a citizen's card, a prompt,
    a reply) goes before an older edit (a label change), unless that edit has waited
    ``patience`` seconds since it was last armed (``now`` real epoch seconds; without it
    edits wait for every new message) — and then only every other turn (not in the
    lanes ``after_edit``, whose last row was an edit), so new messages keep half the
    lane even then.
    New messages keep their order among themselves, so a card goes before the prompt
    and the replies that refer to it; a card's edits come after its first send, being
    the same row. A row told to wait (429 ``retry_after``) holds back the rows behind it,
    also after a restart.
    """
    groups: dict[str, dict[int, int]] = {}
    for row in await fetch_all(conn, _GROUPS):
        groups.setdefault(row["lane"], {})[row["grp"]] = row["id"]
    if not groups:
        return []
    ids = [i for lane in groups.values() for i in lane.values()]
    marks = ",".join("?" * len(ids))
    items = {row["id"]: _item(row) for row in await fetch_all(
        conn, f"SELECT * FROM outbox WHERE id IN ({marks})", ids)}
    heads = []
    for lane, grp in groups.items():
        if 0 in grp:
            chosen = grp[0]
        elif not lane.startswith("tg:-") or len(grp) == 1:
            chosen = min(grp.values())  # VK, and a private chat: a conversation's order
        else:
            send, edit = items[grp[1]], items[grp[2]]
            stale = (now is not None and now - edit.armed_at >= patience
                     and lane not in after_edit)
            chosen = edit.id if edit.id < send.id and stale else send.id
        heads.append(items[chosen])
    return sorted(heads, key=lambda item: item.id)


async def get(conn: Conn, item_id: int) -> Item | None:
    row = await fetch_one(conn, "SELECT * FROM outbox WHERE id = ?", (item_id,))
    return None if row is None else _item(row)


async def mark_sending(conn: Conn, item_id: int) -> bool:
    """Claim a row before calling the platform; False when it was settled meanwhile."""
    return await claim(conn, item_id) is not None


async def claim(conn: Conn, item_id: int, watermark: int | None = None) -> Item | None:
    """Claim a row before calling the platform, recording the intent: a try begins
    (``in_flight``), and for a send the highest message id known in the chat before it.

    A row still ``in_flight`` when claimed again had a try whose outcome was never
    recorded (the process died, or our own code failed after the call): it becomes
    ``uncertain``. None when the row was settled meanwhile.
    """
    row = await fetch_one(
        conn,
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1,"
        " uncertain = max(uncertain, in_flight), in_flight = 1,"
        " watermark = coalesce(watermark, ?)"
        " WHERE id = ? AND status IN ('pending', 'sending') RETURNING *",
        (watermark, item_id),
    )
    return None if row is None else _item(row)


_SETTLED = "in_flight = 0, uncertain = 0, watermark = NULL"


async def mark_done(conn: Conn, item_id: int, result: Any, now: datetime) -> bool:
    """Record success; False when the row was re-armed meanwhile (it will go again).

    Either way the try's outcome is known now: nothing about it is uncertain."""
    await conn.execute(f"UPDATE outbox SET {_SETTLED} WHERE id = ?", (item_id,))
    cur = await conn.execute(
        "UPDATE outbox SET status = 'done', done_at = ?, result = ?, error = NULL"
        " WHERE id = ? AND status = 'sending'",
        (iso(now), json.dumps(result, ensure_ascii=False, default=str), item_id),
    )
    return cur.rowcount == 1


async def mark_failed(conn: Conn, item_id: int, error: str, now: datetime) -> bool:
    cur = await conn.execute(
        f"UPDATE outbox SET status = 'failed', done_at = ?, error = ?, {_SETTLED}"
        " WHERE id = ? AND status = 'sending'",
        (iso(now), error, item_id),
    )
    return cur.rowcount == 1


async def retry_later(conn: Conn, item_id: int, not_before: float, error: str, *,
                      uncertain: bool = False, watermark: int | None = None) -> None:
    """Back to pending until ``not_before``; this try is over. ``uncertain``: it may have
    sent without our record; ``watermark``: ids up to this have been looked at since."""
    await conn.execute(
        "UPDATE outbox SET status = 'pending', not_before = ?, error = ?, in_flight = 0,"
        " uncertain = max(uncertain, ?), watermark = coalesce(?, watermark) WHERE id = ?",
        (not_before, error, int(uncertain), watermark, item_id),
    )


async def note_message_ids(conn: Conn, chat_id: int, message_id: int) -> None:
    """The bot's own message ``message_id`` is in ``chat_id``: ids below it are known."""
    await conn.execute(
        "INSERT INTO tg_marks(chat_id, message_id) VALUES (?, ?) ON CONFLICT(chat_id)"
        " DO UPDATE SET message_id = max(tg_marks.message_id, excluded.message_id)",
        (chat_id, message_id),
    )


async def known_message_id(conn: Conn, chat_id: int) -> int:
    """The highest id of the bot's own messages recorded in ``chat_id`` (0: none)."""
    row = await fetch_one(conn, "SELECT message_id FROM tg_marks WHERE chat_id = ?",
                          (chat_id,))
    return int(row["message_id"]) if row is not None else 0


async def unsettled(conn: Conn) -> int:
    """Rows still to go (pending, or being sent)."""
    row = await fetch_one(
        conn, "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')")
    return int(row[0]) if row else 0


async def counts(conn: Conn) -> dict[str, int]:
    rows = await fetch_all(conn, "SELECT status, count(*) FROM outbox GROUP BY status")
    return {row[0]: row[1] for row in rows}


async def supersede(conn: Conn, key_prefix: str, now: datetime) -> int:
    """Settle the rows not begun yet whose key starts with ``key_prefix``: what they
    would show is out of date (a choice under a card that has moved on); how many."""
    pattern = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    cur = await conn.execute(
        "UPDATE outbox SET status = 'done', done_at = ?, error = 'superseded'"
        " WHERE key LIKE ? ESCAPE '\\' AND status = 'pending' AND in_flight = 0",
        (iso(now), pattern))
    return cur.rowcount
