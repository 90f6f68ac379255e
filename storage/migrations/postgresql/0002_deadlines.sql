-- PostgreSQL mirror of ../0002_deadlines.sql.
CREATE TABLE deadline_queue (
    municipality text NOT NULL DEFAULT current_setting('mcu.municipality'),
    incident_id bigint NOT NULL,
    next_at     text NOT NULL,
    PRIMARY KEY (municipality, incident_id),
    FOREIGN KEY (municipality, incident_id) REFERENCES incidents(municipality, id)
);
CREATE INDEX deadline_queue_next ON deadline_queue(municipality, next_at);
SELECT mcu_tenant('deadline_queue');

-- INSERT OR REPLACE ... VALUES (NEW.id, '')
CREATE FUNCTION deadline_queue_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deadline_queue(municipality, incident_id, next_at)
        VALUES (NEW.municipality, NEW.id, '')
        ON CONFLICT (municipality, incident_id) DO UPDATE SET next_at = '';
    RETURN NULL;
END $$;

CREATE TRIGGER deadline_queue_on_insert AFTER INSERT ON incidents
FOR EACH ROW WHEN (NEW.due_at IS NOT NULL OR NEW.first_reply_due_at IS NOT NULL)
EXECUTE FUNCTION deadline_queue_touch();

CREATE TRIGGER deadline_queue_on_update
AFTER UPDATE OF state, assignee_id, assigned_at, due_at, first_reply_due_at, first_reply_at,
    policy ON incidents
FOR EACH ROW WHEN (NEW.due_at IS NOT NULL OR NEW.first_reply_due_at IS NOT NULL)
EXECUTE FUNCTION deadline_queue_touch();
