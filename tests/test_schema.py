"""The exact schema a blank database gets from the migrations.

A migration that adds, drops or changes a table, a column, an index or a trigger must
change this listing too: the schema is the contract of every repository in ``storage/``
(and of the second backend that will have to match it).
"""

from __future__ import annotations

import re

from storage.db import Conn, Database, fetch_all

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
index health_failures_at ON health_failures(at)
index incident_events_action_at ON incident_events(action, at)
index incident_events_incident ON incident_events(incident_id, id)
index incidents_assignee ON incidents(assignee_id, state)
index incidents_block_received ON incidents(block, received_at)
index incidents_due ON incidents(due_at) WHERE due_at IS NOT NULL
index incidents_published ON incidents(published_at) WHERE published_at IS NOT NULL
index incidents_received ON incidents(received_at)
index incidents_state ON incidents(state)
index incidents_thread ON incidents(thread_key, author_id)
index outbox_pending ON outbox(status, not_before, id) WHERE status IN ('pending', 'sending')
index outbox_ref ON outbox(purpose, ref_id)
index posts_page_status ON posts(page, status)
index routing_corrections_municipality ON routing_corrections(municipality)
index sqlite_autoindex_cursors_1 ON cursors(name)
index sqlite_autoindex_heartbeats_1 ON heartbeats(name)
index sqlite_autoindex_incidents_1 ON incidents(source_key)
index sqlite_autoindex_notices_1 ON notices(incident_id, kind, due_key)
index sqlite_autoindex_outbox_1 ON outbox(key)
index sqlite_autoindex_post_targets_1 ON post_targets(post_id, target)
index sqlite_autoindex_routing_unlearned_1 ON routing_unlearned(municipality, word, block)
trigger deadline_queue_on_insert ON incidents
trigger deadline_queue_on_update ON incidents
trigger outbox_delivered ON outbox
trigger outbox_failed ON outbox
trigger outbox_queued ON outbox
trigger outbox_rearmed ON outbox
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


async def test_a_blank_database_gets_exactly_this_schema(tmp_path):
    db = await Database(str(tmp_path / "blank.sqlite3")).open()
    try:
        assert await listing(db.reader) == EXPECTED.strip().splitlines()
    finally:
        await db.close()
