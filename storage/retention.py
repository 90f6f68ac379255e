"""Erasing citizens' words and names from long-finished incidents (``bot.services.retention``).

The incident keeps its row and everything the digests count; its text, author and
attachments are emptied (and the messages of its group, a comment storm's), and so are
the copies: the audit log's «edited» entries, the
delivered card and answer calls in the outbox, a forwarded message's payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.db import Conn, fetch_all
from storage.incidents import iso

FINISHED = ("closed", "rejected")

# the moment the incident entered its present (final) state; closed_at for old rows
_CANDIDATES = f"""
SELECT i.id, i.source_key FROM incidents i
WHERE i.id > :after AND i.purged_at IS NULL AND i.state IN ({", ".join(f"'{s}'" for s in FINISHED)})
  AND COALESCE((SELECT max(e.at) FROM incident_events e
                WHERE e.incident_id = i.id AND e.to_state = i.state), i.closed_at) < :cutoff
ORDER BY i.id LIMIT :limit
"""

# delivered calls that carried the citizen's words or name (card text, answers)
_OUTBOX_KEYS = ("answer", "interim", "manual", "rate")


async def finished_before(conn: Conn, cutoff: datetime, after: int,
                          limit: int) -> list[tuple[int, str]]:
    """(id, source key) of unpurged incidents finished before ``cutoff``, ids after
    ``after`` in order: a batch at a time."""
    rows = await fetch_all(conn, _CANDIDATES,
                           {"after": after, "cutoff": iso(cutoff), "limit": limit})
    return [(int(row["id"]), str(row["source_key"])) for row in rows]


async def purge(conn: Conn, batch: Sequence[tuple[int, str]], now: datetime,
                days: int) -> None:
    """A few statements for the whole batch (a first purge may meet 100,000)."""
    ids = [incident_id for incident_id, _ in batch]
    marks = ", ".join("?" for _ in ids)
    # no version bump: the card's buttons (reopen) stay valid
    await conn.execute(
        "UPDATE incidents SET text = '', author_name = '', author_link = NULL,"
        f" attachments = '[]', interim_text = NULL, purged_at = ? WHERE id IN ({marks})",
        (iso(now), *ids),
    )
    # a group's other messages (a comment storm) are citizens' words as well
    await conn.execute(
        "UPDATE incident_members SET text = '', author_name = '', author_link = NULL,"
        f" attachments = '[]' WHERE incident_id IN ({marks})", ids,
    )
    await conn.execute(
        "UPDATE incident_events SET detail = '' WHERE action = 'edited'"
        f" AND incident_id IN ({marks})", ids,
    )
    await conn.execute(
        f"UPDATE outbox SET result = NULL WHERE key IN ({marks})"
        " AND status IN ('done', 'failed')", [f"card:{i}" for i in ids],
    )
    # a key range rather than LIKE: it is read through the outbox's unique index
    await conn.executemany(
        "UPDATE outbox SET params = json_remove(params, '$.message', '$.text'),"
        " result = CASE WHEN json_valid(result) AND json_type(result) = 'object'"
        " THEN json_remove(result, '$.text', '$.chat', '$.from', '$.reply_to_message')"
        " ELSE NULL END"
        " WHERE key >= ? AND key < ? AND status IN ('done', 'failed')",
        [(f"{prefix}:{i}:", f"{prefix}:{i};") for i in ids for prefix in _OUTBOX_KEYS],
    )
    forwarded = [key for _, key in batch if key.startswith("fwd:")]
    if forwarded:
        await conn.execute(
            f"DELETE FROM cursors WHERE name IN ({', '.join('?' for _ in forwarded)})",
            forwarded)
    await conn.executemany(
        "INSERT INTO incident_events(incident_id, at, action, detail) VALUES (?, ?, ?, ?)",
        [(i, iso(now), "purged", f"retention_days={days}") for i in ids],
    )
