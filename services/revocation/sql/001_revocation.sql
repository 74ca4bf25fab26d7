-- Revocation's state: phone challenges and every attempt to answer one (the
-- phone lockout is computed from the attempts), the revocation requests of
-- every channel with who asked, how they were authenticated and by whom,
-- the operator's decision, their application in ca, and the archive.
-- Persons, accounts, operators and certificates belong to enrollment,
-- validation and ca: they are read over the bus, never here. Values of
-- enums are those of revocation.proto / ca.proto / enrollment.proto.

-- A set of secret questions picked for one phone call. state: 1 open
-- (questions read to the caller), 2 passed, 3 failed, 4 used (a request was
-- recorded with it). caller_role is the PersonRole the caller speaks as
-- (3 holder when caller = holder).
CREATE TABLE phone_challenges (
    challenge_id      text        PRIMARY KEY,
    caller_person_id  text        NOT NULL,
    holder_person_id  text        NOT NULL,
    organisation_id   text        NOT NULL,
    caller_role       smallint    NOT NULL CHECK (caller_role BETWEEN 1 AND 3),
    level             smallint    NOT NULL CHECK (level BETWEEN 1 AND 3),
    account_id        text        NOT NULL,
    question_ids      smallint[]  NOT NULL CHECK (cardinality(question_ids) BETWEEN 1 AND 10),
    operator_id       text        NOT NULL CHECK (operator_id <> ''),
    operator_key      text        NOT NULL,
    state             smallint    NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 4),
    created_at        timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL,
    answered_at       timestamptz,
    answered_by_operator_id text,
    used_at           timestamptz,
    CHECK (state = 1 OR answered_at IS NOT NULL),
    CHECK (state <> 4 OR used_at IS NOT NULL)
);

-- One row per answered challenge, never changed: the holder authentication
-- attempts. The failure that reaches TSR_PHONE_MAX_FAILURES is marked
-- locked: the lock runs TSR_PHONE_LOCK_S from its attempted_at.
CREATE TABLE phone_attempts (
    seq              bigserial   PRIMARY KEY,
    challenge_id     text        NOT NULL UNIQUE REFERENCES phone_challenges,
    person_id        text        NOT NULL,
    holder_person_id text        NOT NULL,
    operator_id      text        NOT NULL,
    operator_key     text        NOT NULL,
    questions_asked  smallint    NOT NULL,
    passed           boolean     NOT NULL,
    locked           boolean     NOT NULL DEFAULT false,
    attempted_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT (passed AND locked))
);
CREATE INDEX phone_attempts_person ON phone_attempts (person_id, attempted_at);

-- A revocation request. channel: 1 online, 2 phone, 3 paper form. state:
-- 1 pending (the operator decides), 2 approved (being applied in ca),
-- 3 applied, 4 rejected. Reasons are RevocationReason values (RFC 5280 code
-- plus one). Times are whole seconds, so page tokens compare exactly.
CREATE TABLE revocations (
    seq                     bigserial   NOT NULL UNIQUE,
    revocation_id           text        PRIMARY KEY,
    channel                 smallint    NOT NULL CHECK (channel BETWEEN 1 AND 3),
    state                   smallint    NOT NULL CHECK (state BETWEEN 1 AND 4),
    requester_role          smallint    NOT NULL CHECK (requester_role BETWEEN 1 AND 3),
    requester_person_id     text        NOT NULL CHECK (requester_person_id <> ''),
    holder_person_id        text        NOT NULL CHECK (holder_person_id <> ''),
    organisation_id         text        NOT NULL,
    requested_reason        smallint    NOT NULL CHECK (requested_reason BETWEEN 1 AND 11),
    reason                  smallint    NOT NULL CHECK (reason BETWEEN 1 AND 11),
    level                   smallint    NOT NULL CHECK (level BETWEEN 1 AND 3),
    statement               text        NOT NULL DEFAULT '',
    -- Phone: the passed challenge (who answered, which operator, when).
    challenge_id            text        UNIQUE REFERENCES phone_challenges,
    -- Paper form.
    form_sha256             text        CHECK (form_sha256 ~ '^[0-9a-f]{64}$'),
    form_received_at        timestamptz,
    signature_checked_by    text,
    reference_document_id   text,
    -- Online: the holder's portal session.
    account_id              text,
    client_address          text,
    user_agent              text,
    recorded_by_operator_id text        NOT NULL DEFAULT '',
    recorded_by_key         text        NOT NULL,
    received_at             timestamptz NOT NULL,
    recorded_at             timestamptz NOT NULL DEFAULT date_trunc('second', now()),
    deadline_at             timestamptz NOT NULL,
    decided_by_operator_id  text        NOT NULL DEFAULT '',
    decided_by_key          text,
    decided_at              timestamptz,
    decision_note           text        NOT NULL DEFAULT '',
    applied_at              timestamptz,
    last_apply_error        text        NOT NULL DEFAULT '',
    archived_at             timestamptz,
    retain_until            timestamptz,
    CHECK (channel <> 1 OR account_id IS NOT NULL),
    CHECK (channel <> 2 OR challenge_id IS NOT NULL),
    -- A paper form is never recorded without the signature check.
    CHECK (channel <> 3 OR (form_sha256 IS NOT NULL AND form_received_at IS NOT NULL
                            AND signature_checked_by <> '' AND reference_document_id <> '')),
    -- Phone and paper requests are decided by an operator, online ones by
    -- the holder.
    CHECK (channel = 1 OR state = 1 OR decided_by_operator_id <> ''),
    CHECK (state = 1 OR decided_at IS NOT NULL),
    CHECK (state <> 4 OR decision_note <> ''),
    CHECK (state <> 3 OR applied_at IS NOT NULL),
    -- Only closed requests are archived (applied or rejected requests are
    -- archived in the transaction that closes them).
    CHECK (archived_at IS NULL OR state IN (3, 4)),
    CHECK ((archived_at IS NULL) = (retain_until IS NULL))
);
CREATE INDEX revocations_open ON revocations (deadline_at, seq) WHERE state IN (1, 2);
CREATE INDEX revocations_order ON revocations (deadline_at, seq);
CREATE INDEX revocations_archive ON revocations (archived_at, seq) WHERE archived_at IS NOT NULL;
CREATE INDEX revocations_holder ON revocations (holder_person_id);
-- One scan, one request.
CREATE UNIQUE INDEX revocations_form ON revocations (form_sha256) WHERE form_sha256 IS NOT NULL;

-- The certificates of a request, with their level (from ca) and when ca
-- revoked each. A certificate is in at most one open request.
CREATE TABLE revocation_serials (
    revocation_id text        NOT NULL REFERENCES revocations,
    position      smallint    NOT NULL,
    serial_hex    text        NOT NULL CHECK (serial_hex ~ '^([0-9a-f]{2}){1,20}$'),
    level         smallint    NOT NULL CHECK (level BETWEEN 1 AND 3),
    open          boolean     NOT NULL DEFAULT true,
    applied_at    timestamptz,
    -- "revoked", or "revoked already" when ca had revoked it before.
    ca_outcome    text        NOT NULL DEFAULT '',
    PRIMARY KEY (revocation_id, serial_hex),
    UNIQUE (revocation_id, position)
);
CREATE UNIQUE INDEX revocation_serials_open ON revocation_serials (serial_hex) WHERE open;

-- Nothing here is ever deleted: requests are archived and kept 5 years.
DO $$
BEGIN
    EXECUTE format('REVOKE DELETE, TRUNCATE ON phone_challenges, phone_attempts, revocations,'
                   ' revocation_serials FROM %I', current_setting('tessera.runtime_role'));
    EXECUTE format('REVOKE UPDATE ON phone_attempts FROM %I',
                   current_setting('tessera.runtime_role'));
END $$;
