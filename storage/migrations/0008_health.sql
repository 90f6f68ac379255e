-- Health you can monitor (``mcu-hub status``, ``/status``, Docker's HEALTHCHECK): when each
-- source last polled successfully and what failed lately, and how long the outbox's rows
-- have waited. Times here are real epoch seconds, as the platforms' limits and the
-- operator's watch are real; never the domain clock, which the sandbox moves.
-- (julianday('now') - 2440587.5) * 86400.0 is the real time in SQLite 3.40, which has no
-- unixepoch('subsec').

-- One row per source ('telegram', 'vk:100001', 'vk:public:100003'), per outbox lane
-- ('lane:tg:-1001000000001') and the process itself ('process'): its last success and
-- its last failure.
CREATE TABLE heartbeats (
    name      TEXT PRIMARY KEY,
    ok_at     REAL,
    error_at  REAL,
    error     TEXT
);

-- Every failure, kept a day (for "failures in the last hour").
CREATE TABLE health_failures (
    id     INTEGER PRIMARY KEY,
    name   TEXT NOT NULL,
    at     REAL NOT NULL,
    error  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX health_failures_at ON health_failures(at);

-- Since when a row has waited to go out: set when it is queued or re-armed after it had
-- settled (a card to bring up to date again), kept while it is retried.
ALTER TABLE outbox ADD COLUMN pending_since REAL;
UPDATE outbox SET pending_since = (julianday('now') - 2440587.5) * 86400.0
    WHERE status IN ('pending', 'sending');

CREATE TRIGGER outbox_queued AFTER INSERT ON outbox
BEGIN
    UPDATE outbox SET pending_since = (julianday('now') - 2440587.5) * 86400.0
        WHERE id = NEW.id;
END;

CREATE TRIGGER outbox_rearmed AFTER UPDATE OF status ON outbox
WHEN NEW.status = 'pending' AND OLD.status NOT IN ('pending', 'sending')
BEGIN
    UPDATE outbox SET pending_since = (julianday('now') - 2440587.5) * 86400.0
        WHERE id = NEW.id;
END;

-- A lane's heartbeat is its rows settling: delivered, or failed for good.
CREATE TRIGGER outbox_delivered AFTER UPDATE OF status ON outbox
WHEN NEW.status = 'done' AND OLD.status <> 'done'
BEGIN
    INSERT INTO heartbeats(name, ok_at)
        VALUES ('lane:' || NEW.lane, (julianday('now') - 2440587.5) * 86400.0)
        ON CONFLICT(name) DO UPDATE SET ok_at = excluded.ok_at;
END;

CREATE TRIGGER outbox_failed AFTER UPDATE OF status ON outbox
WHEN NEW.status = 'failed' AND OLD.status <> 'failed'
BEGIN
    INSERT INTO heartbeats(name, error_at, error)
        VALUES ('lane:' || NEW.lane, (julianday('now') - 2440587.5) * 86400.0,
                coalesce(NEW.error, ''))
        ON CONFLICT(name) DO UPDATE SET error_at = excluded.error_at, error = excluded.error;
    INSERT INTO health_failures(name, at, error)
        VALUES ('lane:' || NEW.lane, (julianday('now') - 2440587.5) * 86400.0,
                coalesce(NEW.error, ''));
END;
