-- One acceptance per card, card request and channel: a card renewed on
-- itself (perso's same-card renewal) answers a new card request, whose
-- certificates the holder accepts again. Such an acceptance has no
-- hand-over behind it and completes the renewal request, so a portal
-- acceptance may close the dossier too.
ALTER TABLE acceptances DROP CONSTRAINT acceptances_card_uuid_channel_key;
ALTER TABLE acceptances ADD CONSTRAINT acceptances_card_request_channel
    UNIQUE (card_uuid, card_request_id, channel);
ALTER TABLE acceptances DROP CONSTRAINT acceptances_check1;
ALTER TABLE acceptances ADD CONSTRAINT acceptances_portal_account CHECK (channel <> 2 OR account_id <> '');
-- A card's shipments and PIN mailers, whatever their state (a renewal is
-- told by an earlier request on the same card).
CREATE INDEX shipments_card ON shipments (card_uuid, seq);
