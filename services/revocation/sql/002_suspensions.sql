-- Suspensions (docs/revocation.md, "Suspension"): certificates put on hold
-- at ca (certificateHold) by an operator's decision, for themselves or at
-- the request of the holder, their RL or an MC, and released
-- (removeFromCRL) when the suspension is lifted. A card suspended with its
-- certificates returns to card_previous_state. Values of enums are those
-- of revocation.proto / enrollment.proto / perso.proto.

-- state: 1 suspended, 2 resumed. requester_role: 0 the operator decided on
-- their own (requester_person_id empty), else PersonRole. reason:
-- SuspensionReason; resume_reason: ResumeReason.
CREATE TABLE suspensions (
    seq                         bigserial   NOT NULL UNIQUE,
    suspension_id               text        PRIMARY KEY,
    state                       smallint    NOT NULL CHECK (state IN (1, 2)),
    holder_person_id            text        NOT NULL CHECK (holder_person_id <> ''),
    organisation_id             text        NOT NULL,
    requester_person_id         text        NOT NULL DEFAULT '',
    requester_role              smallint    NOT NULL CHECK (requester_role BETWEEN 0 AND 3),
    card_uuid                   text,
    card_previous_state         smallint    CHECK (card_previous_state BETWEEN 1 AND 9),
    reason                      smallint    NOT NULL CHECK (reason BETWEEN 1 AND 6),
    note                        text        NOT NULL CHECK (note <> ''),
    suspended_by_operator_id    text        NOT NULL CHECK (suspended_by_operator_id <> ''),
    suspended_by_key            text        NOT NULL,
    suspended_at                timestamptz NOT NULL DEFAULT date_trunc('second', now()),
    resume_requester_person_id  text        NOT NULL DEFAULT '',
    resume_requester_role       smallint    NOT NULL DEFAULT 0
                                            CHECK (resume_requester_role BETWEEN 0 AND 3),
    resume_reason               smallint    NOT NULL DEFAULT 0 CHECK (resume_reason BETWEEN 0 AND 5),
    resume_note                 text        NOT NULL DEFAULT '',
    resumed_by_operator_id      text        NOT NULL DEFAULT '',
    resumed_by_key              text,
    resumed_at                  timestamptz,
    CHECK ((requester_role = 0) = (requester_person_id = '')),
    CHECK ((card_uuid IS NULL) = (card_previous_state IS NULL)),
    CHECK (state = 1 OR (resumed_at IS NOT NULL AND resume_reason <> 0 AND resume_note <> ''))
);
-- A card is in at most one open suspension.
CREATE UNIQUE INDEX suspensions_card_open ON suspensions (card_uuid)
    WHERE state = 1 AND card_uuid IS NOT NULL;
CREATE INDEX suspensions_holder ON suspensions (holder_person_id);

-- The certificates a suspension put on hold. open until released (or
-- found revoked meanwhile: ca_outcome "revoked meanwhile"). A certificate
-- is in at most one open suspension.
CREATE TABLE suspension_serials (
    suspension_id text        NOT NULL REFERENCES suspensions,
    position      smallint    NOT NULL,
    serial_hex    text        NOT NULL CHECK (serial_hex ~ '^([0-9a-f]{2}){1,20}$'),
    open          boolean     NOT NULL DEFAULT true,
    released_at   timestamptz,
    ca_outcome    text        NOT NULL DEFAULT '',
    PRIMARY KEY (suspension_id, serial_hex),
    UNIQUE (suspension_id, position),
    CHECK (open OR released_at IS NOT NULL)
);
CREATE UNIQUE INDEX suspension_serials_open ON suspension_serials (serial_hex) WHERE open;

-- Kept as the requests are: never deleted.
DO $$
BEGIN
    EXECUTE format('REVOKE DELETE, TRUNCATE ON suspensions, suspension_serials FROM %I',
                   current_setting('tessera.runtime_role'));
END $$;
