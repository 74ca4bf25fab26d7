/*  tsr_db: libpq connection with reconnect and parameterised statements
    (see db.h).
*/
#include "tessera/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _tsr_db_t {
    PGconn *conn;
    char *dsn;
    char schema [64];
    bool in_transaction;
    bool connection_lost;
    unsigned generation;
    char error [512];
    char sqlstate [8];
};

static void
s_set_error (tsr_db_t *self, const char *text, const char *sqlstate)
{
    snprintf (self->error, sizeof self->error, "%s", text ? text : "unknown database error");
    //  libpq messages end with a newline; keep log lines one line.
    for (char *p = self->error; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    size_t len = strlen (self->error);
    while (len && self->error [len - 1] == ' ')
        self->error [--len] = '\0';
    snprintf (self->sqlstate, sizeof self->sqlstate, "%s", sqlstate ? sqlstate : "");
}

static int
s_set_search_path (tsr_db_t *self)
{
    const char *values [] = { self->schema };
    PGresult *res = PQexecParams (self->conn, "SELECT set_config('search_path', $1, false)",
                                  1, NULL, values, NULL, NULL, 0);
    int rc = PQresultStatus (res) == PGRES_TUPLES_OK ? 0 : -1;
    if (rc)
        s_set_error (self, PQerrorMessage (self->conn), NULL);
    PQclear (res);
    return rc;
}

static int
s_ensure_connected (tsr_db_t *self)
{
    if (self->conn && PQstatus (self->conn) == CONNECTION_OK)
        return 0;
    if (self->in_transaction) {
        self->connection_lost = true;
        s_set_error (self, "connection lost inside a transaction", NULL);
        return -1;
    }
    if (self->conn)
        PQreset (self->conn);
    else
        self->conn = PQconnectdb (self->dsn);
    if (!self->conn || PQstatus (self->conn) != CONNECTION_OK) {
        self->connection_lost = true;
        s_set_error (self, self->conn ? PQerrorMessage (self->conn) : "out of memory", NULL);
        return -1;
    }
    self->generation++;
    return s_set_search_path (self);
}

tsr_db_t *
tsr_db_new (const char *dsn, const char *schema, char *err, size_t err_size)
{
    tsr_db_t *self = calloc (1, sizeof *self);
    if (!self || !(self->dsn = strdup (dsn))) {
        free (self);
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    snprintf (self->schema, sizeof self->schema, "%s", schema ? schema : "public");
    if (s_ensure_connected (self)) {
        snprintf (err, err_size, "cannot connect to the database: %s", self->error);
        tsr_db_destroy (&self);
    }
    return self;
}

void
tsr_db_destroy (tsr_db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsr_db_t *self = *self_p;
    if (self->conn)
        PQfinish (self->conn);
    free (self->dsn);
    free (self);
    *self_p = NULL;
}

PGresult *
tsr_db_query_ex (tsr_db_t *self, const char *sql, int param_count,
                 const char *const *values, const int *lengths,
                 const int *formats, int result_format)
{
    self->connection_lost = false;
    self->error [0] = '\0';
    self->sqlstate [0] = '\0';
    for (int attempt = 0; attempt < 2; attempt++) {
        if (s_ensure_connected (self))
            return NULL;
        PGresult *res = PQexecParams (self->conn, sql, param_count, NULL, values,
                                      lengths, formats, result_format);
        ExecStatusType status = PQresultStatus (res);
        if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
            return res;
        s_set_error (self, res ? PQresultErrorMessage (res) : PQerrorMessage (self->conn),
                     res ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : NULL);
        PQclear (res);
        if (PQstatus (self->conn) == CONNECTION_OK)
            return NULL;
        //  The connection went away: retry once only outside a transaction,
        //  where the statement had no effect that could be repeated.
        self->connection_lost = true;
        if (self->in_transaction)
            return NULL;
    }
    return NULL;
}

PGresult *
tsr_db_query (tsr_db_t *self, const char *sql, int param_count, const char *const *values)
{
    return tsr_db_query_ex (self, sql, param_count, values, NULL, NULL, 0);
}

static int
s_command (tsr_db_t *self, const char *sql)
{
    PGresult *res = tsr_db_query (self, sql, 0, NULL);
    PQclear (res);
    return res ? 0 : -1;
}

int
tsr_db_begin (tsr_db_t *self)
{
    if (self->in_transaction) {
        s_set_error (self, "transaction already open", NULL);
        return -1;
    }
    if (s_command (self, "BEGIN"))
        return -1;
    self->in_transaction = true;
    return 0;
}

int
tsr_db_commit (tsr_db_t *self)
{
    int rc = s_command (self, "COMMIT");
    self->in_transaction = false;
    return rc;
}

void
tsr_db_rollback (tsr_db_t *self)
{
    if (!self->in_transaction)
        return;
    if (self->conn && PQstatus (self->conn) == CONNECTION_OK) {
        PGresult *res = PQexec (self->conn, "ROLLBACK");
        PQclear (res);
    }
    self->in_transaction = false;
}

bool
tsr_db_in_transaction (tsr_db_t *self)
{
    return self->in_transaction;
}

const char *
tsr_db_error (tsr_db_t *self)
{
    return self->error;
}

const char *
tsr_db_sqlstate (tsr_db_t *self)
{
    return self->sqlstate;
}

bool
tsr_db_connection_lost (tsr_db_t *self)
{
    return self->connection_lost;
}

int
tsr_db_ping (tsr_db_t *self)
{
    if (self->in_transaction)
        return 0;
    return s_command (self, "SELECT 1");
}

unsigned
tsr_db_generation (tsr_db_t *self)
{
    return self->generation;
}

PGconn *
tsr_db_conn (tsr_db_t *self)
{
    return self->conn;
}

const char *
tsr_db_schema (tsr_db_t *self)
{
    return self->schema;
}
