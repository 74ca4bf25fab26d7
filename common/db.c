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

//  Statements sent with the COMMIT (tsr_db_at_commit): their values are
//  copied, back to back, into one buffer each.
#define S_AT_COMMIT_MAX 64
#define S_AT_COMMIT_PARAMS 16

typedef struct {
    const char *sql;
    int param_count;
    char *buffer;
    const char *values [S_AT_COMMIT_PARAMS];
    int lengths [S_AT_COMMIT_PARAMS];
    int formats [S_AT_COMMIT_PARAMS];
} s_deferred_t;

//  A request's savepoint, lock and lookup waiting to go ahead of its first
//  statement (tsr_db_savepoint_lead); values borrowed.
typedef enum { S_LEAD_NONE, S_LEAD_WAITING, S_LEAD_SENT, S_LEAD_FAILED } s_lead_state_t;

typedef struct {
    s_lead_state_t state;
    const char *first_sql;
    int first_count;
    const char *const *first_values;
    const char *sql;
    int param_count;
    const char *const *values;
    int result_format;          //  the lookup's
    PGresult *result;           //  the lookup's, once sent
    bool seen;                  //  a statement's result was withheld
} s_lead_t;

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
    s_deferred_t at_commit [S_AT_COMMIT_MAX];
    int at_commit_count;
    int at_commit_mark;         //  the count when the request's savepoint was set
    s_lead_t lead;
};

static void s_lead_forget (tsr_db_t *self);

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

//  Forgets the statements kept for the commit from the index from on.
static void
s_at_commit_truncate (tsr_db_t *self, int from)
{
    for (int i = from; i < self->at_commit_count; i++)
        free (self->at_commit [i].buffer);
    self->at_commit_count = from;
    if (self->at_commit_mark > from)
        self->at_commit_mark = from;
}

static void
s_at_commit_forget (tsr_db_t *self)
{
    s_at_commit_truncate (self, 0);
}

void
tsr_db_destroy (tsr_db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsr_db_t *self = *self_p;
    s_prepared_forget (self);
    s_at_commit_forget (self);
    s_lead_forget (self);
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

static PGresult *s_lead_send (tsr_db_t *self, bool prepare, const char *sql, int param_count,
                              const char *const *values, const int *lengths,
                              const int *formats, int result_format);

static PGresult *
s_query (tsr_db_t *self, bool prepare, const char *sql, int param_count,
         const char *const *values, const int *lengths, const int *formats,
         int result_format)
{
    if (self->lead.state == S_LEAD_WAITING)
        return s_lead_send (self, prepare, sql, param_count, values, lengths, formats,
                            result_format);
    if (self->lead.state == S_LEAD_FAILED)
        return NULL;            //  the request's savepoint is gone: nothing more runs
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
    s_at_commit_forget (self);
    s_lead_forget (self);
    if (s_command (self, "BEGIN"))
        return -1;
    self->in_transaction = true;
    return 0;
}

int
tsr_db_commit (tsr_db_t *self)
{
    return tsr_db_commit_after (self, NULL, 0, NULL, NULL, NULL);
}

int
tsr_db_at_commit (tsr_db_t *self, const char *sql, int param_count,
                  const char *const *values, const int *lengths, const int *formats)
{
    if (!self->in_transaction || self->at_commit_count == S_AT_COMMIT_MAX
    ||  param_count < 0 || param_count > S_AT_COMMIT_PARAMS) {
        s_set_error (self, "cannot keep a statement for the commit", NULL);
        return -1;
    }
    s_deferred_t *deferred = &self->at_commit [self->at_commit_count];
    size_t size = 0;
    for (int i = 0; i < param_count; i++) {
        bool binary = formats && formats [i];
        deferred->formats [i] = binary ? 1 : 0;
        deferred->lengths [i] = binary ? lengths [i] : 0;
        size += binary ? (size_t) lengths [i] : strlen (values [i]) + 1;
    }
    deferred->buffer = malloc (size ? size : 1);
    if (!deferred->buffer) {
        s_set_error (self, "out of memory", NULL);
        return -1;
    }
    char *cursor = deferred->buffer;
    for (int i = 0; i < param_count; i++) {
        size_t length = deferred->formats [i] ? (size_t) lengths [i] : strlen (values [i]) + 1;
        if (length)
            memcpy (cursor, values [i], length);
        deferred->values [i] = cursor;
        cursor += length;
    }
    deferred->sql = sql;
    deferred->param_count = param_count;
    self->at_commit_count++;
    return 0;
}

//  A statement of a pipeline: fixed SQL kept prepared, or (param_count 0,
//  not prepared) a command such as BEGIN or COMMIT.
typedef struct {
    const char *sql;
    int param_count;
    const char *const *values;
    const int *lengths;
    const int *formats;
    bool prepared;
    int result_format;          //  but the last statement's is s_pipeline's
    PGresult **keep;            //  where to keep its result when it succeeds
    const char *name;           //  filled by s_pipeline
} s_statement_t;

//  One statement's result in a pipeline, and the NULL that ends it. NULL
//  (the error kept) unless it succeeded.
static PGresult *
s_pipeline_result (tsr_db_t *self)
{
    PGresult *res = PQgetResult (self->conn);
    if (!res) {
        if (!*self->error)
            s_set_error (self, PQerrorMessage (self->conn), NULL);
        return NULL;
    }
    PGresult *end = PQgetResult (self->conn);
    PQclear (end);
    ExecStatusType status = PQresultStatus (res);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return res;
    //  A statement after a failed one is only "aborted": keep the first error.
    if (status == PGRES_FATAL_ERROR && !*self->error)
        s_set_error (self, PQresultErrorMessage (res), PQresultErrorField (res, PG_DIAG_SQLSTATE));
    PQclear (res);
    return NULL;
}

//  The statements in order, in one round trip (libpq's pipeline mode).
//  0 when all succeeded, *last (when not NULL) then holding the last one's
//  result; -1 otherwise (the error kept). A statement's keep gets its
//  result when it succeeded, even when a later one failed (the caller
//  PQclears). The connection leaves pipeline mode either way.
static int
s_pipeline (tsr_db_t *self, s_statement_t *statements, int count, int result_format,
            PGresult **last)
{
    //  Preparing is a round trip of its own, done before the pipeline.
    for (int i = 0; i < count; i++) {
        s_statement_t *statement = &statements [i];
        statement->name = statement->prepared
            ? s_prepared_name (self, statement->sql, statement->param_count) : "";
        if (!statement->name)
            return -1;
    }
    if (!PQenterPipelineMode (self->conn)) {
        s_set_error (self, PQerrorMessage (self->conn), NULL);
        return -1;
    }
    bool ok = true;
    for (int i = 0; i < count && ok; i++) {
        s_statement_t *statement = &statements [i];
        int format = i == count - 1 ? result_format : statement->result_format;
        ok = *statement->name
            ? PQsendQueryPrepared (self->conn, statement->name, statement->param_count,
                                   statement->values, statement->lengths, statement->formats,
                                   format)
            : PQsendQueryParams (self->conn, statement->sql, statement->param_count, NULL,
                                 statement->values, statement->lengths, statement->formats,
                                 format);
    }
    ok = ok && PQpipelineSync (self->conn);
    if (!ok)
        s_set_error (self, PQerrorMessage (self->conn), NULL);
    else {
        for (int i = 0; i < count; i++) {
            PGresult *res = s_pipeline_result (self);
            ok = ok && res;
            if (res && statements [i].keep)
                *statements [i].keep = res;
            else
            if (res && last && i == count - 1)
                *last = res;
            else
                PQclear (res);
        }
        PGresult *sync = PQgetResult (self->conn);
        ok = ok && sync && PQresultStatus (sync) == PGRES_PIPELINE_SYNC;
        PQclear (sync);
    }
    PQexitPipelineMode (self->conn);
    if (!ok && last && *last) {
        PQclear (*last);
        *last = NULL;
    }
    return ok ? 0 : -1;
}

//  BEGIN and the statements after it, in one round trip: as any statement
//  outside a transaction, once more on a new connection when the old one
//  is found gone. The last statement's result with the transaction open,
//  or NULL with none.
static PGresult *
s_begin_pipeline (tsr_db_t *self, s_statement_t *statements, int count, int result_format)
{
    s_at_commit_forget (self);
    s_lead_forget (self);
    for (int attempt = 0; attempt < 2; attempt++) {
        self->connection_lost = false;
        self->error [0] = '\0';
        self->sqlstate [0] = '\0';
        if (s_ensure_connected (self))
            return NULL;
        PGresult *res = NULL;
        if (s_pipeline (self, statements, count, result_format, &res) == 0) {
            self->in_transaction = true;
            return res;
        }
        if (PQstatus (self->conn) == CONNECTION_OK) {
            //  BEGIN ran and a statement failed: end the aborted transaction.
            PGresult *rollback = PQexec (self->conn, "ROLLBACK");
            PQclear (rollback);
            return NULL;
        }
        self->connection_lost = true;
    }
    return NULL;
}

PGresult *
tsr_db_begin_query (tsr_db_t *self, const char *first_sql, int first_count,
                    const char *const *first_values, const char *sql, int param_count,
                    const char *const *values, int result_format)
{
    if (self->in_transaction) {
        s_set_error (self, "transaction already open", NULL);
        return NULL;
    }
    s_statement_t statements [] = {
        { .sql = "BEGIN" },
        { .sql = first_sql, .param_count = first_count, .values = first_values, .prepared = true },
        { .sql = sql, .param_count = param_count, .values = values, .prepared = true },
    };
    return s_begin_pipeline (self, statements, 3, result_format);
}

int
tsr_db_commit_after (tsr_db_t *self, const char *sql, int param_count,
                     const char *const *values, const int *lengths, const int *formats)
{
    self->connection_lost = false;
    self->error [0] = '\0';
    self->sqlstate [0] = '\0';
    s_lead_forget (self);
    if (!self->in_transaction) {
        s_at_commit_forget (self);
        s_set_error (self, "no transaction open", NULL);
        return -1;
    }
    self->in_transaction = false;
    if (!self->conn || PQstatus (self->conn) != CONNECTION_OK) {
        s_at_commit_forget (self);
        self->connection_lost = true;
        s_set_error (self, "connection lost inside a transaction", NULL);
        return -1;
    }
    //  The statements kept for the commit, sql (when given), COMMIT.
    s_statement_t statements [S_AT_COMMIT_MAX + 2];
    int count = 0;
    for (int i = 0; i < self->at_commit_count; i++) {
        const s_deferred_t *deferred = &self->at_commit [i];
        statements [count++] = (s_statement_t) {
            .sql = deferred->sql, .param_count = deferred->param_count,
            .values = deferred->values, .lengths = deferred->lengths,
            .formats = deferred->formats, .prepared = true };
    }
    if (sql)
        statements [count++] = (s_statement_t) {
            .sql = sql, .param_count = param_count, .values = values, .lengths = lengths,
            .formats = formats, .prepared = true };
    statements [count++] = (s_statement_t) { .sql = "COMMIT" };
    PGresult *end = NULL;
    int rc = s_pipeline (self, statements, count, 0, &end);
    s_at_commit_forget (self);
    //  PostgreSQL answers COMMIT with ROLLBACK, and no error, when an
    //  earlier statement of the transaction failed.
    bool committed = rc == 0 && end && strcmp (PQcmdStatus (end), "COMMIT") == 0;
    PQclear (end);
    if (committed)
        return 0;
    if (rc == 0) {
        s_set_error (self, "the transaction had failed and was rolled back", NULL);
        return -1;
    }
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

//  Ends a request's savepoint after a failure: its statements, and what it
//  kept for the commit, are undone and the transaction goes on; 0. When
//  that cannot be done (the connection or the savepoint is gone), the whole
//  transaction is rolled back; -1. The first error is kept.
static int
s_savepoint_undo (tsr_db_t *self)
{
    s_at_commit_truncate (self, self->at_commit_mark);
    if (self->conn && PQstatus (self->conn) == CONNECTION_OK) {
        PGresult *res = PQexec (self->conn,
                                "ROLLBACK TO SAVEPOINT tsr_request; RELEASE SAVEPOINT tsr_request");
        bool undone = PQresultStatus (res) == PGRES_COMMAND_OK;
        PQclear (res);
        if (undone)
            return 0;
    }
    else
        self->connection_lost = true;
    tsr_db_rollback (self);
    return -1;
}

PGresult *
tsr_db_savepoint_query (tsr_db_t *self, const char *first_sql, int first_count,
                        const char *const *first_values, const char *sql, int param_count,
                        const char *const *values, int result_format)
{
    s_lead_forget (self);
    s_statement_t statements [] = {
        { .sql = "BEGIN" },
        { .sql = "SAVEPOINT tsr_request" },
        { .sql = first_sql, .param_count = first_count, .values = first_values, .prepared = true },
        { .sql = sql, .param_count = param_count, .values = values, .prepared = true },
    };
    if (!self->in_transaction) {
        self->at_commit_mark = 0;
        return s_begin_pipeline (self, statements, 4, result_format);
    }
    //  In the open transaction: the lead, sent alone.
    tsr_db_savepoint_lead (self, first_sql, first_count, first_values, sql, param_count, values,
                           result_format);
    return tsr_db_savepoint_led (self);
}

//  Forgets the lead, its lookup's result included.
static void
s_lead_forget (tsr_db_t *self)
{
    PQclear (self->lead.result);
    self->lead = (s_lead_t) { .state = S_LEAD_NONE };
}

int
tsr_db_savepoint_lead (tsr_db_t *self, const char *first_sql, int first_count,
                       const char *const *first_values, const char *sql, int param_count,
                       const char *const *values, int result_format)
{
    s_lead_forget (self);
    if (!self->in_transaction)
        return -1;
    self->lead = (s_lead_t) {
        .state = S_LEAD_WAITING, .first_sql = first_sql, .first_count = first_count,
        .first_values = first_values, .sql = sql, .param_count = param_count,
        .values = values, .result_format = result_format };
    self->at_commit_mark = self->at_commit_count;
    return 0;
}

//  The lead, then (sql not NULL) the request's first statement, in one
//  round trip; the statement's result, or NULL (always NULL without sql).
//  When the lead fails, the request's savepoint is undone (or, when it
//  was never set, the whole transaction rolled back).
static PGresult *
s_lead_send (tsr_db_t *self, bool prepare, const char *sql, int param_count,
             const char *const *values, const int *lengths, const int *formats,
             int result_format)
{
    s_lead_t *lead = &self->lead;
    self->connection_lost = false;
    self->error [0] = '\0';
    self->sqlstate [0] = '\0';
    PGresult *set = NULL, *found = NULL, *res = NULL;
    s_statement_t statements [] = {
        { .sql = "SAVEPOINT tsr_request", .keep = &set },
        { .sql = lead->first_sql, .param_count = lead->first_count, .values = lead->first_values,
          .prepared = true },
        { .sql = lead->sql, .param_count = lead->param_count, .values = lead->values,
          .prepared = true, .result_format = lead->result_format, .keep = &found },
        { .sql = sql, .param_count = param_count, .values = values, .lengths = lengths,
          .formats = formats, .prepared = prepare, .keep = &res },
    };
    int count = sql ? 4 : 3;
    //  Anything that fails before this request's savepoint is set (the
    //  connection, preparing a statement, which aborts the transaction,
    //  the SAVEPOINT itself) ends the transaction: rolling back to
    //  "tsr_request" would undo the previous request's savepoint instead.
    bool named = self->conn && PQstatus (self->conn) == CONNECTION_OK;
    for (int i = 0; i < count && named; i++)
        named = !statements [i].prepared
             || s_prepared_name (self, statements [i].sql, statements [i].param_count);
    if (!named) {
        if (!*self->error)
            s_set_error (self, "connection lost inside a transaction", NULL);
        self->connection_lost = !self->conn || PQstatus (self->conn) != CONNECTION_OK;
        lead->state = S_LEAD_FAILED;
        tsr_db_rollback (self);
        return NULL;
    }
    int rc = s_pipeline (self, statements, count, sql ? result_format : lead->result_format,
                         NULL);
    if (rc && PQstatus (self->conn) != CONNECTION_OK)
        self->connection_lost = true;
    bool savepoint_set = set != NULL;
    PQclear (set);
    if (!found) {
        PQclear (res);
        lead->state = S_LEAD_FAILED;
        if (savepoint_set)
            s_savepoint_undo (self);
        else
            tsr_db_rollback (self);
        return NULL;
    }
    lead->state = S_LEAD_SENT;
    lead->result = found;
    if (sql && PQntuples (found) > 0) {
        //  Answered before: the caller replays that answer, and the
        //  handler is stopped at its first statement.
        PQclear (res);
        lead->seen = true;
        s_set_error (self, "the request id was answered before", NULL);
        return NULL;
    }
    if (rc) {
        PQclear (res);
        return NULL;
    }
    return res;
}

PGresult *
tsr_db_savepoint_led (tsr_db_t *self)
{
    if (self->lead.state == S_LEAD_WAITING)
        s_lead_send (self, false, NULL, 0, NULL, NULL, NULL, 0);
    PGresult *res = self->lead.state == S_LEAD_SENT ? self->lead.result : NULL;
    self->lead.result = NULL;
    s_lead_forget (self);
    return res;
}

bool
tsr_db_savepoint_seen (tsr_db_t *self)
{
    return self->lead.seen;
}

int
tsr_db_savepoint_rollback (tsr_db_t *self)
{
    if (!self->in_transaction) {
        s_at_commit_forget (self);
        return -1;
    }
    return s_savepoint_undo (self);
}

int
tsr_db_at_commit_room (tsr_db_t *self)
{
    return S_AT_COMMIT_MAX - self->at_commit_count;
}

void
tsr_db_rollback (tsr_db_t *self)
{
    s_at_commit_forget (self);
    if (self->lead.state != S_LEAD_FAILED)
        s_lead_forget (self);
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
