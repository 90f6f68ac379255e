"""Many municipalities in one PostgreSQL database: the database itself keeps them apart.

Row-level security on every table compares each row's ``municipality`` with the
connection's ``mcu.municipality``: a query of one municipality neither reads nor writes
another's rows, whatever its SQL says.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from storage import cursors, outbox
from storage import incidents as repo
from storage.db import Database, fetch_all, fetch_value
from storage.incidents import NewIncident

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def new(key: str, text: str) -> NewIncident:
    return NewIncident(source="vk:100001", source_kind="vk_comment", source_key=key,
                       author_id="vk:500101", text=text, written_at=NOW, received_at=NOW,
                       block="ЖКХ", priority="normal", policy="answer")


@pytest.fixture
def url(postgres) -> str:
    if postgres.error:
        pytest.skip(postgres.error)
    return postgres.database_for(":memory:")


async def test_one_municipality_cannot_read_or_write_anothers_rows(url):
    pskov = await Database(url, "pskov").open()
    luga = await Database(url, "luga").open()
    try:
        async with pskov.tx() as conn:
            mine = await repo.insert(conn, new("vk:1", "Яма во дворе, Псков"))
            await cursors.put(conn, "vk:lp", "100")
            await outbox.enqueue(conn, key="card:1", platform="card", lane="tg:-1", method="card",
                                 params={}, now=NOW)
        async with luga.tx() as conn:
            # the same platform event key in another municipality is another incident
            theirs = await repo.insert(conn, new("vk:1", "Яма во дворе, Луга"))
        assert mine is not None and theirs is not None and mine != theirs

        # the repository's questions, and raw SQL that names no municipality at all
        assert await repo.count(luga.reader) == 1
        assert await repo.get(luga.reader, mine) is None
        assert [i.text for i in await repo.search(luga.reader, "Яма")] == ["Яма во дворе, Луга"]
        assert await cursors.get(luga.reader, "vk:lp") is None
        assert await outbox.counts(luga.reader) == {}
        for table in ("incidents", "cursors", "outbox", "deadline_queue", "heartbeats"):
            rows = await fetch_all(luga.reader, f"SELECT municipality FROM {table}")
            assert {row[0] for row in rows} <= {"luga"}, table

        # writes across: nothing changes, an insert for another municipality is refused
        async with luga.tx() as conn:
            cur = await conn.execute("UPDATE incidents SET text = 'x' WHERE id = ?", (mine,))
            assert cur.rowcount == 0
            cur = await conn.execute("DELETE FROM cursors WHERE name = 'vk:lp'")
            assert cur.rowcount == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            async with luga.tx() as conn:
                await conn.execute(
                    "INSERT INTO cursors(municipality, name, value) VALUES ('pskov', 'x', '1')")
        incident = await repo.get(pskov.reader, mine)
        assert incident is not None and incident.text == "Яма во дворе, Псков"
        assert await cursors.get(pskov.reader, "vk:lp") == "100"
    finally:
        await pskov.close()
        await luga.close()


async def test_a_connection_without_a_municipality_sees_nothing(url):
    db = await Database(url, "pskov").open()
    try:
        async with db.tx() as conn:
            await repo.insert(conn, new("vk:1", "Яма"))
    finally:
        await db.close()
    raw = await asyncpg.connect(url)
    try:
        assert await raw.fetchval("SELECT count(*) FROM incidents") == 0
    finally:
        await raw.close()


async def test_a_superuser_is_refused_as_it_would_bypass_the_separation(postgres, url):
    admin = postgres.cluster.url(url.split("/")[3].split("?")[0], user="postgres")
    with pytest.raises(RuntimeError, match="superuser or has BYPASSRLS"):
        await Database(admin, "pskov").open()
    db = await Database(url, "pskov").open()  # the ordinary role is fine
    try:
        assert await fetch_value(db.reader, "SELECT current_setting('mcu.municipality')") == (
            "pskov")
    finally:
        await db.close()
