-- Reports (bot/reports.py): the digest and the ratings count answers by the moment they
-- were published; without this index every digest would scan the whole table.
-- The other columns they filter on (received_at, due_at, state, incident_events
-- (action, at)) are indexed in 0001.
CREATE INDEX incidents_published ON incidents(published_at) WHERE published_at IS NOT NULL;
