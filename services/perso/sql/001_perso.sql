-- Perso's state: personalisation jobs step by step, the cards and their
-- states (DESIGN 5b), activation codes (Argon2id hashes only), software
-- certificates. Requests, persons and organisations are enrollment's,
-- certificates ca's: read over the bus, never here.
--
-- Enum columns hold the values of perso.proto (PersoJobState, PersoStep,
-- PersoStepState, CardState, CardTransitionKind, CardKeyAlgorithm) and
-- ca.proto (CertificateUse, PolicyLevel).

-- The FASC-N credential numbers written in CHUIDs (6 digits, cycling).
CREATE SEQUENCE fascn_credentials MINVALUE 1 MAXVALUE 999999 CYCLE;

-- One personalisation of one card for one validated request. The
-- request's holder, organisation and subject are copied at StartJob (the
-- subject of the certificates comes from them, never from the card).
-- Progress columns say what is done, so a retry resumes where it stopped.
CREATE TABLE jobs (
    seq                    bigserial   NOT NULL UNIQUE,
    job_id                 text        PRIMARY KEY,
    card_request_id        text        NOT NULL,
    person_id              text        NOT NULL,
    organisation_id        text        NOT NULL,
    account_id             text        NOT NULL DEFAULT '',
    level                  smallint    NOT NULL CHECK (level BETWEEN 1 AND 3),
    given_name             text        NOT NULL,
    surname                text        NOT NULL,
    organization           text        NOT NULL,
    organization_id        text        NOT NULL,
    state                  smallint    NOT NULL CHECK (state BETWEEN 1 AND 5),
    reader_name            text        NOT NULL CHECK (length(reader_name) BETWEEN 1 AND 128),
    key_algorithm          smallint    NOT NULL CHECK (key_algorithm IN (1, 2)),
    -- Read from the card's CHUID or assigned (blank card) at its first run.
    card_uuid              text        CHECK (card_uuid ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
    atr_hex                text        NOT NULL DEFAULT '',
    fascn_credential       integer     NOT NULL,
    current_step           smallint    NOT NULL DEFAULT 0,
    failed_step            smallint    NOT NULL DEFAULT 0,
    failure_reason         text        NOT NULL DEFAULT '',
    attempts               integer     NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    started_by_operator_id text        NOT NULL,
    started_by_key         text        NOT NULL,
    abandon_reason         text        NOT NULL DEFAULT '',
    -- The trace id of the StartJob or RetryJob that queued this run.
    trace_id               text        NOT NULL DEFAULT '',
    -- Progress on the card.
    certs_written          boolean     NOT NULL DEFAULT false,
    chuid_written          boolean     NOT NULL DEFAULT false,
    -- The PIN change was sent (its outcome may be unknown if the card was
    -- pulled then) / is known to be done; the PUK change is done.
    pin_pending            boolean     NOT NULL DEFAULT false,
    pin_changed            boolean     NOT NULL DEFAULT false,
    puk_changed            boolean     NOT NULL DEFAULT false,
    -- The new PIN sealed to mail (crypto_box_seal): perso cannot open it.
    -- Kept only until RECORD_CARD puts it in the "pin_mailer.ready" event.
    sealed_pin             bytea,
    mgmt_pending           boolean     NOT NULL DEFAULT false,
    mgmt_changed           boolean     NOT NULL DEFAULT false,
    heartbeat_at           timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    finished_at            timestamptz,
    CHECK (state <> 4 OR (failed_step BETWEEN 1 AND 12 AND failure_reason <> '')),
    CHECK (NOT pin_changed OR pin_pending),
    CHECK (NOT mgmt_changed OR mgmt_pending)
);
-- One live job per card request (an abandoned one may be followed by a
-- new one), one pending or running job per reader.
CREATE UNIQUE INDEX jobs_live_request ON jobs (card_request_id) WHERE state <> 5;
CREATE UNIQUE INDEX jobs_busy_reader ON jobs (reader_name) WHERE state IN (1, 2);
CREATE INDEX jobs_state ON jobs (state, seq);

-- The keys a job made on the card, one row per slot it personalises (9A =
-- 154 authentication, 9C = 156 signature), and what became of each.
CREATE TABLE job_keys (
    job_id          text        NOT NULL REFERENCES jobs,
    slot            smallint    NOT NULL CHECK (slot IN (154, 156)),
    use             smallint    NOT NULL CHECK (use IN (1, 2)),
    public_key_der  bytea,
    spki_sha256     text        CHECK (length(spki_sha256) = 64),
    csr_der         bytea,
    serial_hex      text,
    certificate_der bytea,
    not_after       timestamptz,
    generated_at    timestamptz,
    PRIMARY KEY (job_id, slot),
    CHECK (csr_der IS NULL OR public_key_der IS NOT NULL),
    CHECK (serial_hex IS NULL OR (csr_der IS NOT NULL AND certificate_der IS NOT NULL))
);

-- Certificates a job had issued and then revoked: superseded when the
-- card lost its key (regenerated), cessationOfOperation when abandoned.
CREATE TABLE job_revoked_certificates (
    job_id      text        NOT NULL REFERENCES jobs,
    serial_hex  text        NOT NULL PRIMARY KEY,
    slot        smallint    NOT NULL,
    reason      smallint    NOT NULL,
    revoked_at  timestamptz NOT NULL DEFAULT now()
);

-- Each step of each run (attempt) of a job.
CREATE TABLE job_steps (
    job_id      text        NOT NULL REFERENCES jobs,
    attempt     integer     NOT NULL,
    step        smallint    NOT NULL CHECK (step BETWEEN 1 AND 12),
    state       smallint    NOT NULL CHECK (state BETWEEN 1 AND 3),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    detail      text        NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, attempt, step)
);

-- A personalised card. The activation code is kept only as an Argon2id
-- hash, cleared once used.
CREATE TABLE cards (
    seq                     bigserial   NOT NULL UNIQUE,
    card_uuid               text        PRIMARY KEY,
    atr_hex                 text        NOT NULL,
    reader_name             text        NOT NULL,
    card_request_id         text        NOT NULL,
    person_id               text        NOT NULL,
    organisation_id         text        NOT NULL,
    account_id              text        NOT NULL DEFAULT '',
    level                   smallint    NOT NULL,
    job_id                  text        NOT NULL REFERENCES jobs,
    key_algorithm           smallint    NOT NULL,
    state                   smallint    NOT NULL CHECK (state BETWEEN 1 AND 9),
    suspended_from_state    smallint    NOT NULL DEFAULT 0,
    activation_code_hash    text        CHECK (activation_code_hash LIKE '$argon2id$%'),
    activation_code_issued_at timestamptz,
    activation_failures     integer     NOT NULL DEFAULT 0 CHECK (activation_failures >= 0),
    activation_locked       boolean     NOT NULL DEFAULT false,
    activated_at            timestamptz,
    personalised_at         timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 5) = (suspended_from_state <> 0))
);
CREATE INDEX cards_person ON cards (person_id);
CREATE INDEX cards_organisation ON cards (organisation_id);

CREATE TABLE card_certificates (
    card_uuid     text        NOT NULL REFERENCES cards,
    slot          text        NOT NULL CHECK (slot IN ('9A', '9C')),
    use           smallint    NOT NULL,
    serial_hex    text        NOT NULL UNIQUE,
    not_after     timestamptz NOT NULL,
    key_algorithm smallint    NOT NULL,
    PRIMARY KEY (card_uuid, slot)
);

-- Every transition a card went through (kind: 1 operator, 2 card operation).
CREATE TABLE card_history (
    seq         bigserial   PRIMARY KEY,
    card_uuid   text        NOT NULL REFERENCES cards,
    from_state  smallint    NOT NULL,
    to_state    smallint    NOT NULL,
    kind        smallint    NOT NULL CHECK (kind IN (1, 2)),
    operator_id text        NOT NULL DEFAULT '',
    reason      text        NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX card_history_card ON card_history (card_uuid, seq);

-- Level * software certificates (a holder's CSR, or a PKCS#12 perso made).
CREATE TABLE software_certificates (
    serial_hex        text        PRIMARY KEY,
    card_request_id   text        NOT NULL,
    person_id         text        NOT NULL,
    use               smallint    NOT NULL,
    key_made_by_perso boolean     NOT NULL,
    issued_by_key     text        NOT NULL,
    issued_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX software_certificates_request ON software_certificates (card_request_id);
