-- Encryption certificates (use 5, CertificateUse ENCRYPTION in ca.proto):
-- keys generated off-card by perso and escrowed before they are certified.
ALTER TABLE certificates DROP CONSTRAINT certificates_use_check;
ALTER TABLE certificates ADD CONSTRAINT certificates_use_check CHECK (use BETWEEN 1 AND 5);
ALTER TABLE certificates ADD COLUMN key_escrowed boolean NOT NULL DEFAULT false;
