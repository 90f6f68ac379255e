-- Comment storms (issue 18): the messages that joined a group incident — a post's
-- comments about one thing, or a card the coordinator merged into another. The
-- incident's own row is the group's first message; each other message is a member here,
-- kept whole (nothing a citizen wrote is lost) with where its answer goes.
CREATE TABLE incident_members (
    id            INTEGER PRIMARY KEY,
    incident_id   INTEGER NOT NULL REFERENCES incidents(id),  -- the group's card
    source_key    TEXT NOT NULL UNIQUE,      -- the platform event's identity
    author_id     TEXT NOT NULL,
    author_name   TEXT NOT NULL DEFAULT '',
    author_link   TEXT,
    text          TEXT NOT NULL DEFAULT '',
    link          TEXT,
    attachments   TEXT NOT NULL DEFAULT '[]',
    reply_target  TEXT NOT NULL DEFAULT '{}', -- JSON: where this author's answer goes
    written_at    TEXT NOT NULL,
    joined_at     TEXT NOT NULL,
    merged_from   INTEGER REFERENCES incidents(id), -- the card it came from by «Объединить»
    published_round INTEGER,                  -- incidents.publications its answer reached
    failed        TEXT                        -- why its answer could not go, for staff
);
CREATE INDEX incident_members_incident ON incident_members(incident_id, id);
