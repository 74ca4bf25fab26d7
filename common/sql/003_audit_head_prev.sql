-- The head also keeps the hash it replaced: one UPDATE ... RETURNING then
-- hands an append both links of its row, and the append is one statement
-- (common/audit.c), so the head's lock is taken as late as possible.
ALTER TABLE audit_head ADD COLUMN prev_hash bytea;
