/*  tsr-probe: drives libtessera's outbox and audit API against a running
    service's schema, as a handler would, for the integration tests.

    tsr-probe audit-append DSN SCHEMA COUNT [ACTOR]
    tsr-probe event DSN SCHEMA TYPE commit|rollback|commit-after|commit-after-fails|
                                    commit-despite-error [SUBJECT]

    tsr-probe at-commit DSN SCHEMA TYPE commit|fails
    tsr-probe message DSN SCHEMA TYPE

    commit-after ends the transaction with tsr_db_commit_after (one more
    statement and COMMIT in one round trip); commit-after-fails makes that
    statement fail, which must roll the event back and leave the connection
    usable. commit-despite-error runs a failing statement, ignores it and
    commits: tsr_db_commit must answer -1 (PostgreSQL answers that COMMIT
    with ROLLBACK and no error). message appends two TYPE events with tsr_events_append_message,
    one carrying an Event (type "test.inner", seq 7, subject "inner") and
    one with no message, commits, and prints their seqs.
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
