-- How far this service has applied another service's events (see
-- common/event_consumer.c): one row per source, moved in the transaction
-- that applies each event.
CREATE TABLE event_cursors (
    source   text   PRIMARY KEY,
    last_seq bigint NOT NULL CHECK (last_seq >= 0)
);
