-- Renewal and replacement (docs/perso.md, "Renewal and replacement").
-- A renewal job re-personalises a card perso knows: the card's UUID is
-- set at StartJob, its management key, PIN and PUK are kept. The holder's
-- PIN, typed at the desk, is held encrypted (crypto_secretbox, key derived
-- from the master key) until the job ends.
-- A renewal on a new card (the old one expires before the new
-- certificates would) is an ordinary job that names the card it renews.
ALTER TABLE jobs
    ADD COLUMN renewal boolean NOT NULL DEFAULT false,
    ADD COLUMN holder_pin_box bytea,
    ADD COLUMN renews_card_uuid text REFERENCES cards;

-- The card's own end of life: 6 years (two holder-certificate lifetimes)
-- from its personalisation. A renewal whose certificates would outlive it
-- needs a new card.
ALTER TABLE cards ADD COLUMN expires_at timestamptz NOT NULL DEFAULT now() + interval '6 years';

-- The certificates a renewal replaced, revoked (superseded) once the
-- holder accepts the new ones: ActivateCard of card_uuid (the renewed card
-- with the renewal's code, or the new card of a renewal on a new card).
CREATE TABLE card_renewals (
    job_id        text        NOT NULL REFERENCES jobs,
    card_uuid     text        NOT NULL REFERENCES cards,
    slot          text        NOT NULL CHECK (slot IN ('9A', '9C')),
    serial_hex    text        NOT NULL UNIQUE,
    superseded_at timestamptz,
    PRIMARY KEY (job_id, slot)
);
CREATE INDEX card_renewals_pending ON card_renewals (card_uuid) WHERE superseded_at IS NULL;
