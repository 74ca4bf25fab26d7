/*  revocation_timer: retries and gauges (see revocation_timer.h).
*/
#include "revocation_timer.h"
#include "revocation_apply.h"
#include "tessera/envelope.h"
#include "tessera/log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_RETRY_BATCH 20

typedef struct {
    revocation_state_t *state;
    tsr_db_t *db;
} s_timer_t;

//  Applies one approved request if nobody holds it; 0, or -1.
static int
s_retry_one (s_timer_t *self, const char *revocation_id, const char *trace_id)
{
    tsr_db_t *db = self->db;
    const char *values [] = { revocation_id };
    if (tsr_db_begin (db))
        return -1;
    PGresult *res = tsr_db_query (db,
        "SELECT reason FROM revocations WHERE revocation_id = $1 AND state = 2"
        " FOR UPDATE SKIP LOCKED", 1, values);
    int rc = res ? 0 : -1;
    if (res && PQntuples (res) == 1) {
        revocation_apply_t apply;
        int reason = (int) strtol (PQgetvalue (res, 0, 0), NULL, 10);
        rc = revocation_apply_load (db, revocation_id, reason, &apply);
        if (rc == 0) {
            revocation_apply_ask (self->state, &apply, trace_id);
            rc = revocation_apply_record (self->state, db, &apply, "system", trace_id) < 0
                ? -1 : 0;
        }
    }
    PQclear (res);
    if (rc == 0 && tsr_db_commit (db) == 0)
        return 0;
    tsr_db_rollback (db);
    return -1;
}

static void
s_retry (s_timer_t *self, const char *trace_id)
{
    char limit [12];
    snprintf (limit, sizeof limit, "%d", S_RETRY_BATCH);
    const char *values [] = { limit };
    PGresult *res = tsr_db_query (self->db,
        "SELECT revocation_id FROM revocations WHERE state = 2"
        " ORDER BY deadline_at, seq LIMIT $1::int", 1, values);
    for (int i = 0; res && i < PQntuples (res); i++)
        if (s_retry_one (self, PQgetvalue (res, i, 0), trace_id))
            tsr_log_warn (trace_id, "revocation.retry_failed", "revocation_id",
                          PQgetvalue (res, i, 0), "reason", tsr_db_error (self->db), NULL);
    PQclear (res);
}

static void
s_gauges (s_timer_t *self)
{
    PGresult *res = tsr_db_query (self->db,
        "SELECT count(*) FILTER (WHERE state = 1), count(*) FILTER (WHERE state = 2),"
        " count(*) FILTER (WHERE deadline_at < now())"
        " FROM revocations WHERE state IN (1, 2)", 0, NULL);
    if (res && PQntuples (res) == 1) {
        tsr_gauge_set (self->state->pending_gauge, "pending",
                       strtod (PQgetvalue (res, 0, 0), NULL));
        tsr_gauge_set (self->state->pending_gauge, "approved",
                       strtod (PQgetvalue (res, 0, 1), NULL));
        tsr_gauge_set (self->state->overdue_gauge, NULL, strtod (PQgetvalue (res, 0, 2), NULL));
    }
    PQclear (res);
}

static int
s_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_timer_t *self = arg;
    if (!self->db) {
        char err [512];
        self->db = tsr_db_new (self->state->dsn, self->state->schema, err, sizeof err);
        if (!self->db) {
            tsr_log_warn (NULL, "revocation.timer_db_unavailable", "reason", err, NULL);
            return 0;
        }
    }
    char trace_id [TSR_ID_HEX_SIZE];
    tsr_random_id (trace_id);
    s_retry (self, trace_id);
    s_gauges (self);
    return 0;
}

static int
s_pipe (zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void) loop;
    (void) arg;
    zmsg_t *msg = zmsg_recv (pipe);
    char *command = msg ? zmsg_popstr (msg) : NULL;
    int rc = !command || streq (command, "$TERM") ? -1 : 0;
    zstr_free (&command);
    zmsg_destroy (&msg);
    return rc;
}

static void
s_actor (zsock_t *pipe, void *arg)
{
    s_timer_t self = { .state = arg, .db = NULL };
    zloop_t *loop = zloop_new ();
    zsock_signal (pipe, 0);
    if (loop) {
        zloop_reader (loop, pipe, s_pipe, &self);
        zloop_timer (loop, (size_t) self.state->timer_ms, 0, s_tick, &self);
        s_tick (loop, 0, &self);
        zloop_start (loop);
        zloop_destroy (&loop);
    }
    tsr_db_destroy (&self.db);
    //  As the bus workers do: free OpenSSL's per-thread state while the
    //  thread is ours.
    OPENSSL_thread_stop ();
}

zactor_t *
revocation_timer_new (revocation_state_t *state)
{
    return zactor_new (s_actor, state);
}
