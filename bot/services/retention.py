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

from bot.services.hub import Hub
from storage import cursors, retention
from storage.incidents import iso

log = logging.getLogger(__name__)

TICK_SECONDS = 300.0  # how often the tick looks whether today's purge has run
BATCH = 500  # incidents per write transaction: keeps the writer lock short
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
        cutoff = now - timedelta(days=self.days)
        purged, after = 0, 0
        while True:
            async with self.hub.db.tx() as conn:
                batch = await retention.finished_before(conn, cutoff, after, BATCH)
                if batch:
                    await retention.purge(conn, batch, now, self.days)
            if not batch:
                break
            purged += len(batch)
            after = batch[-1][0]
            await asyncio.sleep(0)  # let the others write between batches
        if purged:
            log.info("retention: erased citizens' data of %d incident(s) finished before %s",
                     purged, iso(cutoff))
        return purged
