-- A renewal replaces the card's encryption certificate too (docs/perso.md,
-- "Renewal and replacement"): a same-card renewal asking for encryption
-- puts a new escrowed key in 9D, and a renewal on a new card notes every
-- certificate of the old card, 9D included. The replaced 9D certificate is
-- superseded at acceptance like the others; its key stays in escrowed_keys.
ALTER TABLE card_renewals DROP CONSTRAINT card_renewals_slot_check;
ALTER TABLE card_renewals ADD CONSTRAINT card_renewals_slot_check
    CHECK (slot IN ('9A', '9C', '9D'));
