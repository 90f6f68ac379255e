-- Issue 18: routing a coordinator corrects, deputies, the external systems' fields.

-- Every «Сменить блок»: the message's text as it was routed and where it went, so the
-- router can learn which words keep being moved into a block (per municipality).
CREATE TABLE routing_corrections (
    id            INTEGER PRIMARY KEY,
    municipality  TEXT NOT NULL,
    incident_id   INTEGER NOT NULL REFERENCES incidents(id),
    at            TEXT NOT NULL,
    actor_id      INTEGER,
    from_block    TEXT NOT NULL,
    to_block      TEXT NOT NULL,
    text          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX routing_corrections_municipality ON routing_corrections(municipality);

-- A word an admin took back from what the router learned: never learned again for
-- that block until it is allowed again.
CREATE TABLE routing_unlearned (
    municipality  TEXT NOT NULL,
    word          TEXT NOT NULL,
    block         TEXT NOT NULL,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (municipality, word, block)
);

-- A staff member away until the end of a local date, and who acts for them.
CREATE TABLE absences (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    deputy_id   INTEGER NOT NULL,
    until       TEXT NOT NULL,
    set_at      TEXT NOT NULL,
    set_by      INTEGER,
    ended_at    TEXT
);
CREATE INDEX absences_user ON absences(user_id);

-- A forwarded message's number and category in the external system (Инцидент
-- Менеджмент, ПОС, a regional portal), and the result recorded on closing.
CREATE TABLE incident_external (
    incident_id  INTEGER PRIMARY KEY REFERENCES incidents(id),
    system       TEXT NOT NULL DEFAULT '',
    number       TEXT NOT NULL DEFAULT '',
    category     TEXT NOT NULL DEFAULT '',
    result       TEXT NOT NULL DEFAULT ''
);
