-- Validation's state: the holder accounts (one per person) with their
-- password and secret answers kept only as Argon2id hashes, and the
-- validation operators' decisions on card requests. Card requests, persons
-- and operators are enrollment's: they are read over the bus, never here.

-- A holder's account on the portal. state: 1 pending first login (a
-- one-time password is pending), 2 password change required (the one-time
-- password was used; password_hash is NULL until SetPassword), 3 active,
-- 5 disabled: the values of HolderAccountState. "Locked" (4) is not stored:
-- it is locked_until in the future.
CREATE TABLE holder_accounts (
    account_id             text        PRIMARY KEY,
    person_id              text        NOT NULL UNIQUE,
    -- The person's e-mail address when the account was created.
    login                  text        NOT NULL CHECK (length(login) BETWEEN 1 AND 254),
    state                  smallint    NOT NULL CHECK (state IN (1, 2, 3, 5)),
    -- crypto_pwhash_str (Argon2id, with its own salt and limits): of the
    -- one-time password in state 1, of the holder's password in state 3.
    password_hash          text        CHECK (password_hash LIKE '$argon2id$%'),
    otp_expires_at         timestamptz,
    -- SHA-256 (hex) of the single-use proof a one-time-password login gives
    -- for SetPassword; the token itself is never stored.
    change_token_sha256    text        CHECK (length(change_token_sha256) = 64),
    change_token_expires_at timestamptz,
    failed_logins          integer     NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until           timestamptz,
    -- Consecutive VerifyAnswers mismatches (revocation by phone counts its
    -- own; this one is for the controller).
    answer_failures        integer     NOT NULL DEFAULT 0 CHECK (answer_failures >= 0),
    created_at             timestamptz NOT NULL DEFAULT now(),
    created_by_decision    text        NOT NULL,
    password_changed_at    timestamptz,
    last_login_at          timestamptz,
    questions_set_at       timestamptz,
    CHECK (state <> 1 OR (password_hash IS NOT NULL AND otp_expires_at IS NOT NULL)),
    CHECK (state <> 2 OR password_hash IS NULL),
    CHECK (state <> 3 OR password_hash IS NOT NULL)
);
-- Logins are compared without regard to ASCII case.
CREATE UNIQUE INDEX holder_accounts_login ON holder_accounts (lower(login));

-- The holder's secret questions (question_id 1..n of the current set) and
-- the Argon2id hash of each normalised answer.
CREATE TABLE secret_questions (
    account_id  text        NOT NULL REFERENCES holder_accounts,
    question_id smallint    NOT NULL CHECK (question_id BETWEEN 1 AND 10),
    question    text        NOT NULL CHECK (length(question) BETWEEN 1 AND 128),
    answer_hash text        NOT NULL CHECK (answer_hash LIKE '$argon2id$%'),
    set_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, question_id)
);

-- One decision per card request, never changed. outcome: 1 validated,
-- 2 rejected (DecisionOutcome). Operator ids are enrollment's; the caller's
-- CURVE key is kept beside them for the audit trail.
CREATE TABLE decisions (
    seq                    bigserial   NOT NULL UNIQUE,
    decision_id            text        PRIMARY KEY,
    card_request_id        text        NOT NULL UNIQUE,
    batch_id               text        NOT NULL,
    person_id              text        NOT NULL,
    organisation_id        text        NOT NULL,
    outcome                smallint    NOT NULL CHECK (outcome IN (1, 2)),
    reason                 text        NOT NULL DEFAULT '',
    note                   text        NOT NULL DEFAULT '',
    decided_by_operator_id text        NOT NULL CHECK (decided_by_operator_id <> ''),
    decided_by_key         text        NOT NULL,
    entered_by_operator_id text        NOT NULL CHECK (entered_by_operator_id <> ''),
    decided_at             timestamptz NOT NULL DEFAULT now(),
    account_id             text        REFERENCES holder_accounts,
    account_created        boolean     NOT NULL DEFAULT false,
    -- Four eyes, once more where the data lives.
    CHECK (decided_by_operator_id <> entered_by_operator_id),
    CHECK (decided_by_key <> entered_by_operator_id),
    CHECK (outcome <> 2 OR length(reason) BETWEEN 1 AND 512),
    CHECK (outcome <> 1 OR account_id IS NOT NULL)
);
CREATE INDEX decisions_batch ON decisions (batch_id);
CREATE INDEX decisions_operator ON decisions (decided_by_operator_id, seq);
