-- Issue 17 (the coordinator's Monday): search that finds, promised dates, gathered notices.

-- /find: the text and author as lowercase words and their dictionary forms (lemmas),
-- space-separated with a space at each end, so that a plain LIKE '% word%' finds a word
-- form in any case on any backend (SQLite's lower() and LIKE fold ASCII only). NULL:
-- not indexed yet; the search index job (bot/services/search.py) fills it, and a change
-- of the text or the author empties it again.
ALTER TABLE incidents ADD COLUMN search_text TEXT;
CREATE INDEX incidents_unindexed ON incidents(id) WHERE search_text IS NULL;

CREATE TRIGGER incidents_search_stale AFTER UPDATE OF text, author_name ON incidents
BEGIN
    UPDATE incidents SET search_text = NULL WHERE id = NEW.id;
END;

-- The interim reply: its draft text (edited before it goes) and the date it promises the
-- works for (the local date, YYYY-MM-DD), shown on the card, reminded, listed in /inbox.
ALTER TABLE incidents ADD COLUMN interim_text TEXT;
ALTER TABLE incidents ADD COLUMN promised_on TEXT;
CREATE INDEX incidents_promised ON incidents(promised_on) WHERE promised_on IS NOT NULL;

-- Notices gathered into one message per person and kind ('overdue': the escalation
-- ladder; 'first_reply'; 'approval': answers waiting; 'promise': works promised today):
-- each item once per person and key (the deadline, the answer's round), until resolved.
CREATE TABLE gathered_items (
    user_id     INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    due_key     TEXT NOT NULL,
    queued_at   TEXT NOT NULL,
    sent_at     TEXT,              -- NULL: waits for the next gathered message
    PRIMARY KEY (user_id, kind, incident_id, due_key)
);
CREATE INDEX gathered_items_waiting ON gathered_items(user_id, kind) WHERE sent_at IS NULL;
