-- The registry of the registration authority: client organisations, the
-- persons of each (RL, MC, holders), their dossiers (DDC) and documents,
-- card requests and the batches that carry them to validation (see
-- services/enrollment/enrollment_registry.c and docs/enrollment.md).
--
-- Identifiers are a prefix and 16 random lower-case hex digits ("org-",
-- "per-", "dos-", "doc-", "bat-", "req-"), made by the service. row_seq
-- orders each table for paging. Enum columns hold the values of the enums
-- of proto/tessera/v1/enrollment.proto. Operator ids (created_by ...) are
-- those of the operators table; they are not foreign keys, so the registry
-- only ever reads operator_id and public_key there.

CREATE TABLE organisations (
    organisation_id text        PRIMARY KEY CHECK (organisation_id ~ '^org-[0-9a-f]{16}$'),
    row_seq         bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    legal_name      text        NOT NULL CHECK (char_length(legal_name) BETWEEN 1 AND 128),
    siret           text        NOT NULL UNIQUE CHECK (siret ~ '^[0-9]{14}$'),
    kind            smallint    NOT NULL CHECK (kind IN (1, 2)),
    -- PostalAddress: lines joined by a newline (lines hold no control
    -- character, so the newline can not be part of one).
    address_lines   text        NOT NULL,
    postal_code     text        NOT NULL,
    city            text        NOT NULL,
    country_code    text        NOT NULL CHECK (country_code ~ '^[A-Z]{2}$'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text        NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE persons (
    person_id       text        PRIMARY KEY CHECK (person_id ~ '^per-[0-9a-f]{16}$'),
    row_seq         bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    organisation_id text        NOT NULL REFERENCES organisations,
    role            smallint    NOT NULL CHECK (role BETWEEN 1 AND 3),
    given_name      text        NOT NULL CHECK (char_length(given_name) BETWEEN 1 AND 64),
    surname         text        NOT NULL CHECK (char_length(surname) BETWEEN 1 AND 64),
    email           text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    address_lines   text        NOT NULL,
    postal_code     text        NOT NULL,
    city            text        NOT NULL,
    country_code    text        NOT NULL CHECK (country_code ~ '^[A-Z]{2}$'),
    language        text        NOT NULL DEFAULT 'fr' CHECK (language IN ('fr', 'en')),
    -- An MC is designated by an RL of the same organisation; nobody else is.
    designated_by   text        REFERENCES persons,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text        NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 2) = (designated_by IS NOT NULL))
);
CREATE INDEX persons_organisation ON persons (organisation_id, row_seq);

-- A person's dossier, or the organisation's own (person_id NULL). state:
-- 1 open, 2 closed, 3 archived. At most one open dossier per person and
-- one per organisation; the current dossier is the newest.
CREATE TABLE dossiers (
    dossier_id      text        PRIMARY KEY CHECK (dossier_id ~ '^dos-[0-9a-f]{16}$'),
    row_seq         bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    organisation_id text        NOT NULL REFERENCES organisations,
    person_id       text        REFERENCES persons,
    state           smallint    NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 3),
    opened_at       timestamptz NOT NULL DEFAULT now(),
    opened_by       text        NOT NULL,
    closed_at       timestamptz,
    archived_at     timestamptz,
    retain_until    timestamptz
);
CREATE UNIQUE INDEX dossiers_one_open_per_person ON dossiers (person_id)
    WHERE state = 1 AND person_id IS NOT NULL;
CREATE UNIQUE INDEX dossiers_one_open_per_organisation ON dossiers (organisation_id)
    WHERE state = 1 AND person_id IS NULL;
CREATE INDEX dossiers_person ON dossiers (person_id, row_seq);
CREATE INDEX dossiers_organisation ON dossiers (organisation_id, row_seq);

-- A document as received and checked; only its scan's digest is kept.
CREATE TABLE documents (
    document_id     text        PRIMARY KEY CHECK (document_id ~ '^doc-[0-9a-f]{16}$'),
    row_seq         bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    dossier_id      text        NOT NULL REFERENCES dossiers,
    type            smallint    NOT NULL CHECK (type BETWEEN 1 AND 8),
    identity_kind   smallint    NOT NULL DEFAULT 0 CHECK (identity_kind BETWEEN 0 AND 3),
    reference       text        NOT NULL CHECK (char_length(reference) BETWEEN 1 AND 64),
    received_at     timestamptz NOT NULL,
    issued_at       timestamptz,
    expires_at      timestamptz,
    checked_by      text        NOT NULL,
    recorded_by     text        NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    scan_sha256     text        NOT NULL DEFAULT '' CHECK (scan_sha256 ~ '^([0-9a-f]{64})?$'),
    note            text        NOT NULL DEFAULT '' CHECK (char_length(note) <= 512),
    withdrawn       boolean     NOT NULL DEFAULT false,
    withdrawn_reason text       NOT NULL DEFAULT '' CHECK (char_length(withdrawn_reason) <= 512),
    withdrawn_at    timestamptz,
    withdrawn_by    text,
    CHECK ((type = 4) = (identity_kind <> 0))
);
CREATE INDEX documents_dossier ON documents (dossier_id, row_seq);

-- Who signed a document, as checked: a person of the organisation (with
-- the role they had) or an operator (the AE).
CREATE TABLE document_signatures (
    document_id     text        NOT NULL REFERENCES documents,
    position        smallint    NOT NULL CHECK (position >= 0),
    signer_id       text        NOT NULL,
    signer_kind     text        NOT NULL CHECK (signer_kind IN ('person', 'operator')),
    person_role     smallint    CHECK (person_role BETWEEN 1 AND 3),
    PRIMARY KEY (document_id, position),
    UNIQUE (document_id, signer_id),
    CHECK ((signer_kind = 'person') = (person_role IS NOT NULL))
);

-- state: 1 open, 2 submitted, 3 decided.
CREATE TABLE batches (
    batch_id        text        PRIMARY KEY CHECK (batch_id ~ '^bat-[0-9a-f]{16}$'),
    row_seq         bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    organisation_id text        NOT NULL REFERENCES organisations,
    label           text        NOT NULL DEFAULT '' CHECK (char_length(label) <= 128),
    state           smallint    NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 3),
    created_by      text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    submitted_by    text,
    submitted_at    timestamptz,
    decided_at      timestamptz
);
CREATE INDEX batches_organisation ON batches (organisation_id, row_seq);

-- state: 1 draft, 2 submitted, 3 validated, 4 rejected, 5 cancelled,
-- 6 completed. entered_by is the operator id of the caller who created it:
-- validation refuses that operator the decision (four eyes).
CREATE TABLE card_requests (
    card_request_id text        PRIMARY KEY CHECK (card_request_id ~ '^req-[0-9a-f]{16}$'),
    row_seq         bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    batch_id        text        NOT NULL REFERENCES batches,
    person_id       text        NOT NULL REFERENCES persons,
    organisation_id text        NOT NULL REFERENCES organisations,
    dossier_id      text        NOT NULL REFERENCES dossiers,
    level           smallint    NOT NULL CHECK (level BETWEEN 1 AND 3),
    use_authentication boolean  NOT NULL,
    use_signature   boolean     NOT NULL,
    software_certificate boolean NOT NULL DEFAULT false,
    state           smallint    NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 6),
    entered_by      text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    submitted_at    timestamptz,
    decided_by      text        NOT NULL DEFAULT '',
    decided_at      timestamptz,
    rejection_reason text       NOT NULL DEFAULT '',
    cancel_reason   text        NOT NULL DEFAULT '',
    cancelled_by    text,
    cancelled_at    timestamptz,
    CHECK (use_authentication OR use_signature),
    CHECK (NOT software_certificate OR level = 1)
);
-- One undecided (draft or submitted) request per person at a time.
CREATE UNIQUE INDEX card_requests_one_undecided ON card_requests (person_id) WHERE state IN (1, 2);
CREATE INDEX card_requests_batch ON card_requests (batch_id, row_seq);
CREATE INDEX card_requests_dossier ON card_requests (dossier_id);

-- Nothing of the registry is ever deleted: dossiers close and are archived
-- (5 years), documents are withdrawn, requests cancelled.
DO $$
BEGIN
    EXECUTE format('REVOKE DELETE, TRUNCATE ON organisations, persons, dossiers, documents,'
                   ' document_signatures, batches, card_requests FROM %I',
                   current_setting('tessera.runtime_role'));
END $$;
