-- Telegram delivery: the intent of a send is recorded before the call, and a lane knows
-- which of its rows are new messages and which are edits.
ALTER TABLE outbox ADD COLUMN armed_at REAL NOT NULL DEFAULT 0;    -- epoch s (real): queued or last re-armed
ALTER TABLE outbox ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0; -- a call began, its outcome is not recorded yet
ALTER TABLE outbox ADD COLUMN uncertain INTEGER NOT NULL DEFAULT 0; -- an earlier try may have sent without our record
ALTER TABLE outbox ADD COLUMN watermark INTEGER;                   -- every message id up to this was known before the try

-- The highest message id the bot has seen of its own in a chat (message ids only grow).
CREATE TABLE tg_marks (
    chat_id    INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL
);
