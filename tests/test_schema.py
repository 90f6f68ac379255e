"""The exact schema a blank database gets from the migrations.

A migration that adds, drops or changes a table, a column, an index or a trigger must
change this listing too: the schema is the contract of every repository in ``storage/``.
PostgreSQL's schema (``storage/migrations/postgresql``) is listed as well, and must
mirror SQLite's table for table, column for column, plus the municipality key.
"""

from __future__ import annotations

import re

import pytest

from storage.db import Conn, Database, fetch_all, migrations

EXPECTED = """
table absences
  id INTEGER PK1
  user_id INTEGER NOT NULL
  deputy_id INTEGER NOT NULL
  until TEXT NOT NULL
  set_at TEXT NOT NULL
  set_by INTEGER
  ended_at TEXT
table cursors
  name TEXT PK1
  value TEXT NOT NULL
table deadline_queue
  incident_id INTEGER PK1
  next_at TEXT NOT NULL
  incident_id -> incidents(id)
table gathered_items
  user_id INTEGER NOT NULL PK1
  kind TEXT NOT NULL PK2
  incident_id INTEGER NOT NULL PK3
  due_key TEXT NOT NULL PK4
  queued_at TEXT NOT NULL
  sent_at TEXT
  incident_id -> incidents(id)
table health_failures
  id INTEGER PK1
  name TEXT NOT NULL
  at REAL NOT NULL
  error TEXT NOT NULL DEFAULT ''
table heartbeats
  name TEXT PK1
  ok_at REAL
  error_at REAL
  error TEXT
table incident_events
  id INTEGER PK1
  incident_id INTEGER NOT NULL
  at TEXT NOT NULL
  actor_id INTEGER
  actor_name TEXT NOT NULL DEFAULT ''
  action TEXT NOT NULL
  from_state TEXT
  to_state TEXT
  button TEXT
  detail TEXT NOT NULL DEFAULT ''
  incident_id -> incidents(id)
table incident_external
  incident_id INTEGER PK1
  system TEXT NOT NULL DEFAULT ''
  number TEXT NOT NULL DEFAULT ''
  category TEXT NOT NULL DEFAULT ''
  result TEXT NOT NULL DEFAULT ''
  incident_id -> incidents(id)
table incident_members
  id INTEGER PK1
  incident_id INTEGER NOT NULL
  source_key TEXT NOT NULL
  author_id TEXT NOT NULL
  author_name TEXT NOT NULL DEFAULT ''
  author_link TEXT
  text TEXT NOT NULL DEFAULT ''
  link TEXT
  attachments TEXT NOT NULL DEFAULT '[]'
  reply_target TEXT NOT NULL DEFAULT '{}'
  written_at TEXT NOT NULL
  joined_at TEXT NOT NULL
  merged_from INTEGER
  published_round INTEGER
  failed TEXT
  merged_from -> incidents(id)
  incident_id -> incidents(id)
table incidents
  id INTEGER PK1
  source TEXT NOT NULL
  source_kind TEXT NOT NULL
  source_key TEXT NOT NULL
  thread_key TEXT
  link TEXT
  author_id TEXT NOT NULL
  author_name TEXT NOT NULL DEFAULT ''
  author_link TEXT
  text TEXT NOT NULL DEFAULT ''
  attachments TEXT NOT NULL DEFAULT '[]'
  reply_target TEXT NOT NULL DEFAULT '{}'
  written_at TEXT NOT NULL
  received_at TEXT NOT NULL
  block TEXT NOT NULL
  priority TEXT NOT NULL DEFAULT 'normal'
  policy TEXT NOT NULL
  route_rule TEXT
  state TEXT NOT NULL DEFAULT 'new'
  version INTEGER NOT NULL DEFAULT 0
  assignee_id INTEGER
  assigned_at TEXT
  due_at TEXT
  first_reply_due_at TEXT
  first_reply_at TEXT
  answer_text TEXT
  answer_photos TEXT NOT NULL DEFAULT '[]'
  answer_by INTEGER
  publications INTEGER NOT NULL DEFAULT 0
  published_at TEXT
  closed_at TEXT
  rating INTEGER
  returns INTEGER NOT NULL DEFAULT 0
  reopens INTEGER NOT NULL DEFAULT 0
  overdue_at TEXT
  card_chat_id INTEGER
  card_thread_id INTEGER
  card_message_id INTEGER
  edited_at TEXT
  deleted_at TEXT
  purged_at TEXT
  search_text TEXT
  interim_text TEXT
  promised_on TEXT
table notices
  incident_id INTEGER NOT NULL PK1
  kind TEXT NOT NULL PK2
  due_key TEXT NOT NULL PK3
  sent_at TEXT NOT NULL
  incident_id -> incidents(id)
table outbox
  id INTEGER PK1
  key TEXT NOT NULL
  platform TEXT NOT NULL
  lane TEXT NOT NULL
  method TEXT NOT NULL
  params TEXT NOT NULL
  purpose TEXT NOT NULL DEFAULT ''
  ref_id INTEGER
  status TEXT NOT NULL DEFAULT 'pending'
  attempts INTEGER NOT NULL DEFAULT 0
  not_before REAL NOT NULL DEFAULT 0
  created_at TEXT NOT NULL
  done_at TEXT
  result TEXT
  error TEXT
  armed_at REAL NOT NULL DEFAULT 0
  in_flight INTEGER NOT NULL DEFAULT 0
  uncertain INTEGER NOT NULL DEFAULT 0
  watermark INTEGER
  pending_since REAL
table post_targets
  post_id INTEGER NOT NULL PK1
  target TEXT NOT NULL PK2
  status TEXT NOT NULL DEFAULT 'pending'
  link TEXT
  error TEXT
  published_at TEXT
  post_id -> posts(id)
table posts
  id INTEGER PK1
  page TEXT NOT NULL
  kind TEXT NOT NULL DEFAULT 'post'
  text TEXT NOT NULL DEFAULT ''
  photos TEXT NOT NULL DEFAULT '[]'
  poll TEXT
  fixed_at TEXT
  queued_at TEXT NOT NULL
  queued_by INTEGER
  planned_at TEXT
  status TEXT NOT NULL DEFAULT 'queued'
  published_at TEXT
  error TEXT
table routing_corrections
  id INTEGER PK1
  municipality TEXT NOT NULL
  incident_id INTEGER NOT NULL
  at TEXT NOT NULL
  actor_id INTEGER
  from_block TEXT NOT NULL
  to_block TEXT NOT NULL
  text TEXT NOT NULL DEFAULT ''
  incident_id -> incidents(id)
table routing_unlearned
  municipality TEXT NOT NULL PK1
  word TEXT NOT NULL PK2
  block TEXT NOT NULL PK3
  at TEXT NOT NULL
  actor TEXT NOT NULL DEFAULT ''
table schema_migrations
  version INTEGER PK1
  name TEXT NOT NULL
  applied_at TEXT NOT NULL
table staff
  telegram_id INTEGER PK1
  name TEXT NOT NULL
  roles TEXT NOT NULL
  blocks TEXT NOT NULL
  vk_id INTEGER
  active INTEGER NOT NULL DEFAULT 1
table tg_marks
  chat_id INTEGER PK1
  message_id INTEGER NOT NULL
index absences_user ON absences(user_id)
index deadline_queue_next ON deadline_queue(next_at)
index gathered_items_waiting ON gathered_items(user_id, kind) WHERE sent_at IS NULL
index health_failures_at ON health_failures(at)
index incident_events_action_at ON incident_events(action, at)
index incident_events_incident ON incident_events(incident_id, id)
index incident_members_incident ON incident_members(incident_id, id)
index incidents_assignee ON incidents(assignee_id, state)
index incidents_block_received ON incidents(block, received_at)
index incidents_due ON incidents(due_at) WHERE due_at IS NOT NULL
index incidents_promised ON incidents(promised_on) WHERE promised_on IS NOT NULL
index incidents_published ON incidents(published_at) WHERE published_at IS NOT NULL
index incidents_received ON incidents(received_at)
index incidents_state ON incidents(state)
index incidents_thread ON incidents(thread_key, author_id)
index incidents_unindexed ON incidents(id) WHERE search_text IS NULL
index outbox_pending ON outbox(status, not_before, id) WHERE status IN ('pending', 'sending')
index outbox_ref ON outbox(purpose, ref_id)
index posts_page_status ON posts(page, status)
index routing_corrections_municipality ON routing_corrections(municipality)
index sqlite_autoindex_cursors_1 ON cursors(name)
index sqlite_autoindex_gathered_items_1 ON gathered_items(user_id, kind, incident_id, due_key)
index sqlite_autoindex_heartbeats_1 ON heartbeats(name)
index sqlite_autoindex_incident_members_1 ON incident_members(source_key)
index sqlite_autoindex_incidents_1 ON incidents(source_key)
index sqlite_autoindex_notices_1 ON notices(incident_id, kind, due_key)
index sqlite_autoindex_outbox_1 ON outbox(key)
index sqlite_autoindex_post_targets_1 ON post_targets(post_id, target)
index sqlite_autoindex_routing_unlearned_1 ON routing_unlearned(municipality, word, block)
trigger deadline_queue_on_insert ON incidents
trigger deadline_queue_on_update ON incidents
trigger incidents_search_stale ON incidents
trigger outbox_delivered ON outbox
trigger outbox_failed ON outbox
trigger outbox_queued ON outbox
trigger outbox_rearmed ON outbox
"""

EXPECTED_PG = """
table absences RLS
  id bigint NOT NULL IDENTITY PK2
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  user_id bigint NOT NULL
  deputy_id bigint NOT NULL
  until text NOT NULL
  set_at text NOT NULL
  set_by bigint
  ended_at text
table cursors RLS
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  name text NOT NULL PK2
  value text NOT NULL
table deadline_queue RLS
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  incident_id bigint NOT NULL PK2
  next_at text NOT NULL
  (municipality, incident_id) -> incidents(municipality, id)
table gathered_items RLS
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  user_id bigint NOT NULL PK2
  kind text NOT NULL PK3
  incident_id bigint NOT NULL PK4
  due_key text NOT NULL PK5
  queued_at text NOT NULL
  sent_at text
  (municipality, incident_id) -> incidents(municipality, id)
table health_failures RLS
  id bigint NOT NULL IDENTITY PK2
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  name text NOT NULL
  at double precision NOT NULL
  error text NOT NULL DEFAULT ''::text
table heartbeats RLS
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  name text NOT NULL PK2
  ok_at double precision
  error_at double precision
  error text
table incident_events RLS
  id bigint NOT NULL IDENTITY PK2
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  incident_id bigint NOT NULL
  at text NOT NULL
  actor_id bigint
  actor_name text NOT NULL DEFAULT ''::text
  action text NOT NULL
  from_state text
  to_state text
  button text
  detail text NOT NULL DEFAULT ''::text
  (municipality, incident_id) -> incidents(municipality, id)
table incident_external RLS
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  incident_id bigint NOT NULL PK2
  system text NOT NULL DEFAULT ''::text
  number text NOT NULL DEFAULT ''::text
  category text NOT NULL DEFAULT ''::text
  result text NOT NULL DEFAULT ''::text
  (municipality, incident_id) -> incidents(municipality, id)
table incident_members RLS
  id bigint NOT NULL IDENTITY PK2
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  incident_id bigint NOT NULL
  source_key text NOT NULL
  author_id text NOT NULL
  author_name text NOT NULL DEFAULT ''::text
  author_link text
  text text NOT NULL DEFAULT ''::text
  link text
  attachments text NOT NULL DEFAULT '[]'::text
  reply_target text NOT NULL DEFAULT '{}'::text
  written_at text NOT NULL
  joined_at text NOT NULL
  merged_from bigint
  published_round bigint
  failed text
  (municipality, incident_id) -> incidents(municipality, id)
  (municipality, merged_from) -> incidents(municipality, id)
table incidents RLS
  id bigint NOT NULL IDENTITY PK2
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  source text NOT NULL
  source_kind text NOT NULL
  source_key text NOT NULL
  thread_key text
  link text
  author_id text NOT NULL
  author_name text NOT NULL DEFAULT ''::text
  author_link text
  text text NOT NULL DEFAULT ''::text
  attachments text NOT NULL DEFAULT '[]'::text
  reply_target text NOT NULL DEFAULT '{}'::text
  written_at text NOT NULL
  received_at text NOT NULL
  block text NOT NULL
  priority text NOT NULL DEFAULT 'normal'::text
  policy text NOT NULL
  route_rule text
  state text NOT NULL DEFAULT 'new'::text
  version bigint NOT NULL DEFAULT 0
  assignee_id bigint
  assigned_at text
  due_at text
  first_reply_due_at text
  first_reply_at text
  answer_text text
  answer_photos text NOT NULL DEFAULT '[]'::text
  answer_by bigint
  publications bigint NOT NULL DEFAULT 0
  published_at text
  closed_at text
  rating bigint
  returns bigint NOT NULL DEFAULT 0
  reopens bigint NOT NULL DEFAULT 0
  overdue_at text
  card_chat_id bigint
  card_thread_id bigint
  card_message_id bigint
  edited_at text
  deleted_at text
  purged_at text
  search_text text
  interim_text text
  promised_on text
table notices RLS
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  incident_id bigint NOT NULL PK2
  kind text NOT NULL PK3
  due_key text NOT NULL PK4
  sent_at text NOT NULL
  (municipality, incident_id) -> incidents(municipality, id)
table outbox RLS
  id bigint NOT NULL IDENTITY PK2
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  key text NOT NULL
  platform text NOT NULL
  lane text NOT NULL
  method text NOT NULL
  params text NOT NULL
  purpose text NOT NULL DEFAULT ''::text
  ref_id bigint
  status text NOT NULL DEFAULT 'pending'::text
  attempts bigint NOT NULL DEFAULT 0
  not_before double precision NOT NULL DEFAULT 0
  created_at text NOT NULL
  done_at text
  result text
  error text
  armed_at double precision NOT NULL DEFAULT 0
  in_flight bigint NOT NULL DEFAULT 0
  uncertain bigint NOT NULL DEFAULT 0
  watermark bigint
  pending_since double precision
table post_targets RLS
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  post_id bigint NOT NULL PK2
  target text NOT NULL PK3
  status text NOT NULL DEFAULT 'pending'::text
  link text
  error text
  published_at text
  (municipality, post_id) -> posts(municipality, id)
table posts RLS
  id bigint NOT NULL IDENTITY PK2
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  page text NOT NULL
  kind text NOT NULL DEFAULT 'post'::text
  text text NOT NULL DEFAULT ''::text
  photos text NOT NULL DEFAULT '[]'::text
  poll text
  fixed_at text
  queued_at text NOT NULL
  queued_by bigint
  planned_at text
  status text NOT NULL DEFAULT 'queued'::text
  published_at text
  error text
table routing_corrections RLS
  id bigint NOT NULL IDENTITY PK2
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  incident_id bigint NOT NULL
  at text NOT NULL
  actor_id bigint
  from_block text NOT NULL
  to_block text NOT NULL
  text text NOT NULL DEFAULT ''::text
  (municipality, incident_id) -> incidents(municipality, id)
table routing_unlearned RLS
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  word text NOT NULL PK2
  block text NOT NULL PK3
  at text NOT NULL
  actor text NOT NULL DEFAULT ''::text
table schema_migrations
  version integer NOT NULL PK1
  name text NOT NULL
  applied_at text NOT NULL
table staff RLS
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  telegram_id bigint NOT NULL PK2
  name text NOT NULL
  roles text NOT NULL
  blocks text NOT NULL
  vk_id bigint
  active bigint NOT NULL DEFAULT 1
table tg_marks RLS
  municipality text NOT NULL DEFAULT current_setting('mcu.municipality'::text) PK1
  chat_id bigint NOT NULL PK2
  message_id bigint NOT NULL
index absences_pkey ON absences(municipality, id) UNIQUE
index absences_user ON absences(municipality, user_id)
index cursors_pkey ON cursors(municipality, name) UNIQUE
index deadline_queue_next ON deadline_queue(municipality, next_at)
index deadline_queue_pkey ON deadline_queue(municipality, incident_id) UNIQUE
index gathered_items_pkey ON gathered_items(municipality, user_id, kind, incident_id, due_key) UNIQUE
index gathered_items_waiting ON gathered_items(municipality, user_id, kind)
  WHERE (sent_at IS NULL)
index health_failures_at ON health_failures(municipality, at)
index health_failures_pkey ON health_failures(municipality, id) UNIQUE
index heartbeats_pkey ON heartbeats(municipality, name) UNIQUE
index incident_events_action_at ON incident_events(municipality, action, at)
index incident_events_incident ON incident_events(municipality, incident_id, id)
index incident_events_pkey ON incident_events(municipality, id) UNIQUE
index incident_external_pkey ON incident_external(municipality, incident_id) UNIQUE
index incident_members_incident ON incident_members(municipality, incident_id, id)
index incident_members_municipality_source_key_key ON incident_members(municipality, source_key) UNIQUE
index incident_members_pkey ON incident_members(municipality, id) UNIQUE
index incidents_assignee ON incidents(municipality, assignee_id, state)
index incidents_block_received ON incidents(municipality, block, received_at)
index incidents_card ON incidents(municipality, card_chat_id, card_message_id)
index incidents_due ON incidents(municipality, due_at)
  WHERE (due_at IS NOT NULL)
index incidents_municipality_source_key_key ON incidents(municipality, source_key) UNIQUE
index incidents_pkey ON incidents(municipality, id) UNIQUE
index incidents_promised ON incidents(municipality, promised_on)
  WHERE (promised_on IS NOT NULL)
index incidents_published ON incidents(municipality, published_at)
  WHERE (published_at IS NOT NULL)
index incidents_received ON incidents(municipality, received_at)
index incidents_state ON incidents(municipality, state)
index incidents_thread ON incidents(municipality, thread_key, author_id)
index incidents_unindexed ON incidents(municipality, id)
  WHERE (search_text IS NULL)
index notices_pkey ON notices(municipality, incident_id, kind, due_key) UNIQUE
index outbox_municipality_key_key ON outbox(municipality, key) UNIQUE
index outbox_pending ON outbox(municipality, status, not_before, id)
  WHERE (status = ANY (ARRAY['pending', 'sending']))
index outbox_pkey ON outbox(municipality, id) UNIQUE
index outbox_ref ON outbox(municipality, purpose, ref_id)
index post_targets_pkey ON post_targets(municipality, post_id, target) UNIQUE
index posts_page_status ON posts(municipality, page, status)
index posts_pkey ON posts(municipality, id) UNIQUE
index routing_corrections_municipality ON routing_corrections(municipality)
index routing_corrections_pkey ON routing_corrections(municipality, id) UNIQUE
index routing_unlearned_pkey ON routing_unlearned(municipality, word, block) UNIQUE
index schema_migrations_pkey ON schema_migrations(version) UNIQUE
index staff_pkey ON staff(municipality, telegram_id) UNIQUE
index tg_marks_pkey ON tg_marks(municipality, chat_id) UNIQUE
trigger deadline_queue_on_insert ON incidents
trigger deadline_queue_on_update ON incidents
trigger incidents_search_stale ON incidents
trigger outbox_delivered ON outbox
trigger outbox_failed ON outbox
trigger outbox_queued ON outbox
trigger outbox_rearmed ON outbox
policy municipality ON absences
policy municipality ON cursors
policy municipality ON deadline_queue
policy municipality ON gathered_items
policy municipality ON health_failures
policy municipality ON heartbeats
policy municipality ON incident_events
policy municipality ON incident_external
policy municipality ON incident_members
policy municipality ON incidents
policy municipality ON notices
policy municipality ON outbox
policy municipality ON post_targets
policy municipality ON posts
policy municipality ON routing_corrections
policy municipality ON routing_unlearned
policy municipality ON staff
policy municipality ON tg_marks
"""


async def listing(conn: Conn) -> list[str]:
    """Tables with their columns (type, NOT NULL, default, primary key) and foreign keys,
    then indexes (columns, partial condition), then triggers — each in name order."""
    lines = []
    for (name,) in await fetch_all(conn, "SELECT name FROM sqlite_master WHERE type = 'table'"
                                         " AND name NOT LIKE 'sqlite_%' ORDER BY name"):
        lines.append(f"table {name}")
        for row in await fetch_all(conn, f"PRAGMA table_info({name})"):
            parts = [row["name"], row["type"]]
            if row["notnull"]:
                parts.append("NOT NULL")
            if row["dflt_value"] is not None:
                parts.append(f"DEFAULT {row['dflt_value']}")
            if row["pk"]:
                parts.append(f"PK{row['pk']}")
            lines.append("  " + " ".join(parts))
        for row in await fetch_all(conn, f"PRAGMA foreign_key_list({name})"):
            lines.append(f"  {row['from']} -> {row['table']}({row['to']})")
    for row in await fetch_all(conn, "SELECT name, tbl_name, sql FROM sqlite_master"
                                     " WHERE type = 'index' ORDER BY name"):
        columns = [r["name"] for r in await fetch_all(conn, f"PRAGMA index_info({row['name']})")]
        where = re.search(r"\bWHERE\b(.*)$", row["sql"] or "", re.S)
        condition = " WHERE " + " ".join(where.group(1).split()) if where else ""
        lines.append(f"index {row['name']} ON {row['tbl_name']}({', '.join(columns)}){condition}")
    for row in await fetch_all(conn, "SELECT name, tbl_name FROM sqlite_master"
                                     " WHERE type = 'trigger' ORDER BY name"):
        lines.append(f"trigger {row['name']} ON {row['tbl_name']}")
    return lines


async def test_a_blank_database_gets_exactly_this_schema(tmp_path, backend):
    if backend != "sqlite":
        pytest.skip("SQLite's schema")
    db = await Database(str(tmp_path / "blank.sqlite3")).open()
    try:
        assert await listing(db.reader) == EXPECTED.strip().splitlines()
    finally:
        await db.close()

# the row-level security of every table: its own municipality's rows, reading and writing
_TENANT = "(municipality = current_setting('mcu.municipality'::text, true))"


async def pg_listing(conn: Conn) -> list[str]:
    """The same listing of a PostgreSQL database: tables, columns, keys, foreign keys,
    indexes, triggers, and the row-level security of each table."""
    lines = []
    tables = [row[0] for row in await fetch_all(
        conn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
    for name in tables:
        secure = await fetch_all(conn, "SELECT relrowsecurity, relforcerowsecurity FROM pg_class"
                                       " WHERE oid = ?::regclass", (name,))
        lines.append(f"table {name}" + (" RLS" if all(secure[0]) else ""))
        keys = {row[0]: row[1] for row in await fetch_all(
            conn,
            "SELECT a.attname, array_position(c.conkey, a.attnum) FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
            " WHERE c.conrelid = ?::regclass AND c.contype = 'p'", (name,))}
        for row in await fetch_all(
            conn,
            "SELECT column_name, data_type, is_nullable, column_default, is_identity"
            " FROM information_schema.columns WHERE table_schema = 'public'"
            " AND table_name = ? ORDER BY ordinal_position", (name,)):
            parts = [row["column_name"], row["data_type"]]
            if row["is_nullable"] == "NO":
                parts.append("NOT NULL")
            if row["column_default"] is not None:
                parts.append(f"DEFAULT {row['column_default']}")
            if row["is_identity"] == "YES":
                parts.append("IDENTITY")
            if row["column_name"] in keys:
                parts.append(f"PK{keys[row['column_name']]}")
            lines.append("  " + " ".join(parts))
        for (definition,) in await fetch_all(
            conn, "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                  " WHERE conrelid = ?::regclass AND contype = 'f' ORDER BY conname", (name,)):
            lines.append("  " + definition.replace("FOREIGN KEY ", "").replace(
                " REFERENCES ", " -> "))
    for row in await fetch_all(conn, "SELECT indexname, indexdef FROM pg_indexes"
                                     " WHERE schemaname = 'public' ORDER BY indexname"):
        found = re.match(r"^CREATE (UNIQUE )?INDEX \S+ ON public\.(\S+) USING btree (\([^)]*\))"
                         r"(?: WHERE (.*))?$", row["indexdef"])
        assert found is not None, row["indexdef"]
        unique, table, columns, where = found.groups()
        unique = " UNIQUE" if unique else ""
        lines.append(f"index {row['indexname']} ON {table}{columns}{unique}")
        if where:
            lines.append("  WHERE " + where.replace("::text", ""))
    for row in await fetch_all(
        conn, "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal"
              " ORDER BY tgname"):
        lines.append(f"trigger {row[0]} ON {row[1]}")
    for row in await fetch_all(conn, "SELECT tablename, policyname, qual, with_check"
                                     " FROM pg_policies ORDER BY tablename"):
        assert row[2] == row[3] == _TENANT, row  # the same key on every table
        lines.append(f"policy {row[1]} ON {row[0]}")
    return lines


async def test_a_blank_postgresql_database_gets_exactly_this_schema(tmp_path, backend):
    if backend != "postgresql":
        pytest.skip("PostgreSQL's schema")
    db = await Database(str(tmp_path / "blank.sqlite3")).open()
    try:
        found = await pg_listing(db.reader)
        assert found == EXPECTED_PG.strip().splitlines()
    finally:
        await db.close()


def _columns(listing: str) -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    for line in listing.strip().splitlines():
        if line.startswith("table "):
            current = tables.setdefault(line.split()[1], [])
        elif line.startswith(("index ", "trigger ", "policy ")):
            break
        elif line.startswith("  ") and "->" not in line and not line.startswith("  WHERE"):
            current.append(line.split()[0])
    return tables


def test_postgresql_mirrors_sqlite_table_for_table_column_for_column():
    """Every SQLite table and column exists in PostgreSQL in the same order, with the
    ``municipality`` key added; the migrations carry the same numbers."""
    sqlite_tables = _columns(EXPECTED)
    pg_tables = _columns(EXPECTED_PG)
    assert set(pg_tables) == set(sqlite_tables) | {"schema_migrations"}
    for table, columns in sqlite_tables.items():
        # a table of SQLite that has its own municipality column shares it with the key
        assert ([c for c in pg_tables[table] if c != "municipality"]
                == [c for c in columns if c != "municipality"]), table
        if table != "schema_migrations":
            assert "municipality" in pg_tables[table], table
    assert [m[0] for m in migrations("postgresql")] == [m[0] for m in migrations()]
