-- The tables every service schema holds: the request store (idempotency),
-- the event outbox and the hash-chained audit log. Applied by tsr_migrate
-- as the schema's owner role, search_path set to the service schema.

-- A reply stored per (caller, request id): a retried request returns it.
CREATE TABLE bus_requests (
    caller_key     text        NOT NULL,
    request_id     text        NOT NULL,
    method         text        NOT NULL,
    payload_sha256 bytea       NOT NULL,
    reply          bytea       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller_key, request_id)
);

-- Domain events, appended in the transaction of the change they describe.
-- seq comes from outbox_counter: the counter row stays locked until the
-- appending transaction ends, so seq is gapless and grows in commit order.
CREATE TABLE outbox (
    seq          bigint      PRIMARY KEY CHECK (seq > 0),
    type         text        NOT NULL,
    subject      text        NOT NULL DEFAULT '',
    trace_id     text        NOT NULL DEFAULT '',
    payload      bytea       NOT NULL DEFAULT '',
    occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;

CREATE TABLE outbox_counter (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_seq bigint  NOT NULL
);
INSERT INTO outbox_counter (id, last_seq) VALUES (true, 0);

-- Append-only audit trail: each row holds the previous row's hash and the
-- hash of its own canonical content (see common/audit.c).
CREATE TABLE audit_log (
    seq        bigint PRIMARY KEY CHECK (seq > 0),
    at_unix_us bigint NOT NULL,
    actor      text   NOT NULL,
    action     text   NOT NULL,
    subject    text   NOT NULL,
    trace_id   text   NOT NULL,
    details    text   NOT NULL,
    prev_hash  bytea  NOT NULL CHECK (length(prev_hash) = 32),
    row_hash   bytea  NOT NULL CHECK (length(row_hash) = 32)
);

-- The chain's head, locked by each append so appends are serialised.
CREATE TABLE audit_head (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq      bigint  NOT NULL,
    row_hash bytea   NOT NULL
);
INSERT INTO audit_head (id, seq, row_hash) VALUES (true, 0, decode(repeat('00', 32), 'hex'));

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- The runtime role may only add to the audit log and read it.
DO $$
BEGIN
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM %I',
                   current_setting('tessera.runtime_role'));
    EXECUTE format('REVOKE DELETE, TRUNCATE ON outbox, outbox_counter, audit_head FROM %I',
                   current_setting('tessera.runtime_role'));
END $$;
