-- PostgreSQL mirror of ../0006_delivery.sql.
ALTER TABLE outbox ADD COLUMN armed_at double precision NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN in_flight bigint NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN uncertain bigint NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN watermark bigint;

CREATE TABLE tg_marks (
    municipality text NOT NULL DEFAULT current_setting('mcu.municipality'),
    chat_id    bigint NOT NULL,
    message_id bigint NOT NULL,
    PRIMARY KEY (municipality, chat_id)
);
SELECT mcu_tenant('tg_marks');
