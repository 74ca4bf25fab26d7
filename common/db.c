/*  tsr_db: libpq connection with reconnect and parameterised statements
    (see db.h).
*/
#include "tessera/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Statements kept prepared on the connection (tsr_db_prepared_ex): the
//  hot paths' fixed SQL is parsed and planned once per connection, not at
//  every execution.
#define S_PREPARED_MAX 64

typedef struct {
    char *sql;                  //  our copy, compared on every lookup
    char name [16];
} s_prepared_t;

struct _tsr_db_t {
    PGconn *conn;
    char *dsn;
    char schema [64];
    bool in_transaction;
    bool connection_lost;
    unsigned generation;
    char error [512];
    char sqlstate [8];
    s_prepared_t prepared [S_PREPARED_MAX];
    size_t prepared_count;
    unsigned prepared_generation;   //  the connection they were prepared on
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

static void
s_prepared_forget (tsr_db_t *self)
{
    for (size_t i = 0; i < self->prepared_count; i++)
        free (self->prepared [i].sql);
    self->prepared_count = 0;
}

void
tsr_db_destroy (tsr_db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsr_db_t *self = *self_p;
    s_prepared_forget (self);
    if (self->conn)
        PQfinish (self->conn);
    free (self->dsn);
    free (self);
    *self_p = NULL;
}

//  The name sql is prepared under on this connection, preparing it on
//  first use; "" to run it unnamed (the cache is full), NULL on error.
//  A statement prepared by the protocol outlives the transaction it was
//  prepared in (a rollback does not drop it); a new connection has none.
static const char *
s_prepared_name (tsr_db_t *self, const char *sql, int param_count)
{
    if (self->prepared_generation != self->generation) {
        s_prepared_forget (self);
        self->prepared_generation = self->generation;
    }
    for (size_t i = 0; i < self->prepared_count; i++)
        if (strcmp (self->prepared [i].sql, sql) == 0)
            return self->prepared [i].name;
    if (self->prepared_count == S_PREPARED_MAX)
        return "";
    s_prepared_t *entry = &self->prepared [self->prepared_count];
    entry->sql = strdup (sql);
    if (!entry->sql)
        return "";
    snprintf (entry->name, sizeof entry->name, "tsr_%zu", self->prepared_count);
    PGresult *res = PQprepare (self->conn, entry->name, sql, param_count, NULL);
    if (PQresultStatus (res) != PGRES_COMMAND_OK) {
        s_set_error (self, res ? PQresultErrorMessage (res) : PQerrorMessage (self->conn),
                     res ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : NULL);
        PQclear (res);
        free (entry->sql);
        entry->sql = NULL;
        return NULL;
    }
    PQclear (res);
    self->prepared_count++;
    return entry->name;
}

static PGresult *
s_query (tsr_db_t *self, bool prepare, const char *sql, int param_count,
         const char *const *values, const int *lengths, const int *formats,
         int result_format)
{
    self->connection_lost = false;
    self->error [0] = '\0';
    self->sqlstate [0] = '\0';
    for (int attempt = 0; attempt < 2; attempt++) {
        if (s_ensure_connected (self))
            return NULL;
        const char *name = prepare ? s_prepared_name (self, sql, param_count) : "";
        PGresult *res = NULL;
        if (!name)
            ;   //  the error is set; the connection is checked below
        else
        if (*name)
            res = PQexecPrepared (self->conn, name, param_count, values, lengths, formats,
                                  result_format);
        else
            res = PQexecParams (self->conn, sql, param_count, NULL, values, lengths, formats,
                                result_format);
        if (!name) {
            if (PQstatus (self->conn) == CONNECTION_OK)
                return NULL;
            self->connection_lost = true;
            if (self->in_transaction)
                return NULL;
            continue;
        }
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
tsr_db_query_ex (tsr_db_t *self, const char *sql, int param_count,
                 const char *const *values, const int *lengths,
                 const int *formats, int result_format)
{
    return s_query (self, false, sql, param_count, values, lengths, formats, result_format);
}

PGresult *
tsr_db_query (tsr_db_t *self, const char *sql, int param_count, const char *const *values)
{
    return s_query (self, false, sql, param_count, values, NULL, NULL, 0);
}

PGresult *
tsr_db_prepared_ex (tsr_db_t *self, const char *sql, int param_count,
                    const char *const *values, const int *lengths,
                    const int *formats, int result_format)
{
    return s_query (self, true, sql, param_count, values, lengths, formats, result_format);
}

PGresult *
tsr_db_prepared (tsr_db_t *self, const char *sql, int param_count, const char *const *values)
{
    return s_query (self, true, sql, param_count, values, NULL, NULL, 0);
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

//  One result of a pipeline: its status (PGRES_FATAL_ERROR when the
//  connection gave none), the error kept; the NULL that ends a statement's
//  results is read too.
static ExecStatusType
s_pipeline_result (tsr_db_t *self, bool ends_statement)
{
    PGresult *res = PQgetResult (self->conn);
    ExecStatusType status = res ? PQresultStatus (res) : PGRES_FATAL_ERROR;
    if (status == PGRES_FATAL_ERROR && !*self->error)
        s_set_error (self, res ? PQresultErrorMessage (res) : PQerrorMessage (self->conn),
                     res ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : NULL);
    PQclear (res);
    if (res && ends_statement) {
        PGresult *end = PQgetResult (self->conn);
        PQclear (end);
    }
    return status;
}

//  before (a command without parameters, or NULL), sql (kept prepared)
//  and after (the same as before) in one round trip, in libpq's pipeline
//  mode. 0 when all succeeded; -1 otherwise (the error kept), the
//  connection out of pipeline mode either way.
static int
s_pipeline (tsr_db_t *self, const char *before, const char *sql, int param_count,
            const char *const *values, const int *lengths, const int *formats,
            const char *after)
{
    const char *name = s_prepared_name (self, sql, param_count);
    if (!name || !PQenterPipelineMode (self->conn)) {
        if (name)
            s_set_error (self, PQerrorMessage (self->conn), NULL);
        return -1;
    }
    bool sent = (!before || PQsendQueryParams (self->conn, before, 0, NULL, NULL, NULL, NULL, 0))
        && (*name ? PQsendQueryPrepared (self->conn, name, param_count, values, lengths,
                                         formats, 0)
                  : PQsendQueryParams (self->conn, sql, param_count, NULL, values, lengths,
                                       formats, 0))
        && (!after || PQsendQueryParams (self->conn, after, 0, NULL, NULL, NULL, NULL, 0))
        && PQpipelineSync (self->conn);
    bool ok = sent;
    if (!sent)
        s_set_error (self, PQerrorMessage (self->conn), NULL);
    else {
        int statements = 1 + (before != NULL) + (after != NULL);
        for (int i = 0; i < statements; i++) {
            ExecStatusType status = s_pipeline_result (self, true);
            ok = ok && (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK);
        }
        ok = s_pipeline_result (self, false) == PGRES_PIPELINE_SYNC && ok;
    }
    PQexitPipelineMode (self->conn);
    return ok ? 0 : -1;
}

int
tsr_db_begin_with (tsr_db_t *self, const char *sql, int param_count,
                   const char *const *values)
{
    if (self->in_transaction) {
        s_set_error (self, "transaction already open", NULL);
        return -1;
    }
    //  As any statement outside a transaction: once more on a new
    //  connection when the old one is found gone.
    for (int attempt = 0; attempt < 2; attempt++) {
        self->connection_lost = false;
        self->error [0] = '\0';
        self->sqlstate [0] = '\0';
        if (s_ensure_connected (self))
            return -1;
        if (s_pipeline (self, "BEGIN", sql, param_count, values, NULL, NULL, NULL) == 0) {
            self->in_transaction = true;
            return 0;
        }
        if (PQstatus (self->conn) == CONNECTION_OK) {
            //  BEGIN ran and the statement failed: end the aborted transaction.
            PGresult *res = PQexec (self->conn, "ROLLBACK");
            PQclear (res);
            return -1;
        }
        self->connection_lost = true;
    }
    return -1;
}

int
tsr_db_commit_after (tsr_db_t *self, const char *sql, int param_count,
                     const char *const *values, const int *lengths, const int *formats)
{
    self->connection_lost = false;
    self->error [0] = '\0';
    self->sqlstate [0] = '\0';
    if (!self->in_transaction) {
        s_set_error (self, "no transaction open", NULL);
        return -1;
    }
    self->in_transaction = false;
    if (!self->conn || PQstatus (self->conn) != CONNECTION_OK) {
        self->connection_lost = true;
        s_set_error (self, "connection lost inside a transaction", NULL);
        return -1;
    }
    if (s_pipeline (self, NULL, sql, param_count, values, lengths, formats, "COMMIT") == 0)
        return 0;
    //  The statement failed (the COMMIT was skipped, the transaction is
    //  aborted) or the connection went away: end it either way.
    if (PQstatus (self->conn) == CONNECTION_OK) {
        PGresult *res = PQexec (self->conn, "ROLLBACK");
        PQclear (res);
    }
    else
        self->connection_lost = true;
    return -1;
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
