-- The publisher's state: the issuing CAs it serves, every CRL it published,
-- and the certificates' status as the ca service's events told it. The
-- OCSP responder's private key is never here: it stays in a 0600 file
-- (TSR_PUBLISHER_OCSP_DIR).

-- The issuing CAs served. name is the first 16 hex digits of the
-- certificate's SHA-256 (URLs /crl/<name>.crl); the current one is also
-- served as "issuing".
CREATE TABLE issuers (
    issuer_sha256   text        PRIMARY KEY CHECK (length(issuer_sha256) = 64),
    name            text        NOT NULL UNIQUE CHECK (length(name) = 16),
    certificate_der bytea       NOT NULL,
    root_der        bytea,
    first_seen_at   timestamptz NOT NULL DEFAULT now(),
    is_current      boolean     NOT NULL DEFAULT true
);
CREATE UNIQUE INDEX issuers_one_current ON issuers (is_current) WHERE is_current;

-- Every CRL published, full and delta. CRL numbers come from the CA and
-- only grow; covers_event_seq is the last ca event applied before the CA
-- was asked to sign, so every status change up to it is in the CRL.
-- trigger: CrlTrigger in publisher.proto.
CREATE TABLE crls (
    issuer_sha256    text        NOT NULL REFERENCES issuers,
    crl_number       bigint      NOT NULL CHECK (crl_number > 0),
    is_delta         boolean     NOT NULL,
    base_number      bigint      CHECK ((base_number IS NOT NULL) = is_delta),
    this_update      bigint      NOT NULL,
    next_update      bigint      NOT NULL CHECK (next_update > this_update),
    entry_count      integer     NOT NULL CHECK (entry_count >= 0),
    crl_sha256       text        NOT NULL CHECK (length(crl_sha256) = 64),
    crl_der          bytea       NOT NULL,
    trigger          smallint    NOT NULL CHECK (trigger BETWEEN 1 AND 4),
    covers_event_seq bigint      NOT NULL CHECK (covers_event_seq >= 0),
    generated_at_ms  bigint      NOT NULL,
    published_at_ms  bigint      NOT NULL CHECK (published_at_ms >= generated_at_ms),
    PRIMARY KEY (issuer_sha256, crl_number)
);
CREATE INDEX crls_latest ON crls (issuer_sha256, is_delta, crl_number DESC);

-- Certificate status, from the ca's events (certificate.issued, .revoked,
-- .hold_released). state: 1 good, 2 revoked, 3 on hold (CertificateState);
-- reason: RFC 5280 CRLReason code. A serial missing here is OCSP's
-- "unknown". issuer_sha256 is NULL only when a status event came for a
-- certificate whose issuance was never seen.
CREATE TABLE certificates (
    serial_hex     text        PRIMARY KEY CHECK (serial_hex ~ '^([0-9a-f]{2}){1,20}$'),
    issuer_sha256  text        CHECK (length(issuer_sha256) = 64),
    state          smallint    NOT NULL CHECK (state BETWEEN 1 AND 3),
    reason         smallint    CHECK (reason BETWEEN 0 AND 10 AND reason <> 7),
    revoked_at     bigint,
    not_after      bigint,
    event_seq      bigint      NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Revocations, holds and releases in the order they were applied. A
-- revocation is pending while no full CRL covers its event_seq: that is
-- what triggers the coalesced publication and the staleness alert, and it
-- survives a restart.
CREATE TABLE status_changes (
    event_seq   bigint PRIMARY KEY CHECK (event_seq > 0),
    serial_hex  text   NOT NULL,
    applied_at_ms bigint NOT NULL
);
