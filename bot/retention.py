"""Citizens' data retention: the texts and names of long-finished incidents are erased.

``storage.retention_days`` (0 keeps everything forever) says how long a citizen's words
and name are kept after the incident was closed or rejected. Once a day a tick erases
them: the incident keeps its row, its dates, block, source, state, ratings, returns and
reopens — everything the digests and ratings count — but its ``text``,
``author_name``, ``author_link`` and ``attachments`` are emptied and ``purged_at`` set.
The same words are erased where they were copied: the audit log's «edited» entries (the
old text), the delivered card and answer calls kept in the outbox, the forwarded
message's payload. Every purged incident gets a ``purged`` audit event. Cards already
posted in the staff group are left as they are (a first purge of a year would be
thousands of edits against the group's limits) until a reopen refreshes them.

The tick is idempotent: a day's run is marked in ``cursors`` only when it finished, so a
crash in the middle is completed by the next tick, and a purged incident is never
touched again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.hub import Hub
from storage import cursors
from storage.db import Conn, fetch_all
from storage.incidents import iso

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

TICK_SECONDS = 300.0  # how often the tick looks whether today's purge has run
BATCH = 500  # incidents per write transaction: keeps the writer lock short
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


class Retention:
    def __init__(self, hub: Hub):
        self.hub = hub

    @property
    def days(self) -> int:
        return self.hub.config.storage.retention_days

    def _mark(self, now: datetime) -> str:
        day = now.astimezone(self.hub.config.municipality.tz).date()
        return f"retention:{day.isoformat()}"

    async def tick(self) -> int:
        """Once a (local) day: purge what is older than the retention period."""
        if self.days <= 0:
            return 0
        now = self.hub.clock.now()
        mark = self._mark(now)
        if await cursors.get(self.hub.db.reader, mark) is not None:
            return 0
        purged = await self.purge(now)
        async with self.hub.db.tx() as conn:
            await cursors.put(conn, mark, str(purged))
        return purged

    async def purge(self, now: datetime) -> int:
        """Erase citizens' data of incidents finished more than ``days`` before ``now``."""
        if self.days <= 0:
            return 0
        cutoff = iso(now - timedelta(days=self.days))
        purged, after = 0, 0
        while True:
            async with self.hub.db.tx() as conn:
                rows = await fetch_all(conn, _CANDIDATES,
                                       {"after": after, "cutoff": cutoff, "limit": BATCH})
                if rows:
                    await self._purge_batch(conn, [(int(r["id"]), str(r["source_key"]))
                                                   for r in rows], now)
            if not rows:
                break
            purged += len(rows)
            after = int(rows[-1]["id"])
            await asyncio.sleep(0)  # let the others write between batches
        if purged:
            log.info("retention: erased citizens' data of %d incident(s) finished before %s",
                     purged, cutoff)
        return purged

    async def _purge_batch(self, conn: Conn, batch: list[tuple[int, str]],
                           now: datetime) -> None:
        """A few statements for the whole batch (a first purge may meet 100,000)."""
        ids = [incident_id for incident_id, _ in batch]
        marks = ", ".join("?" for _ in ids)
        # no version bump: the card's buttons (reopen) stay valid
        await conn.execute(
            "UPDATE incidents SET text = '', author_name = '', author_link = NULL,"
            f" attachments = '[]', purged_at = ? WHERE id IN ({marks})",
            (iso(now), *ids),
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
            [(i, iso(now), "purged", f"retention_days={self.days}") for i in ids],
        )


def install(app: App) -> None:
    """Add the daily purge to the process's jobs."""
    retention = Retention(app.hub)
    app.jobs.add("retention", retention.tick, TICK_SECONDS)
    app.dp_data["retention"] = retention
