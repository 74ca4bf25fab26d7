/*  tsr-probe: drives libtessera's outbox and audit API against a running
    service's schema, as a handler would, for the integration tests.

    tsr-probe audit-append DSN SCHEMA COUNT [ACTOR]
    tsr-probe event DSN SCHEMA TYPE commit|rollback|commit-after|commit-after-fails|
                                    commit-despite-error [SUBJECT]

    tsr-probe at-commit DSN SCHEMA TYPE commit|fails
    tsr-probe message DSN SCHEMA TYPE
    tsr-probe savepoint-lead DSN SCHEMA TYPE

    commit-after ends the transaction with tsr_db_commit_after (one more
    statement and COMMIT in one round trip); commit-after-fails makes that
    statement fail, which must roll the event back and leave the connection
    usable. commit-despite-error runs a failing statement, ignores it and
    commits: tsr_db_commit must answer -1 (PostgreSQL answers that COMMIT
    with ROLLBACK and no error). message appends two TYPE events with tsr_events_append_message,
    one carrying an Event (type "test.inner", seq 7, subject "inner") and
    one with no message, commits, and prints their seqs.

    savepoint-lead runs requests in savepoints as a batch does, each
    appending an event TYPE.<letter> as its "handler": a (a savepoint of
    its own round trip), b (the lead sent with the append), c (the lookup
    finds a row: the append is withheld and undone), d (the statement
    after the lead fails: undone alone), e (the lead sent by itself), then
    commits; then f, and g whose statement cannot even be prepared, which
    must end the whole transaction (f lost) rather than roll back to f's
    savepoint.
*/
#include "tessera/audit.h"
#include "tessera/events.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_fail (tsr_db_t **db, const char *what)
{
    fprintf (stderr, "tsr-probe: %s: %s\n", what, *db ? tsr_db_error (*db) : "");
    if (*db)
        tsr_db_rollback (*db);
    tsr_db_destroy (db);
    return 1;
}

int
main (int argc, char **argv)
{
    if (argc < 5) {
        fprintf (stderr, "usage: tsr-probe audit-append DSN SCHEMA COUNT [ACTOR] | "
                         "event DSN SCHEMA TYPE commit|rollback|commit-after[-fails] [SUBJECT] | "
                         "at-commit DSN SCHEMA TYPE commit|fails | message DSN SCHEMA TYPE\n");
        return 2;
    }
    char err [512];
    tsr_db_t *db = tsr_db_new (argv [2], argv [3], err, sizeof err);
    if (!db) {
        fprintf (stderr, "tsr-probe: %s\n", err);
        return 1;
    }
    if (strcmp (argv [1], "audit-append") == 0) {
        long count = strtol (argv [4], NULL, 10);
        const char *actor = argc > 5 ? argv [5] : "probe";
        for (long i = 0; i < count; i++) {
            char subject [32];
            snprintf (subject, sizeof subject, "probe-%ld", i);
            if (tsr_db_begin (db)
            ||  tsr_audit_append (db, actor, "test.audited", subject, "trace-probe",
                                  "{\"n\":1}")
            ||  tsr_db_commit (db))
                return s_fail (&db, "audit append");
        }
    }
    else
    if (strcmp (argv [1], "at-commit") == 0 && argc >= 6) {
        //  An event and an audit row kept for the commit; the commit, or a
        //  last statement that fails with it ("fails").
        bool fails = strcmp (argv [5], "fails") == 0;
        const char *divisor [] = { fails ? "0" : "1" };
        if (tsr_db_begin (db)
        ||  tsr_events_append_at_commit (db, argv [4], "probe", "trace-probe",
                                         (const uint8_t *) "payload", 7)
        ||  tsr_audit_append_at_commit (db, "probe", argv [4], "probe", "trace-probe", NULL))
            return s_fail (&db, "append at commit");
        int rc = tsr_db_commit_after (db, "SELECT 1 / $1::int", 1, divisor, NULL, NULL);
        if (rc != (fails ? -1 : 0) || tsr_db_in_transaction (db))
            return s_fail (&db, "commit with the kept statements");
        if (tsr_db_ping (db))
            return s_fail (&db, "ping after the commit");
    }
    else
    if (strcmp (argv [1], "message") == 0) {
        //  A type the outbox refuses fails after packing: the packed
        //  buffer must be freed all the same (the sanitizer build checks).
        Tessera__V1__Event inner = TESSERA__V1__EVENT__INIT;
        inner.type = "test.inner";
        inner.seq = 7;
        inner.subject = "inner";
        uint64_t with_message = 0, without = 0;
        if (tsr_db_begin (db)
        ||  tsr_events_append_message (db, "Not A Type", "probe", "trace-probe", &inner.base,
                                       NULL) != -1
        ||  tsr_events_append_message (db, argv [4], "probe", "trace-probe", &inner.base,
                                       &with_message)
        ||  tsr_events_append_message (db, argv [4], "probe", "trace-probe", NULL, &without)
        ||  tsr_db_commit (db))
            return s_fail (&db, "event append with a message");
        printf ("%" PRIu64 " %" PRIu64 "\n", with_message, without);
    }
    else
    if (strcmp (argv [1], "savepoint-lead") == 0) {
        //  The request's "lock" echoes its id; its "lookup" finds a row
        //  when the id is "seen".
        const char *lock = "SELECT $1::text", *lookup = "SELECT 1 WHERE $1::text = 'seen'";
        const char *ids [] = { "a", "b", "seen", "d", "e", "f", "g" };
        char type [64];
        PGresult *res = NULL;
        #define S_APPEND(letter) (snprintf (type, sizeof type, "%s.%s", argv [4], letter), \
            tsr_events_append (db, type, "probe", "trace-probe", (const uint8_t *) "p", 1, NULL))
        //  a: the transaction's first request, its own round trip.
        if (!(res = tsr_db_savepoint_query (db, lock, 1, ids + 0, lookup, 1, ids + 0, 1))
        ||  PQntuples (res) != 0 || S_APPEND ("a"))
            return s_fail (&db, "request a");
        PQclear (res);
        //  b: the lead goes with the append.
        if (tsr_db_savepoint_lead (db, lock, 1, ids + 1, lookup, 1, ids + 1, 1) || S_APPEND ("b")
        ||  !(res = tsr_db_savepoint_led (db)) || PQntuples (res) != 0)
            return s_fail (&db, "request b");
        PQclear (res);
        //  c: answered before; the append is withheld, then undone.
        if (tsr_db_savepoint_lead (db, lock, 1, ids + 2, lookup, 1, ids + 2, 1)
        ||  S_APPEND ("c") != -1 || !tsr_db_savepoint_seen (db)
        ||  !(res = tsr_db_savepoint_led (db)) || PQntuples (res) != 1
        ||  tsr_db_savepoint_seen (db) || tsr_db_savepoint_rollback (db))
            return s_fail (&db, "request c");
        PQclear (res);
        //  d: the handler's statement fails after the lead succeeded.
        const char *zero [] = { "0" };
        if (tsr_db_savepoint_lead (db, lock, 1, ids + 3, lookup, 1, ids + 3, 1))
            return s_fail (&db, "request d");
        res = tsr_db_prepared (db, "SELECT 1 / $1::int", 1, zero);
        if (res || tsr_db_savepoint_seen (db) || !(res = tsr_db_savepoint_led (db))
        ||  PQntuples (res) != 0 || tsr_db_savepoint_rollback (db) || !tsr_db_in_transaction (db))
            return s_fail (&db, "request d");
        PQclear (res);
        //  e: nothing went with the lead; it goes alone, then the append.
        if (tsr_db_savepoint_lead (db, lock, 1, ids + 4, lookup, 1, ids + 4, 1)
        ||  !(res = tsr_db_savepoint_led (db)) || PQntuples (res) != 0 || S_APPEND ("e")
        ||  tsr_db_commit (db))
            return s_fail (&db, "request e");
        PQclear (res);
        //  f, then g whose statement cannot be prepared: the failed PREPARE
        //  aborts the transaction before g's savepoint exists.
        if (!(res = tsr_db_savepoint_query (db, lock, 1, ids + 5, lookup, 1, ids + 5, 1))
        ||  S_APPEND ("f"))
            return s_fail (&db, "request f");
        PQclear (res);
        if (tsr_db_savepoint_lead (db, lock, 1, ids + 6, lookup, 1, ids + 6, 1)
        ||  (res = tsr_db_prepared (db, "SELEC 1", 0, NULL)) != NULL
        ||  tsr_db_in_transaction (db) || tsr_db_savepoint_led (db) != NULL
        ||  tsr_db_commit (db) != -1 || tsr_db_ping (db))
            return s_fail (&db, "request g");
        #undef S_APPEND
    }
    else
    if (strcmp (argv [1], "event") == 0 && argc >= 6) {
        uint64_t seq = 0;
        const char *subject = argc > 6 ? argv [6] : "probe";
        if (tsr_db_begin (db)
        ||  tsr_events_append (db, argv [4], subject, "trace-probe",
                               (const uint8_t *) "payload", 7, &seq))
            return s_fail (&db, "event append");
        if (strcmp (argv [5], "commit") == 0) {
            if (tsr_db_commit (db))
                return s_fail (&db, "commit");
        }
        else
        if (strncmp (argv [5], "commit-after", 12) == 0) {
            bool fails = strcmp (argv [5], "commit-after-fails") == 0;
            const char *divisor [] = { fails ? "0" : "1" };
            int rc = tsr_db_commit_after (db, "SELECT 1 / $1::int", 1, divisor, NULL, NULL);
            if (rc != (fails ? -1 : 0) || tsr_db_in_transaction (db))
                return s_fail (&db, "commit after a statement");
            if (tsr_db_ping (db))
                return s_fail (&db, "ping after commit-after");
        }
        else
        if (strcmp (argv [5], "commit-despite-error") == 0) {
            //  A handler that ignores a failed statement and commits: the
            //  commit must not say it kept anything.
            PGresult *res = tsr_db_query (db, "SELECT 1 / 0", 0, NULL);
            PQclear (res);
            if (res || tsr_db_commit (db) != -1 || tsr_db_in_transaction (db))
                return s_fail (&db, "commit after a failed statement");
            if (tsr_db_ping (db))
                return s_fail (&db, "ping after the failed commit");
        }
        else
            tsr_db_rollback (db);
        printf ("%" PRIu64 "\n", seq);
    }
    else {
        tsr_db_destroy (&db);
        fprintf (stderr, "tsr-probe: unknown command %s\n", argv [1]);
        return 2;
    }
    tsr_db_destroy (&db);
    return 0;
}
