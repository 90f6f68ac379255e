-- Deadlines (bot/deadlines.py): which incidents the reminder scan must look at, and when.
--
-- One row per incident that may still owe a reminder, an escalation or a first-reply
-- alert; ``next_at`` is the earliest moment anything can fall due (UTC ISO, the shape of
-- storage.incidents.iso). A tick reads only rows with next_at <= now through the index,
-- so its cost does not grow with the number of incidents. Rows with nothing left are
-- deleted, so the table holds the open work only.
CREATE TABLE deadline_queue (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents(id),
    next_at     TEXT NOT NULL      -- '' = look at it again at the next tick
);
CREATE INDEX deadline_queue_next ON deadline_queue(next_at);

-- Any change that moves a deadline or its audience (a new incident, a step of the
-- workflow, an assignment, a first reply, a new due date) puts the incident back in
-- front of the scan, whoever made the change: the scan recomputes what is owed.
CREATE TRIGGER deadline_queue_on_insert AFTER INSERT ON incidents
WHEN NEW.due_at IS NOT NULL OR NEW.first_reply_due_at IS NOT NULL
BEGIN
    INSERT OR REPLACE INTO deadline_queue(incident_id, next_at) VALUES (NEW.id, '');
END;

CREATE TRIGGER deadline_queue_on_update
AFTER UPDATE OF state, assignee_id, assigned_at, due_at, first_reply_due_at, first_reply_at,
    policy ON incidents
WHEN NEW.due_at IS NOT NULL OR NEW.first_reply_due_at IS NOT NULL
BEGIN
    INSERT OR REPLACE INTO deadline_queue(incident_id, next_at) VALUES (NEW.id, '');
END;

-- Incidents stored before this migration: the scan sorts out which still owe something.
INSERT INTO deadline_queue(incident_id, next_at)
SELECT id, '' FROM incidents
WHERE (due_at IS NOT NULL OR first_reply_due_at IS NOT NULL)
  AND state NOT IN ('published', 'closed', 'rejected');
