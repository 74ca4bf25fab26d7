/*  tsr_db: one PostgreSQL connection (libpq) bound to one service schema.

    Parameters only: every value goes through $n placeholders, never into
    the SQL text. A lost connection is re-established before the next
    statement when no transaction is open; inside a transaction the
    statement fails and the caller rolls back (the bus answers UNAVAILABLE
    and the client's retry, with the same request id, is safe).
    Not thread-safe: one tsr_db_t per thread.

        tsr_db_t *db = tsr_db_new (dsn, "ca", err, sizeof err);
        tsr_db_begin (db);
        const char *values [] = { serial_hex };
        PGresult *res = tsr_db_query (db, "SELECT ... WHERE serial = $1", 1, values);
        ...
        PQclear (res);
        tsr_db_commit (db);
*/
#ifndef TSR_DB_H
#define TSR_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct _tsr_db_t tsr_db_t;

//  Connects and sets search_path to schema. NULL with the reason in err.
tsr_db_t *tsr_db_new (const char *dsn, const char *schema, char *err, size_t err_size);
void tsr_db_destroy (tsr_db_t **self_p);

int tsr_db_begin (tsr_db_t *self);
//  BEGIN, a first statement (a lock, say; its result ignored) and a query,
//  in one round trip (libpq's pipeline mode; both statements kept
//  prepared, as tsr_db_prepared_ex). Each statement still takes its own
//  snapshot when it starts, so the query sees what committed while the
//  first one waited. Returns the query's result with the transaction open,
//  or NULL with none (see tsr_db_error).
PGresult *tsr_db_begin_query (tsr_db_t *self, const char *first_sql, int first_count,
                              const char *const *first_values, const char *sql,
                              int param_count, const char *const *values, int result_format);
//  Sends the statements kept by tsr_db_at_commit with the COMMIT.
int tsr_db_commit (tsr_db_t *self);
//  Runs the statements kept by tsr_db_at_commit, one more statement (sql,
//  kept prepared as tsr_db_prepared_ex; NULL for none; results ignored) and
//  COMMIT in one round trip (libpq's pipeline mode). 0 when all succeeded;
//  otherwise the transaction is rolled back and -1 (see tsr_db_error).
int tsr_db_commit_after (tsr_db_t *self, const char *sql, int param_count,
                         const char *const *values, const int *lengths, const int *formats);
//  Keeps a statement (fixed SQL that outlives the transaction, a constant;
//  at most 16 parameters, their values copied now) to be sent with the
//  COMMIT, in the order kept: a statement that locks a row every
//  transaction of its kind waits for (an audit row, an outbox event) then
//  holds it only through the commit. Its failure rolls the transaction
//  back at commit. At most 64 per transaction; a rollback forgets them.
//  0, or -1 (see tsr_db_error).
int tsr_db_at_commit (tsr_db_t *self, const char *sql, int param_count,
                      const char *const *values, const int *lengths, const int *formats);
//  Savepoints, for several requests in one transaction (tsr_bus's batched
//  methods), each undone alone when it fails.
//  Like tsr_db_begin_query, in a savepoint of the request's own: opens the
//  transaction when none is open, else goes on in the open one (the
//  savepoint nests in the previous request's, left open: releasing it
//  would cost a round trip). On failure NULL, the request's statements
//  undone; the transaction is still open unless the connection was lost
//  (see tsr_db_in_transaction). At most 16 or so per transaction: each is
//  a subtransaction.
PGresult *tsr_db_savepoint_query (tsr_db_t *self, const char *first_sql, int first_count,
                                  const char *const *first_values, const char *sql,
                                  int param_count, const char *const *values,
                                  int result_format);
//  The same savepoint, lock and lookup, sent ahead of the request's first
//  statement, in its round trip, rather than in one of their own. Only in
//  an open transaction (else -1: use tsr_db_savepoint_query); result_format
//  is the lookup's. The statements and values are borrowed until
//  tsr_db_savepoint_led. When
//  the lookup finds a row, that first statement's result is withheld: it
//  returns NULL and tsr_db_savepoint_seen is true, so that the handler
//  stops before doing more. A caller of tsr_db_conn must call
//  tsr_db_savepoint_led first.
int tsr_db_savepoint_lead (tsr_db_t *self, const char *first_sql, int first_count,
                           const char *const *first_values, const char *sql,
                           int param_count, const char *const *values, int result_format);
//  The lookup's result (caller PQclears), sending the lead now if no
//  statement took it along. NULL as for tsr_db_savepoint_query: the
//  request's statements undone, or the transaction lost.
PGresult *tsr_db_savepoint_led (tsr_db_t *self);
//  Whether a statement's result was withheld because the lead's lookup
//  found a row.
bool tsr_db_savepoint_seen (tsr_db_t *self);
//  Undoes the request's statements and what it kept for the commit. 0, or
//  -1 when the whole transaction had to be rolled back.
int tsr_db_savepoint_rollback (tsr_db_t *self);
//  How many more statements tsr_db_at_commit can keep in this transaction.
int tsr_db_at_commit_room (tsr_db_t *self);
//  Safe to call when no transaction is open.
void tsr_db_rollback (tsr_db_t *self);
bool tsr_db_in_transaction (tsr_db_t *self);

//  Text parameters and text results. Returns the result (caller PQclears)
//  when the statement succeeded, NULL otherwise (see tsr_db_error).
PGresult *tsr_db_query (tsr_db_t *self, const char *sql, int param_count,
                        const char *const *values);
//  Full form: lengths/formats per parameter (format 1 = binary, for bytea),
//  result_format 1 for binary results.
PGresult *tsr_db_query_ex (tsr_db_t *self, const char *sql, int param_count,
                           const char *const *values, const int *lengths,
                           const int *formats, int result_format);

//  The same, for the hot paths' fixed SQL: prepared on the connection the
//  first time (parsed and planned once, not at every call), then executed
//  by name. At most 64 statements per connection are kept; more run
//  unnamed. Never for SQL text built at run time.
PGresult *tsr_db_prepared (tsr_db_t *self, const char *sql, int param_count,
                           const char *const *values);
PGresult *tsr_db_prepared_ex (tsr_db_t *self, const char *sql, int param_count,
                              const char *const *values, const int *lengths,
                              const int *formats, int result_format);

//  The last error, one line; "" when none.
const char *tsr_db_error (tsr_db_t *self);
//  The SQLSTATE of the last error ("23505" unique violation ...), or "".
const char *tsr_db_sqlstate (tsr_db_t *self);
//  True when the last failure was the connection, not the statement.
bool tsr_db_connection_lost (tsr_db_t *self);
//  Round trip to the server (reconnecting if needed): 0 when it answers.
int tsr_db_ping (tsr_db_t *self);
//  How many times a connection was (re)established: LISTEN/NOTIFY users
//  compare it to know when to LISTEN again.
unsigned tsr_db_generation (tsr_db_t *self);
//  For LISTEN/NOTIFY users: the underlying connection (borrowed).
PGconn *tsr_db_conn (tsr_db_t *self);
const char *tsr_db_schema (tsr_db_t *self);

#endif
