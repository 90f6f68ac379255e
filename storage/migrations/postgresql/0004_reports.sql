-- PostgreSQL mirror of ../0004_reports.sql.
CREATE INDEX incidents_published ON incidents(municipality, published_at)
    WHERE published_at IS NOT NULL;
