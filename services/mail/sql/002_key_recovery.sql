-- Template 8, KEY_RECOVERY_PASSWORD (perso's key_recovery.password_ready).
ALTER TABLE emails DROP CONSTRAINT emails_template_check;
ALTER TABLE emails ADD CONSTRAINT emails_template_check CHECK (template BETWEEN 1 AND 8);
