-- Mail's state: the e-mail outbox with its delivery attempts, the postal
-- shipments (cards by registered mail, PIN mailers by simple mail), the
-- acceptance returns, and the holders' certificates known from ca's
-- "certificate.issued" events (for the expiry sweep). Persons, operators
-- and cards belong to enrollment and perso: they are read over the bus.
-- Business times (shipments, acceptances, the sweep) are the service's
-- clock (TSR_MAIL_CLOCK_OFFSET_S); outbox mechanics use the database's.

-- One e-mail. state: 1 queued, 2 sending (claimed by attempt claim_id),
-- 3 sent, 4 dead letter (EmailState). template: EmailTemplate. The body is
-- never stored: it is rendered at each attempt from params and, for a
-- one-time password, from sealed_secret, which stays sealed to mail's CURVE
-- key until the attempt; both are dropped once the message is sent.
CREATE TABLE emails (
    seq                   bigserial   NOT NULL UNIQUE,
    email_id              text        PRIMARY KEY,
    -- RFC 5322 Message-ID, fixed here and kept across attempts.
    message_id            text        NOT NULL UNIQUE,
    template              smallint    NOT NULL CHECK (template BETWEEN 1 AND 7),
    language              text        NOT NULL CHECK (language IN ('fr', 'en')),
    recipient_person_id   text        NOT NULL DEFAULT '',
    recipient_operator_id text        NOT NULL DEFAULT '',
    to_address            text        NOT NULL CHECK (length(to_address) BETWEEN 3 AND 254),
    to_name               text        NOT NULL DEFAULT '',
    subject               text        NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    params                jsonb,
    sealed_secret         bytea,
    state                 smallint    NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 4),
    attempts              integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts          integer     NOT NULL CHECK (max_attempts >= 1),
    next_attempt_at       timestamptz NOT NULL DEFAULT now(),
    claim_id              text,
    claimed_at            timestamptz,
    last_error            text        NOT NULL DEFAULT '',
    smtp_reply            text        NOT NULL DEFAULT '',
    source_service        text        NOT NULL DEFAULT '',
    source_event_seq      bigint      NOT NULL DEFAULT 0,
    -- What called for it, so it is queued once: "validation:12",
    -- "enrollment:7:<operator>", "expiring:<card request>" ...
    dedup_key             text        NOT NULL UNIQUE,
    trace_id              text        NOT NULL DEFAULT '',
    created_at            timestamptz NOT NULL DEFAULT now(),
    sent_at               timestamptz,
    CHECK (state <> 2 OR (claim_id IS NOT NULL AND claimed_at IS NOT NULL)),
    CHECK (state <> 3 OR (params IS NULL AND sealed_secret IS NULL AND sent_at IS NOT NULL))
);
CREATE INDEX emails_due ON emails (next_attempt_at) WHERE state = 1;
CREATE INDEX emails_sending ON emails (claimed_at) WHERE state = 2;
CREATE INDEX emails_person ON emails (recipient_person_id, seq);

-- Each SMTP attempt: the claim (outcome NULL while it runs), then how it
-- ended: sent, retry, dead (dead letter) or reclaimed (the process died or
-- stalled holding the claim; the message goes out again, same Message-ID).
CREATE TABLE email_attempts (
    attempt_id  text        PRIMARY KEY,
    email_id    text        NOT NULL REFERENCES emails,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    outcome     text        CHECK (outcome IN ('sent', 'retry', 'dead', 'reclaimed')),
    detail      text        NOT NULL DEFAULT ''
);
CREATE INDEX email_attempts_email ON email_attempts (email_id, started_at);

-- The expiry sweep's runs: the background job sweeps when the last run is
-- older than TSR_MAIL_SWEEP_INTERVAL_S, whatever restarts happened since.
CREATE TABLE sweeps (
    seq                  bigserial   PRIMARY KEY,
    ran_at               timestamptz NOT NULL DEFAULT now(),
    as_of                timestamptz NOT NULL,
    trigger              text        NOT NULL CHECK (trigger IN ('schedule', 'request')),
    certificates_checked integer     NOT NULL,
    emails_queued        integer     NOT NULL
);

-- Holders' certificates from ca's events. state: 1 good, 2 revoked, 3 on
-- hold.
CREATE TABLE certificates (
    serial_hex      text        PRIMARY KEY,
    card_request_id text        NOT NULL,
    holder_id       text        NOT NULL,
    use             smallint    NOT NULL,
    not_after       timestamptz NOT NULL,
    state           smallint    NOT NULL DEFAULT 1 CHECK (state IN (1, 2, 3)),
    revoked_at      timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX certificates_expiry ON certificates (not_after) WHERE state = 1;
CREATE INDEX certificates_request ON certificates (card_request_id);

-- A postal shipment. kind: 1 card (registered with acknowledgement of
-- receipt), 2 PIN mailer (simple mail). state: 1 prepared, 2 printed (PIN
-- mailer), 3 posted, 4 delivered, 5 returned (ShipmentState). A PIN mailer
-- holds the PIN and activation code perso sealed to mail's key until it is
-- printed; afterwards only the PDF's digest, who printed it and when.
CREATE TABLE shipments (
    seq                     bigserial   NOT NULL UNIQUE,
    shipment_id             text        PRIMARY KEY,
    kind                    smallint    NOT NULL CHECK (kind IN (1, 2)),
    card_uuid               text        NOT NULL,
    card_request_id         text        NOT NULL DEFAULT '',
    holder_person_id        text        NOT NULL,
    holder_name             text        NOT NULL DEFAULT '',
    organisation_id         text        NOT NULL DEFAULT '',
    recipient_person_id     text        NOT NULL,
    recipient_name          text        NOT NULL DEFAULT '',
    address_lines           text[]      NOT NULL DEFAULT '{}',
    postal_code             text        NOT NULL DEFAULT '',
    city                    text        NOT NULL DEFAULT '',
    country_code            text        NOT NULL DEFAULT '',
    language                text        NOT NULL DEFAULT 'fr' CHECK (language IN ('fr', 'en')),
    state                   smallint    NOT NULL CHECK (state BETWEEN 1 AND 5),
    tracking_number         text        NOT NULL DEFAULT '',
    prepared_at             timestamptz NOT NULL,
    posted_at               timestamptz,
    delivered_at            timestamptz,
    returned_at             timestamptz,
    prepared_by_operator_id text        NOT NULL DEFAULT '',
    posted_by_operator_id   text        NOT NULL DEFAULT '',
    sealed_pin              bytea,
    sealed_activation_code  bytea,
    reissue                 boolean     NOT NULL DEFAULT false,
    -- A PIN mailer replaced by a newer one (ReissueActivationCode) before
    -- it was printed: never printed.
    superseded              boolean     NOT NULL DEFAULT false,
    pdf_sha256              text        NOT NULL DEFAULT '',
    printed_by_operator_id  text        NOT NULL DEFAULT '',
    printed_at              timestamptz,
    note                    text        NOT NULL DEFAULT '',
    CHECK (kind = 2 OR state <> 2),
    CHECK (kind = 1 OR state <> 4),
    CHECK (kind = 1 OR state = 1 OR (sealed_pin IS NULL AND sealed_activation_code IS NULL
                                     AND length(pdf_sha256) = 64 AND printed_at IS NOT NULL)),
    CHECK (kind = 2 OR state = 1 OR (tracking_number <> '' AND posted_at IS NOT NULL))
);
-- One card shipment under way per card (a returned card may go again), one
-- PIN mailer waiting per card.
CREATE UNIQUE INDEX shipments_card_live ON shipments (card_uuid) WHERE kind = 1 AND state <> 5;
CREATE UNIQUE INDEX shipments_pin_mailer_waiting ON shipments (card_uuid)
    WHERE kind = 2 AND state = 1 AND NOT superseded;
CREATE INDEX shipments_holder ON shipments (holder_person_id, seq);

-- An acceptance of a card. channel: 1 paper (signed acceptance and
-- hand-over report, closes the dossier), 2 portal.
CREATE TABLE acceptances (
    seq                      bigserial   NOT NULL UNIQUE,
    acceptance_id            text        PRIMARY KEY,
    channel                  smallint    NOT NULL CHECK (channel IN (1, 2)),
    card_uuid                text        NOT NULL,
    card_request_id          text        NOT NULL,
    person_id                text        NOT NULL,
    serials                  text[]      NOT NULL,
    signed_acceptance_sha256 text        NOT NULL DEFAULT '',
    handover_report_sha256   text        NOT NULL DEFAULT '',
    received_at              timestamptz,
    recorded_by_operator_id  text        NOT NULL DEFAULT '',
    account_id               text        NOT NULL DEFAULT '',
    client_address           text        NOT NULL DEFAULT '',
    user_agent               text        NOT NULL DEFAULT '',
    recorded_at              timestamptz NOT NULL,
    closes_dossier           boolean     NOT NULL,
    UNIQUE (card_uuid, channel),
    CHECK (channel <> 1 OR (length(signed_acceptance_sha256) = 64
                            AND length(handover_report_sha256) = 64 AND closes_dossier)),
    CHECK (channel <> 2 OR (account_id <> '' AND NOT closes_dossier))
);
CREATE INDEX acceptances_person ON acceptances (person_id, seq);
