-- Role 13, recovery-officer (issue 13: escrowed key recovery, four eyes):
-- the roles mask may now hold bits 1..13.
ALTER TABLE operators DROP CONSTRAINT operators_roles_check;
ALTER TABLE operators ADD CONSTRAINT operators_roles_check CHECK (roles & ~16382 = 0);
ALTER TABLE operator_changes DROP CONSTRAINT operator_changes_role_check;
ALTER TABLE operator_changes ADD CONSTRAINT operator_changes_role_check
    CHECK (role BETWEEN 1 AND 13);
