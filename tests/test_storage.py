"""Storage: migrations on a blank database, the exact schema, one writer under a burst."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import pytest

from storage import cursors, outbox
from storage import incidents as repo
from storage.db import Database, fetch_all, migrations
from storage.incidents import NewIncident

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)

EXPECTED_TABLES = {"incidents", "incident_events", "staff", "outbox", "posts", "post_targets",
                   "notices", "cursors", "schema_migrations"}


async def test_blank_database_gets_every_migration(tmp_path, backend):
    db = await Database(str(tmp_path / "db.sqlite3")).open()
    try:
        rows = await fetch_all(db.reader, "SELECT version, name FROM schema_migrations"
                                          " ORDER BY version")
        assert [r[0] for r in rows] == [m[0] for m in migrations()]
        assert [m[0] for m in migrations("postgresql")] == [m[0] for m in migrations()]
        if backend == "postgresql":
            tables = {r[0] for r in await fetch_all(
                db.reader, "SELECT table_name FROM information_schema.tables"
                           " WHERE table_schema = 'public'")}
            assert EXPECTED_TABLES <= tables
            return
        tables = {r[0] for r in await fetch_all(
            db.reader, "SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert EXPECTED_TABLES <= tables
        mode = (await fetch_all(db.reader, "PRAGMA journal_mode"))[0][0]
        assert mode == "wal"
        assert (await fetch_all(db.reader, "PRAGMA foreign_keys"))[0][0] == 1
    finally:
        await db.close()
    # opening again applies nothing twice
    db = await Database(str(tmp_path / "db.sqlite3")).open()
    await db.close()


def new(key: str, **kw) -> NewIncident:
    values = dict(source="vk:100001", source_kind="vk_comment", source_key=key,
                  author_id="vk:500101", text="текст", written_at=NOW, received_at=NOW,
                  block="ЖКХ", priority="normal", policy="answer")
    values.update(kw)
    return NewIncident(**values)


async def test_same_event_is_stored_once(tmp_path):
    db = await Database(str(tmp_path / "db.sqlite3")).open()
    try:
        async with db.tx() as conn:
            first = await repo.insert(conn, new("k1"))
            again = await repo.insert(conn, new("k1"))
        assert first is not None and again is None
        assert await repo.count(db.reader) == 1
    finally:
        await db.close()


async def test_a_burst_of_writers_never_locks(tmp_path):
    db = await Database(str(tmp_path / "db.sqlite3")).open()
    try:
        async def write(i: int) -> None:
            async with db.tx() as conn:
                await repo.insert(conn, new(f"burst:{i}"))
                await cursors.put(conn, "last", str(i))

        await asyncio.gather(*(write(i) for i in range(300)))
        assert await repo.count(db.reader) == 300
    finally:
        await db.close()


async def test_failed_transaction_changes_nothing(tmp_path):
    db = await Database(str(tmp_path / "db.sqlite3")).open()
    try:
        try:
            async with db.tx() as conn:
                await repo.insert(conn, new("k2"))
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        assert await repo.count(db.reader) == 0
    finally:
        await db.close()


async def test_outbox_key_once_and_refresh_rearms(tmp_path):
    db = await Database(str(tmp_path / "db.sqlite3")).open()
    try:
        async with db.tx() as conn:
            assert await outbox.enqueue(conn, key="a", platform="tg", lane="tg:1",
                                        method="sendMessage", params={}, now=NOW)
            assert not await outbox.enqueue(conn, key="a", platform="tg", lane="tg:1",
                                            method="sendMessage", params={}, now=NOW)
            item = (await outbox.lane_heads(conn))[0]
            assert await outbox.mark_sending(conn, item.id)
            # re-armed while in flight: the older delivery's "done" must not settle it
            await outbox.enqueue(conn, key="a", platform="tg", lane="tg:1",
                                 method="sendMessage", params={}, now=NOW, refresh=True)
            assert not await outbox.mark_done(conn, item.id, {"ok": True}, NOW)
            assert (await outbox.get(conn, item.id)).status == "pending"
    finally:
        await db.close()


async def test_backup_is_a_consistent_copy(tmp_path, backend):
    db = await Database(str(tmp_path / "db.sqlite3")).open()
    try:
        async with db.tx() as conn:
            await repo.insert(conn, new("k3"))
        if backend == "postgresql":  # pg_dump's job: said plainly, nothing written
            with pytest.raises(RuntimeError, match="pg_dump"):
                await db.backup(str(tmp_path / "copy.sqlite3"))
            assert not (tmp_path / "copy.sqlite3").exists()
            return
        await db.backup(str(tmp_path / "copy.sqlite3"))
    finally:
        await db.close()
    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM incidents").fetchone()[0] == 1
