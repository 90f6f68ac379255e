"""Moving a municipality's SQLite database into PostgreSQL (``mcu-hub migrate-to``).

Every table is copied as it is, ids included (on PostgreSQL a row's key is
(municipality, id), so the numbers staff know stay the numbers), through a temporary
table with COPY and one ``INSERT … ON CONFLICT (key) DO UPDATE``: a second run updates
what changed and adds what is new, so the copy can be repeated (a first pass while the
bot still runs on SQLite, the last after it stopped). Then every table's count and a
checksum over every column are compared on both sides; the sequences go past the copied
ids, so new rows number on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from storage.db import Database, fetch_all

# parents before children (foreign keys)
TABLES = ("incidents", "incident_events", "staff", "posts", "post_targets", "outbox",
          "notices", "cursors", "deadline_queue", "tg_marks", "heartbeats", "health_failures")
_BATCH = 20_000


@dataclass
class Copied:
    table: str
    rows: int  # in the SQLite database
    target: int  # in PostgreSQL after the copy (this municipality's)
    same: bool  # count and checksum agree

    @property
    def ok(self) -> bool:
        return self.same and self.rows == self.target


async def _pg_columns(target: Database, table: str) -> tuple[dict[str, str], list[str]]:
    raw = target.reader.raw  # type: ignore[attr-defined]
    types = {row[0]: row[1] for row in await raw.fetch(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = $1", table)}
    key = [row[0] for row in await raw.fetch(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
        " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary"
        " ORDER BY array_position(i.indkey, a.attnum)", table)]
    return types, key


def _cast(value: Any, kind: str) -> Any:
    """SQLite keeps what it was given; PostgreSQL's columns take one type each."""
    if value is None:
        return None
    if kind == "bigint" or kind == "integer":
        return int(value)
    if kind == "double precision":
        return float(value)
    return value if isinstance(value, str) else str(value)


def _digest(rows: list[tuple[Any, ...]]) -> str:
    found = hashlib.sha256()
    for row in sorted(rows, key=repr):
        found.update(repr(row).encode())
    return found.hexdigest()


async def _copy_table(source: Database, target: Database, table: str) -> Copied:
    types, key = await _pg_columns(target, table)
    columns = [row["name"] for row in await fetch_all(source.reader,
                                                      f"PRAGMA table_info({table})")]
    columns = [c for c in columns if c in types]
    listed = ", ".join(columns)
    raw = target._writer.raw  # type: ignore[union-attr]  # the writer: one transaction
    rows = [tuple(_cast(v, types[c]) for v, c in zip(row, columns, strict=True))
            for row in await fetch_all(source.reader, f"SELECT {listed} FROM {table}")]
    conflict = ", ".join(key)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    async with target._lock, raw.transaction():  # type: ignore[union-attr]
        await raw.execute(f"CREATE TEMP TABLE mcu_copy (LIKE {table} INCLUDING DEFAULTS)"
                          " ON COMMIT DROP")
        for start in range(0, len(rows), _BATCH):
            await raw.copy_records_to_table("mcu_copy", records=rows[start:start + _BATCH],
                                            columns=columns)
        await raw.execute(f"INSERT INTO {table} ({listed}) SELECT {listed} FROM mcu_copy"
                          f" ON CONFLICT ({conflict}) {action}")
        # what the triggers did while copying (a heartbeat, a failure, the time a row
        # was queued) is the source's again
        if table == "outbox":
            await raw.execute("UPDATE outbox o SET pending_since = c.pending_since"
                              " FROM mcu_copy c WHERE o.id = c.id")
        if table == "health_failures":
            await raw.execute("DELETE FROM health_failures f WHERE NOT EXISTS"
                              " (SELECT 1 FROM mcu_copy c WHERE c.id = f.id)")
        if "id" in columns and types.get("id") == "bigint":
            sequence = await raw.fetchval("SELECT pg_get_serial_sequence($1, 'id')", table)
            await raw.execute(
                f"SELECT setval('{sequence}', m) FROM (SELECT max(id) AS m FROM mcu_copy) x"
                f" WHERE m > (SELECT last_value FROM {sequence})")
    copied = [tuple(row) for row in await raw.fetch(f"SELECT {listed} FROM {table}")]
    return Copied(table, len(rows), len(copied), _digest(rows) == _digest(copied))


async def copy(source: Database, target: Database) -> list[Copied]:
    """Copy every table of ``source`` (SQLite) into ``target`` (PostgreSQL, this
    municipality) and compare; one entry a table."""
    assert source.dialect == "sqlite" and target.dialect == "postgresql"
    return [await _copy_table(source, target, table) for table in TABLES]
