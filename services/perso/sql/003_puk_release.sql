-- PIN unblock (docs/perso.md, "PIN unblock"): a card's PUK released once to
-- its holder after secret questions, then changed at the card's next
-- contact. The PUK itself is never stored: it is diversified from the
-- master key, the card's UUID and its version below. (Numbered 003: 002 is
-- left to the renewal work that was under way at the same time.)

-- Which of the card's PUKs is on it: 0 is the one personalisation set
-- (derivation v1), each change after a release adds one.
ALTER TABLE cards ADD COLUMN puk_version integer NOT NULL DEFAULT 0 CHECK (puk_version >= 0);

-- The questions put to a holder for one release (StartPukRelease), used
-- once by ReleasePuk. Channel: 1 portal (account_id), 2 phone (operator).
CREATE TABLE puk_challenges (
    challenge_id  text        PRIMARY KEY,
    card_uuid     text        NOT NULL REFERENCES cards,
    person_id     text        NOT NULL,
    account_id    text        NOT NULL DEFAULT '',
    channel       smallint    NOT NULL CHECK (channel IN (1, 2)),
    level         smallint    NOT NULL CHECK (level BETWEEN 1 AND 3),
    question_ids  integer[]   NOT NULL CHECK (cardinality(question_ids) BETWEEN 1 AND 5),
    operator_id   text        NOT NULL DEFAULT '',
    caller_key    text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    passed        boolean
);
CREATE INDEX puk_challenges_card ON puk_challenges (card_uuid, created_at);

-- Wrong answer sets per holder (person): counted within a window, the
-- third locks releases until locked_until.
CREATE TABLE puk_lockouts (
    person_id         text        PRIMARY KEY,
    failures          integer     NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_started_at timestamptz,
    locked_until      timestamptz
);

-- Each release: who proved what, through which channel, and when the
-- released PUK was changed on the card. At most one release per card
-- awaits its change.
CREATE TABLE puk_releases (
    seq                bigserial   PRIMARY KEY,
    card_uuid          text        NOT NULL REFERENCES cards,
    puk_version        integer     NOT NULL,
    person_id          text        NOT NULL,
    account_id         text        NOT NULL DEFAULT '',
    channel            smallint    NOT NULL CHECK (channel IN (1, 2)),
    operator_id        text        NOT NULL DEFAULT '',
    caller_key         text        NOT NULL,
    challenge_id       text        NOT NULL REFERENCES puk_challenges,
    client_address     text        NOT NULL DEFAULT '',
    user_agent         text        NOT NULL DEFAULT '',
    released_at        timestamptz NOT NULL DEFAULT now(),
    changed_at         timestamptz,
    changed_to_version integer,
    CHECK ((changed_at IS NULL) = (changed_to_version IS NULL))
);
CREATE UNIQUE INDEX puk_releases_awaiting ON puk_releases (card_uuid) WHERE changed_at IS NULL;
