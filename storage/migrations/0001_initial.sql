-- Incidents: one row per citizen's message (or thread of messages), never deleted.
CREATE TABLE incidents (
    id                  INTEGER PRIMARY KEY,
    source              TEXT NOT NULL,            -- 'vk:100001', 'tg:-1001000000002', 'tg:private', 'forward:pos'
    source_kind         TEXT NOT NULL,            -- 'vk_comment', 'vk_message', 'tg_chat', ...
    source_key          TEXT NOT NULL UNIQUE,     -- the platform event's identity
    thread_key          TEXT,                     -- follow-ups in the same thread join or reopen
    link                TEXT,
    author_id           TEXT NOT NULL,            -- 'vk:500101', 'tg:2001'
    author_name         TEXT NOT NULL DEFAULT '',
    author_link         TEXT,
    text                TEXT NOT NULL DEFAULT '',
    attachments         TEXT NOT NULL DEFAULT '[]',
    reply_target        TEXT NOT NULL DEFAULT '{}', -- JSON: where and how the answer is published
    written_at          TEXT NOT NULL,
    received_at         TEXT NOT NULL,
    block               TEXT NOT NULL,
    priority            TEXT NOT NULL DEFAULT 'normal',
    policy              TEXT NOT NULL,
    route_rule          TEXT,
    state               TEXT NOT NULL DEFAULT 'new',
    version             INTEGER NOT NULL DEFAULT 0,
    assignee_id         INTEGER,
    assigned_at         TEXT,
    due_at              TEXT,
    first_reply_due_at  TEXT,
    first_reply_at      TEXT,
    answer_text         TEXT,
    answer_photos       TEXT NOT NULL DEFAULT '[]',
    answer_by           INTEGER,
    publications        INTEGER NOT NULL DEFAULT 0, -- rounds of publication (reopen → again)
    published_at        TEXT,
    closed_at           TEXT,
    rating              INTEGER,
    returns             INTEGER NOT NULL DEFAULT 0,
    reopens             INTEGER NOT NULL DEFAULT 0,
    overdue_at          TEXT,
    card_chat_id        INTEGER,
    card_thread_id      INTEGER,
    card_message_id     INTEGER,
    edited_at           TEXT,
    deleted_at          TEXT,
    purged_at           TEXT
);
CREATE INDEX incidents_state ON incidents(state);
CREATE INDEX incidents_received ON incidents(received_at);
CREATE INDEX incidents_block_received ON incidents(block, received_at);
CREATE INDEX incidents_assignee ON incidents(assignee_id, state);
CREATE INDEX incidents_thread ON incidents(thread_key, author_id);
CREATE INDEX incidents_due ON incidents(due_at) WHERE due_at IS NOT NULL;

-- Audit log: every step of every incident, who did it and from which button.
CREATE TABLE incident_events (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    at          TEXT NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT,
    button      TEXT,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incident_events_incident ON incident_events(incident_id, id);
CREATE INDEX incident_events_action_at ON incident_events(action, at);

-- Staff as configured; refreshed from the config at every start.
CREATE TABLE staff (
    telegram_id INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    roles       TEXT NOT NULL,     -- JSON list
    blocks      TEXT NOT NULL,     -- JSON list
    vk_id       INTEGER,
    active      INTEGER NOT NULL DEFAULT 1
);

-- Outbox: every outgoing platform call is stored first, then delivered by the worker.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,     -- idempotency key: the same intent is queued once
    platform     TEXT NOT NULL,            -- 'tg' | 'vk' | 'card'
    lane         TEXT NOT NULL,            -- rate-limit lane: 'tg:<chat>' or 'vk:<token name>'
    method       TEXT NOT NULL,
    params       TEXT NOT NULL,            -- JSON
    purpose      TEXT NOT NULL DEFAULT '', -- what to record on success
    ref_id       INTEGER,                  -- incident or post id the purpose refers to
    status       TEXT NOT NULL DEFAULT 'pending', -- pending | sending | done | failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    not_before   REAL NOT NULL DEFAULT 0,  -- epoch seconds (real time: platform limits are real)
    created_at   TEXT NOT NULL,
    done_at      TEXT,
    result       TEXT,
    error        TEXT
);
CREATE INDEX outbox_pending ON outbox(status, not_before, id) WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_ref ON outbox(purpose, ref_id);

-- Posts the press secretary queues for the official pages.
CREATE TABLE posts (
    id          INTEGER PRIMARY KEY,
    page        TEXT NOT NULL,
    kind        TEXT NOT NULL DEFAULT 'post',  -- post | poll
    text        TEXT NOT NULL DEFAULT '',
    photos      TEXT NOT NULL DEFAULT '[]',    -- Telegram file ids
    poll        TEXT,                          -- JSON {question, options}
    fixed_at    TEXT,
    queued_at   TEXT NOT NULL,
    queued_by   INTEGER,
    planned_at  TEXT,
    status      TEXT NOT NULL DEFAULT 'queued', -- draft | queued | publishing | published | failed | removed
    published_at TEXT,
    error       TEXT
);
CREATE INDEX posts_page_status ON posts(page, status);

CREATE TABLE post_targets (
    post_id     INTEGER NOT NULL REFERENCES posts(id),
    target      TEXT NOT NULL,     -- 'vk:100001' | 'tg:-1001000000003'
    status      TEXT NOT NULL DEFAULT 'pending',
    link        TEXT,
    error       TEXT,
    published_at TEXT,
    PRIMARY KEY (post_id, target)
);

-- Reminders and alerts already sent: never twice, also across restarts.
CREATE TABLE notices (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    kind        TEXT NOT NULL,     -- 'remind:50%', 'overdue', 'first_reply', ...
    due_key     TEXT NOT NULL,     -- the deadline it was computed for
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (incident_id, kind, due_key)
);

-- Small persistent cursors: long-poll ts, last seen ids, digests sent.
CREATE TABLE cursors (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
