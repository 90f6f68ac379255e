"""What the regional view asks of one municipality beyond its reports (``storage.reports``)."""

from __future__ import annotations

from datetime import datetime

from storage.db import Conn, fetch_all
from storage.incidents import iso


async def posts_published(conn: Conn, start: datetime,
                          end: datetime) -> list[tuple[str, datetime]]:
    """(page, when) of every post published in the period: the pages' daily quota."""
    rows = await fetch_all(
        conn, "SELECT page, published_at FROM posts WHERE status = 'published'"
              " AND published_at >= ? AND published_at < ?", (iso(start), iso(end)))
    return [(row[0], datetime.fromisoformat(row[1])) for row in rows]
