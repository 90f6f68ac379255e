-- PostgreSQL mirror of ../0011_inbox.sql (issue 17: /find, promised dates, gathered
-- notices), with the municipality key in front of every key and index.
ALTER TABLE incidents ADD COLUMN search_text text;
CREATE INDEX incidents_unindexed ON incidents(municipality, id) WHERE search_text IS NULL;

-- incidents_search_stale: set before the row is written rather than after
CREATE FUNCTION incidents_search_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_text := NULL;
    RETURN NEW;
END $$;

CREATE TRIGGER incidents_search_stale BEFORE UPDATE OF text, author_name ON incidents
FOR EACH ROW EXECUTE FUNCTION incidents_search_stale();

ALTER TABLE incidents ADD COLUMN interim_text text;
ALTER TABLE incidents ADD COLUMN promised_on text;
CREATE INDEX incidents_promised ON incidents(municipality, promised_on)
    WHERE promised_on IS NOT NULL;

CREATE TABLE gathered_items (
    municipality text NOT NULL DEFAULT current_setting('mcu.municipality'),
    user_id     bigint NOT NULL,
    kind        text NOT NULL,
    incident_id bigint NOT NULL,
    due_key     text NOT NULL,
    queued_at   text NOT NULL,
    sent_at     text,
    PRIMARY KEY (municipality, user_id, kind, incident_id, due_key),
    FOREIGN KEY (municipality, incident_id) REFERENCES incidents(municipality, id)
);
CREATE INDEX gathered_items_waiting ON gathered_items(municipality, user_id, kind)
    WHERE sent_at IS NULL;
SELECT mcu_tenant('gathered_items');
