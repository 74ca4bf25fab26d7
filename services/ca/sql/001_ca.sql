-- The CA's state: ceremonies and their custodians' share digests, issuer
-- certificates, issued certificates with their revocation status, and CRL
-- numbers. Private keys are never here: they stay in the key store.

-- One row per key ceremony. Exactly one is current: its issuing CA signs.
CREATE TABLE ceremonies (
    ceremony_id    text        PRIMARY KEY,
    request_id     text        NOT NULL UNIQUE,
    performed_by   text        NOT NULL,
    performed_at   timestamptz NOT NULL DEFAULT now(),
    keystore_kind  text        NOT NULL CHECK (keystore_kind IN ('pkcs11', 'file')),
    threshold      smallint    NOT NULL CHECK (threshold >= 2),
    share_count    smallint    NOT NULL CHECK (share_count >= threshold),
    root_label     text        NOT NULL,
    issuing_label  text        NOT NULL,
    is_current     boolean     NOT NULL DEFAULT true
);
CREATE UNIQUE INDEX ceremonies_one_current ON ceremonies (is_current) WHERE is_current;

-- Which custodian holds which share: the share itself is never stored,
-- only the SHA-256 of (x, share bytes), to refuse foreign or corrupted ones.
CREATE TABLE ceremony_shares (
    ceremony_id    text     NOT NULL REFERENCES ceremonies,
    x              smallint NOT NULL CHECK (x BETWEEN 1 AND 255),
    custodian_name text     NOT NULL,
    custodian_key  text     NOT NULL,
    share_sha256   text     NOT NULL CHECK (length(share_sha256) = 64),
    PRIMARY KEY (ceremony_id, x),
    UNIQUE (ceremony_id, custodian_key),
    UNIQUE (share_sha256)
);

CREATE TABLE issuers (
    issuer_sha256   text        PRIMARY KEY CHECK (length(issuer_sha256) = 64),
    ceremony_id     text        NOT NULL REFERENCES ceremonies,
    role            text        NOT NULL CHECK (role IN ('root', 'issuing')),
    key_label       text        NOT NULL,
    key_algorithm   text        NOT NULL,
    subject         text        NOT NULL,
    not_before      timestamptz NOT NULL,
    not_after       timestamptz NOT NULL,
    certificate_der bytea       NOT NULL,
    UNIQUE (ceremony_id, role)
);

-- Issued certificates. state: 1 good, 2 revoked, 3 on hold (the values of
-- CertificateState in ca.proto); reason: RFC 5280 CRLReason code.
CREATE TABLE certificates (
    serial           bytea       PRIMARY KEY CHECK (length(serial) BETWEEN 8 AND 20),
    serial_hex       text        NOT NULL UNIQUE,
    issuer_sha256    text        NOT NULL REFERENCES issuers,
    card_request_id  text        NOT NULL,
    holder_id        text        NOT NULL,
    use              smallint    NOT NULL CHECK (use BETWEEN 1 AND 4),
    level            smallint    NOT NULL CHECK (level BETWEEN 1 AND 3),
    spki_sha256      text        NOT NULL,
    subject          text        NOT NULL,
    not_before       timestamptz NOT NULL,
    not_after        timestamptz NOT NULL,
    certificate_der  bytea       NOT NULL,
    issued_by        text        NOT NULL,
    issued_at        timestamptz NOT NULL DEFAULT now(),
    state            smallint    NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 3),
    reason           smallint    CHECK (reason BETWEEN 0 AND 10 AND reason <> 7),
    revoked_at       timestamptz,
    invalidity_date  timestamptz,
    change_seq       bigint      NOT NULL DEFAULT 0,
    UNIQUE (card_request_id, use)
);
CREATE INDEX certificates_spki ON certificates (spki_sha256);
CREATE INDEX certificates_changes ON certificates (issuer_sha256, change_seq) WHERE change_seq > 0;

-- Each revocation, hold or release takes the next change_seq: delta CRLs
-- and the publisher's catch-up read the changes after a number.
CREATE TABLE status_counter (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_seq bigint  NOT NULL
);
INSERT INTO status_counter (id, last_seq) VALUES (true, 0);

-- CRL numbers only grow, across restarts: one counter per issuer; each
-- full CRL records the status change_seq it covers, for the deltas.
CREATE TABLE crls (
    issuer_sha256    text        NOT NULL REFERENCES issuers,
    crl_number       bigint      NOT NULL CHECK (crl_number > 0),
    is_delta         boolean     NOT NULL,
    base_number      bigint,
    covers_change_seq bigint     NOT NULL,
    this_update      timestamptz NOT NULL,
    next_update      timestamptz NOT NULL,
    crl_der          bytea       NOT NULL,
    PRIMARY KEY (issuer_sha256, crl_number)
);
