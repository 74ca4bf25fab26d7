-- A revocation request may name a card instead of its certificates: the
-- serials are then read from perso's record of the card (GetCard) and
-- stored as for any request; the card is kept beside them.
ALTER TABLE revocations ADD COLUMN card_uuid text
    CHECK (card_uuid ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$');
