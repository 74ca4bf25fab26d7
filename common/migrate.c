/*  tsr_migrate: schema bootstrap and numbered migrations (see migrate.h).

    Role and schema names can not be bound as parameters in DDL, so they are
    checked against a strict pattern and quoted with PQescapeIdentifier; the
    runtime role's password goes through PQescapeLiteral. Every other value
    is a parameter.
*/
#include "tessera/migrate.h"
#include "tessera/log.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    PGconn *conn;
    char *err;
    size_t err_size;
} s_ctx_t;

static int
s_name_valid (const char *name)
{
    size_t len = name ? strlen (name) : 0;
    if (len == 0 || len > 48 || !islower ((unsigned char) name [0]))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!(islower ((unsigned char) name [i]) || isdigit ((unsigned char) name [i])
              || name [i] == '_'))
            return 0;
    return 1;
}

static int
s_fail (s_ctx_t *ctx, const char *what, const char *detail)
{
    snprintf (ctx->err, ctx->err_size, "%s: %s", what, detail ? detail : "");
    size_t len = strlen (ctx->err);
    while (len && (ctx->err [len - 1] == '\n' || ctx->err [len - 1] == ' '))
        ctx->err [--len] = '\0';
    return -1;
}

//  Runs a statement with parameters; returns the result on success.
static PGresult *
s_query (s_ctx_t *ctx, const char *what, const char *sql, int n, const char *const *values)
{
    PGresult *res = PQexecParams (ctx->conn, sql, n, NULL, values, NULL, NULL, 0);
    ExecStatusType status = PQresultStatus (res);
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
        return res;
    s_fail (ctx, what, PQresultErrorMessage (res));
    PQclear (res);
    return NULL;
}

static int
s_exec (s_ctx_t *ctx, const char *what, const char *sql, int n, const char *const *values)
{
    PGresult *res = s_query (ctx, what, sql, n, values);
    PQclear (res);
    return res ? 0 : -1;
}

static int
s_exists (s_ctx_t *ctx, const char *sql, const char *value, int *exists)
{
    const char *values [] = { value };
    PGresult *res = s_query (ctx, "catalog lookup", sql, 1, values);
    if (!res)
        return -1;
    *exists = PQntuples (res) > 0;
    PQclear (res);
    return 0;
}

//  DDL with identifiers: fmt holds %s for each (already quoted) piece. The
//  formats are all constants of this file, chosen among a few statements.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int
s_ddl (s_ctx_t *ctx, const char *what, const char *fmt, const char *a, const char *b)
{
    char sql [1024];
    if (snprintf (sql, sizeof sql, fmt, a, b ? b : "") >= (int) sizeof sql)
        return s_fail (ctx, what, "statement too long");
    return s_exec (ctx, what, sql, 0, NULL);
}
#pragma GCC diagnostic pop

static int
s_bootstrap (s_ctx_t *ctx, const char *schema, const char *role, const char *password)
{
    int rc = -1;
    char owner [64];
    snprintf (owner, sizeof owner, "%s_owner", schema);
    char *q_schema = PQescapeIdentifier (ctx->conn, schema, strlen (schema));
    char *q_owner = PQescapeIdentifier (ctx->conn, owner, strlen (owner));
    char *q_role = PQescapeIdentifier (ctx->conn, role, strlen (role));
    char *q_password = password ? PQescapeLiteral (ctx->conn, password, strlen (password)) : NULL;
    char *q_database = NULL;
    if (!q_schema || !q_owner || !q_role || (password && !q_password)) {
        s_fail (ctx, "quoting names", PQerrorMessage (ctx->conn));
        goto done;
    }
    int exists = 0;
    const char *role_sql = "SELECT 1 FROM pg_roles WHERE rolname = $1";
    if (s_exists (ctx, role_sql, owner, &exists)
    ||  (!exists && s_ddl (ctx, "creating owner role", "CREATE ROLE %s NOLOGIN", q_owner, NULL)))
        goto done;
    if (s_exists (ctx, role_sql, role, &exists))
        goto done;
    char password_clause [512] = "";
    if (q_password)
        snprintf (password_clause, sizeof password_clause, " PASSWORD %s", q_password);
    if (s_ddl (ctx, "creating runtime role",
               exists ? "ALTER ROLE %s LOGIN%s" : "CREATE ROLE %s LOGIN%s",
               q_role, password_clause))
        goto done;
    const char *database = PQdb (ctx->conn);
    q_database = PQescapeIdentifier (ctx->conn, database, strlen (database));
    if (!q_database) {
        s_fail (ctx, "quoting names", PQerrorMessage (ctx->conn));
        goto done;
    }
    if (s_ddl (ctx, "granting connect", "GRANT CONNECT ON DATABASE %s TO %s", q_database, q_role)
    ||  s_ddl (ctx, "granting owner role", "GRANT %s TO CURRENT_USER", q_owner, NULL)
    ||  s_ddl (ctx, "creating schema", "CREATE SCHEMA IF NOT EXISTS %s AUTHORIZATION %s",
               q_schema, q_owner)
    ||  s_ddl (ctx, "revoking public", "REVOKE ALL ON SCHEMA %s FROM PUBLIC", q_schema, NULL)
    ||  s_ddl (ctx, "granting usage", "GRANT USAGE ON SCHEMA %s TO %s", q_schema, q_role)
    ||  s_ddl (ctx, "switching to owner", "SET ROLE %s", q_owner, NULL))
        goto done;
    char privileges [512];
    snprintf (privileges, sizeof privileges,
              "ALTER DEFAULT PRIVILEGES IN SCHEMA %s GRANT SELECT, INSERT, UPDATE, DELETE "
              "ON TABLES TO %%s", q_schema);
    if (s_ddl (ctx, "default table privileges", privileges, q_role, NULL))
        goto done;
    snprintf (privileges, sizeof privileges,
              "ALTER DEFAULT PRIVILEGES IN SCHEMA %s GRANT USAGE, SELECT ON SEQUENCES TO %%s",
              q_schema);
    if (s_ddl (ctx, "default sequence privileges", privileges, q_role, NULL))
        goto done;
    const char *path_values [] = { schema, role };
    if (s_exec (ctx, "setting search path",
                "SELECT set_config('search_path', $1, false), "
                "set_config('tessera.runtime_role', $2, false)", 2, path_values)
    ||  s_exec (ctx, "creating migrations table",
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " component text NOT NULL, version integer NOT NULL, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now(),"
                " PRIMARY KEY (component, version))", 0, NULL))
        goto done;
    rc = 0;
done:
    PQfreemem (q_schema);
    PQfreemem (q_owner);
    PQfreemem (q_role);
    PQfreemem (q_password);
    PQfreemem (q_database);
    return rc;
}

//  Applies one migration if not recorded yet: 1 applied, 0 already there, -1 error.
static int
s_apply_one (s_ctx_t *ctx, const tsr_migration_t *migration)
{
    char version [16];
    snprintf (version, sizeof version, "%d", migration->version);
    const char *key [] = { migration->component, version, migration->name };
    PGresult *res = s_query (ctx, "reading migrations",
                             "SELECT name FROM schema_migrations WHERE component = $1 AND version = $2",
                             2, key);
    if (!res)
        return -1;
    int applied = PQntuples (res) > 0;
    int same_name = applied && strcmp (PQgetvalue (res, 0, 0), migration->name) == 0;
    PQclear (res);
    if (applied) {
        if (!same_name)
            return s_fail (ctx, migration->name,
                           "another migration with this number was applied before");
        return 0;
    }
    if (s_exec (ctx, "begin", "BEGIN", 0, NULL))
        return -1;
    //  Our own SQL, multi-statement: run as a simple query.
    PGresult *applied_res = PQexec (ctx->conn, migration->sql);
    if (PQresultStatus (applied_res) != PGRES_COMMAND_OK
    &&  PQresultStatus (applied_res) != PGRES_TUPLES_OK) {
        s_fail (ctx, migration->name, PQresultErrorMessage (applied_res));
        PQclear (applied_res);
        PQclear (PQexec (ctx->conn, "ROLLBACK"));
        return -1;
    }
    PQclear (applied_res);
    if (s_exec (ctx, "recording migration",
                "INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2, $3)",
                3, key)
    ||  s_exec (ctx, "commit", "COMMIT", 0, NULL)) {
        PQclear (PQexec (ctx->conn, "ROLLBACK"));
        return -1;
    }
    tsr_log_info (NULL, "db.migration_applied", "component", migration->component,
                  "migration", migration->name, NULL);
    return 1;
}

int
tsr_migrate_apply (const char *admin_dsn, const char *schema, const char *runtime_dsn,
                   const tsr_migration_set_t *const *sets, size_t set_count,
                   char *err, size_t err_size)
{
    s_ctx_t ctx = { NULL, err, err_size };
    int applied = -1;
    PQconninfoOption *runtime = NULL;
    if (!s_name_valid (schema)) {
        snprintf (err, err_size, "invalid schema name (lower case letters, digits, _)");
        return -1;
    }
    char *parse_err = NULL;
    runtime = PQconninfoParse (runtime_dsn, &parse_err);
    if (!runtime) {
        s_fail (&ctx, "invalid runtime DSN", parse_err ? parse_err : "out of memory");
        PQfreemem (parse_err);
        return -1;
    }
    const char *role = NULL, *password = NULL;
    for (PQconninfoOption *option = runtime; option->keyword; option++) {
        if (strcmp (option->keyword, "user") == 0)
            role = option->val;
        else
        if (strcmp (option->keyword, "password") == 0)
            password = option->val;
    }
    if (!s_name_valid (role)) {
        s_fail (&ctx, "runtime DSN", "user must be set: lower case letters, digits, _");
        goto done;
    }
    ctx.conn = PQconnectdb (admin_dsn);
    if (PQstatus (ctx.conn) != CONNECTION_OK) {
        s_fail (&ctx, "cannot connect with the admin DSN", PQerrorMessage (ctx.conn));
        goto done;
    }
    if (s_exec (&ctx, "taking the migration lock",
                "SELECT pg_advisory_lock(hashtext('tessera.migrate'))", 0, NULL))
        goto done;
    if (s_bootstrap (&ctx, schema, role, password) == 0) {
        int count = 0;
        const tsr_migration_set_t *all [16] = { &tsr_common_migrations };
        size_t all_count = 1;
        for (size_t i = 0; i < set_count && all_count < 16; i++)
            all [all_count++] = sets [i];
        for (size_t s = 0; s < all_count && count >= 0; s++)
            for (size_t m = 0; m < all [s]->count && count >= 0; m++) {
                int rc = s_apply_one (&ctx, &all [s]->items [m]);
                count = rc < 0 ? -1 : count + rc;
            }
        applied = count;
    }
    PQclear (PQexec (ctx.conn, "RESET ROLE"));
    PQclear (PQexec (ctx.conn, "SELECT pg_advisory_unlock(hashtext('tessera.migrate'))"));
done:
    if (ctx.conn)
        PQfinish (ctx.conn);
    PQconninfoFree (runtime);
    return applied;
}
