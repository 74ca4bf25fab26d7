-- A card request may ask for an encryption certificate too (issue 13): its
-- key is made and escrowed by perso, then imported into the card's 9D slot.
ALTER TABLE card_requests ADD COLUMN use_encryption boolean NOT NULL DEFAULT false;
