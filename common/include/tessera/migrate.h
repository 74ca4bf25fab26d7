/*  tsr_migrate: numbered SQL migrations, one schema and two roles per service.

    Each component (common, then the service itself) keeps NNN_name.sql
    files, embedded in the binary at build time. tsr_migrate_apply runs with
    an administrator's connection (TSR_DB_ADMIN_DSN) under one advisory lock,
    so replicas starting together apply each migration once:
      - creates the schema's owner role <schema>_owner (NOLOGIN) and the
        runtime login role named in the runtime DSN (its password kept in
        step with that DSN), the schema owned by the owner role, PUBLIC
        revoked, the runtime role granted USAGE on its own schema only and
        DML on the tables by default privileges;
      - applies, as the owner role, each migration not yet recorded in
        <schema>.schema_migrations, each in its own transaction.
    Migrations read the runtime role's name from the setting
    tessera.runtime_role (to narrow its grants, e.g. INSERT only on the audit
    table).
*/
#ifndef TSR_MIGRATE_H
#define TSR_MIGRATE_H

#include <stddef.h>

typedef struct {
    const char *component;
    int version;
    const char *name;
    const char *sql;
    size_t sql_len;
} tsr_migration_t;

typedef struct {
    const char *component;
    const tsr_migration_t *items;
    size_t count;
} tsr_migration_set_t;

//  The tables every service schema holds (request store, outbox, audit).
extern const tsr_migration_set_t tsr_common_migrations;

//  Applies tsr_common_migrations then each of sets. Returns the number of
//  migrations applied (0 when up to date), or -1 with the reason in err.
int tsr_migrate_apply (const char *admin_dsn, const char *schema, const char *runtime_dsn,
                       const tsr_migration_set_t *const *sets, size_t set_count,
                       char *err, size_t err_size);

#endif
