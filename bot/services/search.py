"""``/find``: the search column kept filled, and a query turned into pages of incidents.

The search column (migration 0011) is filled here rather than at ingest: a job indexes
what is new or changed (a trigger empties the column when the text or the author
changes), and a search first indexes whatever is still waiting, so a message that came
a moment ago is found too.
"""

from __future__ import annotations

from bot.domain.search import Query, index_text, parse
from bot.services.hub import Hub
from storage import cursors
from storage import inbox as repo
from storage.incidents import Incident

TICK_SECONDS = 5.0
BATCH = 500  # incidents indexed per transaction
PAGE = 10  # results a page


class Search:
    def __init__(self, hub: Hub):
        self.hub = hub

    async def index(self) -> int:
        """Fill the search column of what is new or changed; how many were indexed."""
        total = 0
        while await repo.unindexed(self.hub.db.reader, 1):
            async with self.hub.db.tx() as conn:
                rows = await repo.unindexed(conn, BATCH)
                await repo.set_search_text(
                    conn, [(i, index_text(text, author)) for i, text, author in rows])
            total += len(rows)
            if len(rows) < BATCH:
                break
        return total

    async def find(self, query: str, page: int = 0) -> tuple[list[Incident], bool]:
        """Page ``page`` of what matches (the newest first), and whether more follow."""
        parsed: Query = parse(query)
        if parsed.empty:
            return [], False
        await self.index()
        found = await repo.search(self.hub.db.reader, parsed.words, parsed.number,
                                  limit=PAGE + 1, offset=max(0, page) * PAGE)
        return found[:PAGE], len(found) > PAGE

    async def remember(self, user_id: int, message_id: int, query: str) -> None:
        """The query behind a list's «Дальше»: callback data has no room for it."""
        async with self.hub.db.tx() as conn:
            await cursors.put(conn, f"find:{user_id}:{message_id}", query)

    async def recall(self, user_id: int, message_id: int) -> str | None:
        return await cursors.get(self.hub.db.reader, f"find:{user_id}:{message_id}")
