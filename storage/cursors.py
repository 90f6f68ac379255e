"""Small named values that must survive a restart: long-poll ts, last seen ids, marks."""

from __future__ import annotations

from storage.db import Conn, fetch_value


async def get(conn: Conn, name: str) -> str | None:
    value = await fetch_value(conn, "SELECT value FROM cursors WHERE name = ?", (name,))
    return None if value is None else str(value)


async def put(conn: Conn, name: str, value: str) -> None:
    await conn.execute(
        "INSERT INTO cursors(name, value) VALUES (?, ?)"
        " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (name, value),
    )


async def claim(conn: Conn, name: str, value: str = "1") -> bool:
    """Set a mark once; True only for the first caller (a digest sent, a warning given)."""
    cur = await conn.execute(
        "INSERT INTO cursors(name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
        (name, value),
    )
    return cur.rowcount == 1


async def drop(conn: Conn, name: str) -> bool:
    """Forget a mark (so that ``claim`` succeeds again); True if there was one."""
    cur = await conn.execute("DELETE FROM cursors WHERE name = ?", (name,))
    return cur.rowcount == 1
