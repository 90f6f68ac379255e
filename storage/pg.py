"""PostgreSQL behind the interface the repository modules already speak (aiosqlite's).

Why asyncpg: it is the maintained asyncio driver with its own binary protocol
implementation (no libpq), prepared statements, pipelined ``executemany`` and COPY, and
it is the fastest of the async drivers, which matters for the 50-municipality database.
Its records read by name and by position, as ``sqlite3.Row`` does.

The repository SQL is written once, in SQLite's words. What differs is handled here, in
one place, and cached per statement:

* placeholders: ``?`` and ``:name`` become ``$1, $2 …`` (string literals left alone);
* ``ON CONFLICT(cols)`` becomes ``ON CONFLICT(municipality, cols)``: on PostgreSQL every
  unique key begins with the municipality (many share one database);
* the few SQLite functions the SQL uses (``julianday('now')``, two-argument ``max``,
  ``total``, ``date(t, '+N seconds')``, ``json_remove``…) exist in the PostgreSQL schema
  (``migrations/postgresql/0001_initial.sql``); INSERT … RETURNING is common to both;
* ``BEGIN IMMEDIATE`` is SQLite's; a transaction here is a plain ``BEGIN``.

Each connection carries its municipality (``mcu.municipality``), which the row-level
security of every table checks.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONFLICT = re.compile(r"ON\s+CONFLICT\s*\(", re.IGNORECASE)
_TRANSLATED: dict[str, tuple[str, tuple[str, ...] | None]] = {}
_STATEMENTS = 256  # prepared statements kept per connection (IN-lists vary in length)


def translate(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """SQLite-flavoured SQL as PostgreSQL reads it, and the names of its ``:name``
    parameters in ``$n`` order (None: positional ``?``)."""
    found = _TRANSLATED.get(sql)
    if found is not None:
        return found
    out: list[str] = []
    names: list[str] = []
    positional = 0
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "'":  # a string literal, copied as it is
            end = sql.find("'", i + 1)
            while end != -1 and end + 1 < n and sql[end + 1] == "'":
                end = sql.find("'", end + 2)
            end = n - 1 if end == -1 else end
            out.append(sql[i:end + 1])
            i = end + 1
            continue
        if ch == "?":
            positional += 1
            out.append(f"${positional}")
        elif ch == ":" and i + 1 < n and sql[i + 1] != ":" and (i == 0 or sql[i - 1] != ":"):
            word = _WORD.match(sql, i + 1)
            if word is None:
                out.append(ch)
            else:
                if word.group() not in names:
                    names.append(word.group())
                out.append(f"${names.index(word.group()) + 1}")
                i = word.end()
                continue
        else:
            out.append(ch)
        i += 1
    text = _CONFLICT.sub(lambda m: m.group() + "municipality, ", "".join(out))
    found = (text, tuple(names) if names else None)
    _TRANSLATED[sql] = found
    return found


def _args(names: tuple[str, ...] | None, params: Sequence[Any] | dict[str, Any]) -> list[Any]:
    if names is None:
        return list(params)
    assert isinstance(params, dict), "a statement with :names takes a dict"
    return [params[name] for name in names]


class Cursor:
    """What a statement answered: its rows, and how many rows it changed."""

    def __init__(self, rows: list[asyncpg.Record], status: str | None):
        self._rows = rows
        parts = (status or "").split()
        self.rowcount = int(parts[-1]) if parts and parts[-1].isdigit() else -1
        self.lastrowid = None  # use RETURNING id: it works on both backends

    async def fetchone(self) -> asyncpg.Record | None:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[asyncpg.Record]:
        return self._rows

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class _Call:
    """``await conn.execute(...)`` and ``async with conn.execute(...) as cur`` alike."""

    def __init__(self, conn: PgConn, sql: str, params: Sequence[Any] | dict[str, Any]):
        self.conn, self.sql, self.params = conn, sql, params

    def __await__(self):  # type: ignore[no-untyped-def]
        return self.conn._run(self.sql, self.params).__await__()

    async def __aenter__(self) -> Cursor:
        return await self.conn._run(self.sql, self.params)

    async def __aexit__(self, *exc: object) -> None:
        return None


class PgConn:
    """One asyncpg connection with aiosqlite's ``execute``/``executemany`` surface."""

    dialect = "postgresql"

    def __init__(self, raw: asyncpg.Connection):
        self.raw = raw
        # one operation at a time, as aiosqlite's connection thread does: the reader is
        # shared by every task of the process
        self._busy = asyncio.Lock()
        self._prepared: OrderedDict[str, asyncpg.prepared_stmt.PreparedStatement] = (
            OrderedDict())

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> _Call:
        return _Call(self, sql, params)

    async def _run(self, sql: str, params: Sequence[Any] | dict[str, Any]) -> Cursor:
        text, names = translate(sql)
        args = _args(names, params)
        async with self._busy:
            statement = self._prepared.get(text)
            if statement is None:
                statement = await self.raw.prepare(text)
                self._prepared[text] = statement
                if len(self._prepared) > _STATEMENTS:
                    self._prepared.popitem(last=False)
            else:
                self._prepared.move_to_end(text)
            rows = await statement.fetch(*args)
            return Cursor(rows, statement.get_statusmsg())

    async def executemany(self, sql: str,
                          seq: Iterable[Sequence[Any] | dict[str, Any]]) -> None:
        text, names = translate(sql)
        batch = [_args(names, params) for params in seq]
        if batch:
            async with self._busy:
                await self.raw.executemany(text, batch)

    async def script(self, sql: str) -> None:
        """Several statements at once (a migration), no parameters."""
        async with self._busy:
            await self.raw.execute(sql)

    async def close(self) -> None:
        self._prepared.clear()
        await self.raw.close()


async def connect(url: str, municipality: str, extra: dict[str, str] | None = None) -> PgConn:
    """A connection whose every query is limited to ``municipality``'s rows."""
    raw = await asyncpg.connect(
        url, server_settings={"mcu.municipality": municipality,
                              "application_name": f"mcu-hub:{municipality}", **(extra or {})})
    return PgConn(raw)


async def check_role(conn: PgConn) -> str | None:
    """Why row-level security would not protect this connection (None: it does)."""
    row = await conn.raw.fetchrow(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    if row is not None and (row["rolsuper"] or row["rolbypassrls"]):
        return ("the database role is a superuser or has BYPASSRLS, so one municipality"
                " could read another's rows; connect as an ordinary role")
    collation = await conn.raw.fetchval(
        "SELECT datcollate FROM pg_database WHERE datname = current_database()")
    if collation not in ("C", "POSIX", "C.UTF-8", "C.utf8"):
        return (f"the database's collation is {collation}; times and keys are compared as"
                " bytes, as SQLite does: create it with LC_COLLATE 'C'"
                " (createdb --locale=C --template=template0)")
    return None
