-- Renewal and replacement (docs/enrollment.md, "Renewal and replacement").
-- A request is NEW (1), RENEWAL (2) or REPLACEMENT (3); the last two name
-- the request they renew or replace (the same person's), a replacement its
-- reason (1 lost, 2 stolen, 3 damaged). dossier_reused: the request is
-- justified by the previous request's dossier, still valid, without new
-- documents.
ALTER TABLE card_requests
    ADD COLUMN kind smallint NOT NULL DEFAULT 1 CHECK (kind BETWEEN 1 AND 3),
    ADD COLUMN previous_card_request_id text REFERENCES card_requests,
    ADD COLUMN replacement_reason smallint NOT NULL DEFAULT 0 CHECK (replacement_reason BETWEEN 0 AND 3),
    ADD COLUMN dossier_reused boolean NOT NULL DEFAULT false,
    ADD CHECK ((kind = 1) = (previous_card_request_id IS NULL)),
    ADD CHECK ((kind = 3) = (replacement_reason <> 0)),
    ADD CHECK (kind <> 1 OR NOT dossier_reused);
-- A request is renewed or replaced by one live request at a time.
CREATE UNIQUE INDEX card_requests_one_successor ON card_requests (previous_card_request_id)
    WHERE previous_card_request_id IS NOT NULL AND state NOT IN (4, 5);
