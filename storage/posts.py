"""Posts for the official pages and their targets: plain SQL, one function per question.

A post is ``draft`` → ``queued`` → ``publishing`` → ``published`` / ``failed`` (or
``removed``); each of its page's targets has a row in ``post_targets`` once it is
dispatched. Every change of status is guarded by the status it comes from, so a second
press or a second tick changes nothing (the functions say whether they changed a row).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from storage.db import Conn, fetch_all, fetch_one, fetch_value
from storage.incidents import iso, parse_time


@dataclass
class Post:
    id: int
    page: str
    kind: str  # post | poll
    text: str
    photos: list[str]  # Telegram file ids
    poll: dict[str, Any] | None  # {question, options}
    fixed_at: datetime | None
    queued_at: datetime
    queued_by: int | None
    planned_at: datetime | None
    status: str
    published_at: datetime | None
    error: str | None


@dataclass
class Target:
    """One page target of a dispatched post: 'vk:100001', 'tg:-1001000000003'."""

    target: str
    status: str  # pending | done | failed | refused (the post cannot go there as it is)
    link: str | None
    error: str | None


def _post(row: Any) -> Post:
    return Post(
        id=row["id"], page=row["page"], kind=row["kind"], text=row["text"],
        photos=json.loads(row["photos"] or "[]"),
        poll=json.loads(row["poll"]) if row["poll"] else None,
        fixed_at=parse_time(row["fixed_at"]), queued_at=parse_time(row["queued_at"]) or
        datetime.fromtimestamp(0, UTC), queued_by=row["queued_by"],
        planned_at=parse_time(row["planned_at"]), status=row["status"],
        published_at=parse_time(row["published_at"]), error=row["error"],
    )


def _poll(poll: dict[str, Any] | None) -> str | None:
    return json.dumps(poll, ensure_ascii=False) if poll else None


async def get(conn: Conn, post_id: int) -> Post | None:
    row = await fetch_one(conn, "SELECT * FROM posts WHERE id = ?", (post_id,))
    return None if row is None else _post(row)


async def queued(conn: Conn, page: str) -> list[Post]:
    """The page's queue in queue order."""
    found = await fetch_all(
        conn, "SELECT * FROM posts WHERE page = ? AND status = 'queued' ORDER BY queued_at, id",
        (page,))
    return [_post(row) for row in found]


async def published_times(conn: Conn, page: str, since: datetime) -> list[datetime]:
    """When the page's posts went out (or are going out): they count toward the quota.

    A post that failed on every target does not count; one that reached a target does.
    """
    found = await fetch_all(
        conn,
        "SELECT published_at FROM posts p WHERE page = ? AND published_at >= ?"
        " AND (status IN ('publishing', 'published') OR EXISTS (SELECT 1 FROM post_targets t"
        " WHERE t.post_id = p.id AND t.status = 'done')) ORDER BY published_at",
        (page, iso(since)))
    return [datetime.fromisoformat(row[0]) for row in found]


async def last_queued_at(conn: Conn, page: str) -> datetime | None:
    """When the page's last queued post was queued (the queue's order)."""
    value = await fetch_value(
        conn, "SELECT max(queued_at) FROM posts WHERE page = ? AND status = 'queued'", (page,))
    return parse_time(str(value)) if value else None


async def add_draft(conn: Conn, *, page: str, kind: str, text: str, photos: list[str],
                    poll: dict[str, Any] | None, fixed_at: datetime | None,
                    queued_at: datetime, queued_by: int | None) -> int:
    value = await fetch_value(
        conn,
        "INSERT INTO posts(page, kind, text, photos, poll, fixed_at, queued_at, queued_by,"
        " status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'draft') RETURNING id",
        (page, kind, text, json.dumps(photos), _poll(poll),
         iso(fixed_at) if fixed_at else None, iso(queued_at), queued_by))
    return int(value or 0)  # type: ignore[call-overload]


async def set_text(conn: Conn, post_id: int, text: str, poll: dict[str, Any] | None) -> None:
    await conn.execute("UPDATE posts SET text = ?, poll = ? WHERE id = ?",
                       (text, _poll(poll), post_id))


async def queue_draft(conn: Conn, post_id: int, queued_at: datetime,
                      fixed_at: datetime | None, queued_by: int | None) -> None:
    """The draft joins its page's queue (its author kept when ``queued_by`` is None)."""
    await conn.execute(
        "UPDATE posts SET status = 'queued', queued_at = ?, fixed_at = ?,"
        " queued_by = COALESCE(?, queued_by) WHERE id = ? AND status = 'draft'",
        (iso(queued_at), iso(fixed_at) if fixed_at else None, queued_by, post_id))


async def remove(conn: Conn, post_id: int, status: str) -> bool:
    """A draft cancelled or a queued post removed; False if it was not in ``status``."""
    cur = await conn.execute(
        "UPDATE posts SET status = 'removed' WHERE id = ? AND status = ?", (post_id, status))
    return cur.rowcount == 1


async def set_planned(conn: Conn, post_id: int, planned_at: datetime | None) -> None:
    await conn.execute("UPDATE posts SET planned_at = ? WHERE id = ?",
                       (iso(planned_at) if planned_at else None, post_id))


async def set_queued_at(conn: Conn, post_id: int, queued_at: datetime) -> None:
    """The post's place in its queue (the ⬆/⬇ buttons swap two)."""
    await conn.execute("UPDATE posts SET queued_at = ? WHERE id = ?", (iso(queued_at), post_id))


async def fix_time(conn: Conn, post_id: int, at: datetime) -> bool:
    """A queued post's fixed time; False if it is not queued."""
    cur = await conn.execute(
        "UPDATE posts SET fixed_at = ? WHERE id = ? AND status = 'queued'", (iso(at), post_id))
    return cur.rowcount == 1


async def start_publishing(conn: Conn, post_id: int, now: datetime) -> bool:
    """The post leaves its queue (it counts toward the quota from now); False if it had."""
    cur = await conn.execute(
        "UPDATE posts SET status = 'publishing', published_at = ?,"
        " planned_at = COALESCE(planned_at, ?) WHERE id = ? AND status = 'queued'",
        (iso(now), iso(now), post_id))
    return cur.rowcount == 1


async def settle(conn: Conn, post_id: int, ok: bool, error: str | None) -> bool:
    """Every target settled: ``published`` (or ``failed``); False if it was settled."""
    cur = await conn.execute(
        "UPDATE posts SET status = ?, error = ? WHERE id = ? AND status = 'publishing'",
        ("published" if ok else "failed", error, post_id))
    return cur.rowcount == 1


# -- the targets of a dispatched post ------------------------------------------------------


async def add_target(conn: Conn, post_id: int, target: str) -> None:
    await conn.execute(
        "INSERT INTO post_targets(post_id, target) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (post_id, target))


async def targets(conn: Conn, post_id: int) -> list[Target]:
    rows = await fetch_all(
        conn, "SELECT target, status, link, error FROM post_targets WHERE post_id = ?"
        " ORDER BY target DESC", (post_id,))
    return [Target(row["target"], row["status"], row["link"], row["error"]) for row in rows]


async def set_link(conn: Conn, post_id: int, target: str, link: str | None) -> None:
    await conn.execute("UPDATE post_targets SET link = ? WHERE post_id = ? AND target = ?",
                       (link, post_id, target))


async def target_done(conn: Conn, post_id: int, target: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE post_targets SET status = 'done', published_at = ? WHERE post_id = ?"
        " AND target = ? AND status = 'pending'", (iso(now), post_id, target))


async def target_failed(conn: Conn, post_id: int, target: str, error: str) -> bool:
    """The target failed for good; False if it was settled already."""
    cur = await conn.execute(
        "UPDATE post_targets SET status = 'failed', error = ? WHERE post_id = ?"
        " AND target = ? AND status = 'pending'", (error, post_id, target))
    return cur.rowcount == 1


async def target_refused(conn: Conn, post_id: int, target: str, reason: str) -> None:
    """The post does not go to this target (too long there…): settled with the reason."""
    await conn.execute(
        "UPDATE post_targets SET status = 'refused', error = ? WHERE post_id = ?"
        " AND target = ? AND status = 'pending'", (reason, post_id, target))


async def target_times(conn: Conn, page: str, since: datetime,
                       statuses: tuple[str, ...] = ("done",)) -> list[tuple[str, datetime]]:
    """(target, when its post went out) of the page's posts since ``since``, for the
    targets in ``statuses``: what each target's quota counts (issue 19)."""
    marks = ", ".join("?" for _ in statuses)
    found = await fetch_all(
        conn,
        "SELECT t.target, p.published_at FROM posts p JOIN post_targets t ON t.post_id = p.id"
        f" WHERE p.page = ? AND p.published_at >= ? AND t.status IN ({marks})"
        " ORDER BY p.published_at", (page, iso(since), *statuses))
    return [(row[0], datetime.fromisoformat(row[1])) for row in found]
