-- Escrow of encryption keys and their recovery (issue 13; docs/perso.md,
-- "Escrow and recovery").

ALTER TABLE jobs ADD COLUMN encryption boolean NOT NULL DEFAULT false;
-- Step 13, ESCROW_ENCRYPTION_KEY.
ALTER TABLE job_steps DROP CONSTRAINT job_steps_step_check;
ALTER TABLE job_steps ADD CONSTRAINT job_steps_step_check CHECK (step BETWEEN 1 AND 13);
ALTER TABLE jobs DROP CONSTRAINT jobs_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_check
    CHECK (state <> 4 OR (failed_step BETWEEN 1 AND 13 AND failure_reason <> ''));
ALTER TABLE jobs ADD COLUMN email text NOT NULL DEFAULT '';

-- One row per key perso made for a holder's encryption certificate; every
-- key of a holder stays (history) until retain_until. The private key is
-- the PKCS#8 DER under a fresh AES-256-GCM data key; the data key is sealed
-- (crypto_box_seal) to the key-recovery authority's public key
-- (recovery_public_key, hex). state: 1 escrowed (not yet certified; a
-- later run that cannot use it marks it 3), 2 certified, 3 discarded
-- (never certified, so nothing was ever encrypted to it).
CREATE TABLE escrowed_keys (
    key_id              text        PRIMARY KEY,
    person_id           text        NOT NULL,
    card_request_id     text        NOT NULL,
    job_id              text        NOT NULL REFERENCES jobs,
    key_algorithm       smallint    NOT NULL CHECK (key_algorithm IN (1, 2)),
    ciphertext          bytea       NOT NULL CHECK (length(ciphertext) BETWEEN 1 AND 4096),
    nonce               bytea       NOT NULL CHECK (length(nonce) = 12),
    tag                 bytea       NOT NULL CHECK (length(tag) = 16),
    wrapped_key         bytea       NOT NULL CHECK (length(wrapped_key) = 80),
    recovery_public_key text        NOT NULL,
    state               smallint    NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 3),
    serial_hex          text        UNIQUE,
    certificate_der     bytea,
    not_after           timestamptz,
    written             boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    retain_until        timestamptz,
    CHECK ((state = 2) = (serial_hex IS NOT NULL AND retain_until IS NOT NULL))
);
CREATE INDEX escrowed_keys_person ON escrowed_keys (person_id);
CREATE UNIQUE INDEX escrowed_keys_job ON escrowed_keys (job_id) WHERE state = 2;

-- purpose: 1 holder (lost card), 2 legal procedure. state: 1 pending,
-- 2 approved (two distinct officers), 3 delivered.
CREATE TABLE key_recoveries (
    recovery_id         text        PRIMARY KEY,
    person_id           text        NOT NULL,
    key_id              text        NOT NULL DEFAULT '',
    purpose             smallint    NOT NULL CHECK (purpose IN (1, 2)),
    reason              text        NOT NULL,
    reference           text        NOT NULL,
    state               smallint    NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 3),
    requested_by_key    text        NOT NULL,
    requested_by_operator_id text   NOT NULL,
    requested_at        timestamptz NOT NULL DEFAULT now(),
    delivered_at        timestamptz,
    delivered_by_key    text
);

CREATE TABLE key_recovery_approvals (
    recovery_id     text        NOT NULL REFERENCES key_recoveries,
    approver_key    text        NOT NULL,
    operator_id     text        NOT NULL,
    approved_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (recovery_id, approver_key),
    UNIQUE (recovery_id, operator_id)
);

ALTER TABLE card_certificates DROP CONSTRAINT card_certificates_slot_check;
ALTER TABLE card_certificates ADD CONSTRAINT card_certificates_slot_check
    CHECK (slot IN ('9A', '9C', '9D'));
