"""The database: one SQLite file in WAL mode (or PostgreSQL), one writer at a time.

Writes go through ``Database.tx()``, which holds an asyncio lock around
``BEGIN IMMEDIATE ... COMMIT`` on the single writer connection, so a burst of
concurrent writers queues in the event loop instead of failing with
``database is locked``. Reads that need not see a transaction in flight use the
separate reader connection, which WAL lets run beside the writer.

``storage.url = "postgresql://…"`` puts the same tables in PostgreSQL instead (many
municipalities in one database, see ``storage/pg.py``); the repository modules do not
know which: both connections answer ``execute``/``executemany`` alike, and the
migrations of both carry the same numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import aiosqlite

from storage import pg
from storage.leader import Leadership

Conn = aiosqlite.Connection  # or a storage.pg.PgConn, which answers the same calls


def is_postgres(target: str) -> bool:
    """``postgresql://…`` (or ``postgres://…``) selects PostgreSQL; a path or
    ``sqlite:PATH`` keeps SQLite."""
    return target.startswith(("postgresql://", "postgres://"))


def sqlite_path(target: str) -> str:
    return target.removeprefix("sqlite://").removeprefix("sqlite:") or ":memory:"


async def _open(path: str) -> Conn:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA foreign_keys=ON")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute("PRAGMA busy_timeout=10000")
    return conn


def migrations(dialect: str = "sqlite") -> list[tuple[int, str, str]]:
    """The numbered SQL migrations shipped in ``storage/migrations`` (PostgreSQL's in
    ``storage/migrations/postgresql``, the same numbers), in order."""
    found = []
    folder = resources.files("storage") / "migrations"
    if dialect == "postgresql":
        folder = folder / "postgresql"
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(conn: Conn) -> list[str]:
    """Apply the migrations this database lacks; return the names applied."""
    if isinstance(conn, pg.PgConn):
        return await pg_migrate(conn)
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    async with conn.execute("SELECT version FROM schema_migrations") as cur:
        applied = {row[0] for row in await cur.fetchall()}
    done = []
    for version, name, sql in migrations():
        if version in applied:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, datetime.now(UTC).isoformat()),
            )
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        done.append(name)
    return done


_MIGRATING = 7_150_001  # the advisory lock processes take to migrate one at a time


async def pg_migrate(conn: pg.PgConn) -> list[str]:
    """The same, on PostgreSQL: each migration one script in one transaction; processes
    of several municipalities starting together migrate one after the other."""
    done = []
    async with conn.raw.transaction():
        await conn.raw.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATING)
        await conn.raw.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        applied = {row[0] for row in await conn.raw.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in migrations("postgresql"):
            if version in applied:
                continue
            await conn.script(sql)
            await conn.raw.execute(
                "INSERT INTO schema_migrations(version, name, applied_at) VALUES ($1, $2, $3)",
                version, name, datetime.now(UTC).isoformat())
            done.append(name)
    return done


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows the grammar)."""
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


class Database:
    def __init__(self, target: str, municipality: str = "main"):
        """``target``: a SQLite path (``sqlite:PATH`` too) or a ``postgresql://`` URL;
        ``municipality`` keeps this process's rows apart in a shared PostgreSQL."""
        self.url = target
        self.dialect = "postgresql" if is_postgres(target) else "sqlite"
        self.path = target if self.dialect == "postgresql" else sqlite_path(target)
        self.municipality = municipality
        self._begin = "BEGIN" if self.dialect == "postgresql" else "BEGIN IMMEDIATE"
        self._writer: Conn | None = None
        self._reader: Conn | None = None
        self._lock: asyncio.Lock | None = None

    async def open(self) -> Database:
        if self.dialect == "postgresql":
            return await self._open_postgres()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._writer = await _open(self.path)
        await migrate(self._writer)
        # an in-memory database is private to its connection: read through the writer
        self._reader = self._writer if self.path == ":memory:" else await _open(self.path)
        self._lock = asyncio.Lock()
        return self

    async def _open_postgres(self) -> Database:
        writer = await pg.connect(self.url, self.municipality)
        try:
            problem = await pg.check_role(writer)
            if problem is not None:
                raise RuntimeError(f"storage.url: {problem}")
            await migrate(writer)
            self._reader = await pg.connect(self.url, self.municipality)  # type: ignore[assignment]
        except BaseException:
            await writer.close()
            raise
        self._writer = writer  # type: ignore[assignment]
        self._lock = asyncio.Lock()
        return self

    async def close(self) -> None:
        if self._reader is not None and self._reader is not self._writer:
            await self._reader.close()
        if self._writer is not None:
            await self._writer.close()
        self._writer = self._reader = None

    def leadership(self) -> Leadership:
        """The lock that makes this process the one of its municipality doing the work."""
        return Leadership(self.path, self.municipality, self.dialect == "postgresql")

    @property
    def reader(self) -> Conn:
        assert self._reader is not None, "database is not open"
        return self._reader

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[Conn]:
        """One write transaction; commits on success, rolls back on any error."""
        assert self._writer is not None and self._lock is not None, "database is not open"
        async with self._lock:
            try:
                await self._writer.execute(self._begin)
            except BaseException:
                # cancelled while BEGIN was under way (a job at shutdown): it may have
                # begun all the same, and the next transaction must not start inside it
                with contextlib.suppress(Exception):
                    await self._writer.execute("ROLLBACK")
                raise
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")

    async def backup(self, target: str) -> None:
        """An online, consistent copy through SQLite's backup API."""
        assert self._writer is not None and self._lock is not None
        if self.dialect == "postgresql":
            raise RuntimeError("a PostgreSQL database is backed up with pg_dump")
        async with self._lock:
            dest = await aiosqlite.connect(target)
            try:
                await self._writer.backup(dest)
            finally:
                await dest.close()


@asynccontextmanager
async def savepoint(conn: Conn, name: str) -> AsyncIterator[None]:
    """A part of a transaction that can fail alone: its writes are undone and the
    error raised, the rest of the transaction goes on."""
    await conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except Exception:
        await conn.execute(f"ROLLBACK TO {name}")
        await conn.execute(f"RELEASE {name}")
        raise
    await conn.execute(f"RELEASE {name}")


async def fetch_one(conn: Conn, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
    async with conn.execute(sql, params) as cur:
        return await cur.fetchone()


async def fetch_all(conn: Conn, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
    async with conn.execute(sql, params) as cur:
        return list(await cur.fetchall())


async def fetch_value(conn: Conn, sql: str, params: tuple | dict = ()) -> object:
    row = await fetch_one(conn, sql, params)
    return None if row is None else row[0]
