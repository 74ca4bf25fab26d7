-- Operators: the CURVE public keys admitted to act on the bus, with their
-- roles (see services/enrollment/enrollment_operators.c and docs/operators.md).
-- Every row change goes with a row of operator_changes, an audit row and an
-- "operator.*" event, in the same transaction.

-- One row per key. roles is a bit mask: bit r for OperatorRole value r
-- (1..12), as in common/include/tessera/roles.h. A service's own key
-- (service_name set) holds no role. A disabled row stays for the audit
-- trail and is never enabled again; its key can not be registered anew.
CREATE TABLE operators (
    operator_id     text        PRIMARY KEY CHECK (operator_id ~ '^op-[0-9a-f]{16}$'),
    name            text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 128),
    email           text        NOT NULL DEFAULT '' CHECK (char_length(email) <= 128),
    language        text        NOT NULL DEFAULT 'fr' CHECK (language IN ('fr', 'en')),
    public_key      text        NOT NULL UNIQUE CHECK (public_key ~ '^[0-9A-Za-z.:+=^!/*?&<>()\[\]{}@%$#-]{40}$'),
    roles           integer     NOT NULL DEFAULT 0 CHECK (roles & ~8190 = 0),
    disabled        boolean     NOT NULL DEFAULT false,
    disabled_reason text        NOT NULL DEFAULT '',
    service_name    text        NOT NULL DEFAULT ''
                    CHECK (service_name IN ('', 'validation', 'perso', 'mail', 'revocation',
                                            'publisher', 'ca', 'portal')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- The operator_id of the security officer who added it, or 'system'
    -- for a key registered from TSR_ENROLLMENT_BOOTSTRAP_KEYS.
    created_by      text        NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (service_name = '' OR roles = 0)
);
CREATE INDEX operators_roles ON operators (roles) WHERE NOT disabled;

-- The history of each operator's roles, queryable (the audit log holds the
-- same facts, hash-chained). roles_after is the mask after the change.
CREATE TABLE operator_changes (
    change_seq     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operator_id    text        NOT NULL REFERENCES operators,
    change         text        NOT NULL CHECK (change IN ('bootstrapped', 'added', 'role_granted',
                                                          'role_revoked', 'disabled')),
    role           smallint    CHECK (role BETWEEN 1 AND 12),
    roles_after    integer     NOT NULL,
    reason         text        NOT NULL DEFAULT '',
    changed_by     text        NOT NULL,
    changed_by_key text        NOT NULL DEFAULT '',
    changed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operator_changes_operator ON operator_changes (operator_id, change_seq);

-- An operator is never deleted (disabled instead); history is appended,
-- never rewritten.
DO $$
BEGIN
    EXECUTE format('REVOKE DELETE, TRUNCATE ON operators FROM %I',
                   current_setting('tessera.runtime_role'));
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON operator_changes FROM %I',
                   current_setting('tessera.runtime_role'));
END $$;
