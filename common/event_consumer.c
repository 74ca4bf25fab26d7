/*  tsr_event_consumer: follows another service's events with ListEvents
    catch-up and a durable cursor (see event_consumer.h).
*/
#include "tessera/event_consumer.h"
#include "tessera/bus.h"
#include "tessera/log.h"
#include "tessera/trace.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PAGE 100
#define S_CALL_TIMEOUT_MS 2000
#define S_WARN_EVERY_MS 60000

typedef struct {
    const tsr_event_consumer_args_t *args;
    tsr_db_t *db;
    tsr_bus_client_t *client;
    int64_t last_warning_ms;
} s_consumer_t;

static void
s_warn (s_consumer_t *self, const char *event, const char *reason)
{
    int64_t now = tsr_now_ms ();
    if (now - self->last_warning_ms < S_WARN_EVERY_MS)
        return;
    self->last_warning_ms = now;
    tsr_log_warn (NULL, event, "source", self->args->source, "reason", reason, NULL);
}

//  The cursor of this source (created at 0), or -1 on a database error.
static int
s_cursor (s_consumer_t *self, uint64_t *last_seq)
{
    const char *values [] = { self->args->source };
    PGresult *res = tsr_db_query (self->db,
        "INSERT INTO event_cursors (source, last_seq) VALUES ($1, 0)"
        " ON CONFLICT (source) DO NOTHING", 1, values);
    PQclear (res);
    if (!res)
        return -1;
    res = tsr_db_query (self->db, "SELECT last_seq FROM event_cursors WHERE source = $1", 1, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    *last_seq = strtoull (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    return 0;
}

//  One event in one transaction with the cursor. 0 applied or skipped,
//  -1 stop here (retry later).
static int
s_apply_one (s_consumer_t *self, const Tessera__V1__Event *event)
{
    const char *values [] = { self->args->source };
    if (tsr_db_begin (self->db))
        return -1;
    PGresult *res = tsr_db_query (self->db,
        "SELECT last_seq FROM event_cursors WHERE source = $1 FOR UPDATE", 1, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        tsr_db_rollback (self->db);
        return -1;
    }
    uint64_t last_seq = strtoull (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    if (event->seq <= last_seq) {
        tsr_db_rollback (self->db);     //  applied before (another replica, or a replay)
        return 0;
    }
    if (event->seq != last_seq + 1) {
        //  Sequences are gapless: a gap means a page was cut; read again.
        tsr_db_rollback (self->db);
        return -1;
    }
    //  What applying the event logs, calls or emits carries the trace id of
    //  the request that caused it (checked like an envelope's: it comes
    //  from another process).
    tsr_trace_set (event->trace_id);
    int failed = self->args->apply (self->args->state, self->db, event);
    if (failed) {
        tsr_db_rollback (self->db);
        tsr_log_warn (NULL, "events.apply_failed", "source", self->args->source,
                      "type", event->type, "db_error", tsr_db_error (self->db), NULL);
        tsr_trace_clear ();
        return -1;
    }
    char seq [24];
    snprintf (seq, sizeof seq, "%llu", (unsigned long long) event->seq);
    const char *update [] = { self->args->source, seq };
    res = tsr_db_query (self->db,
        "UPDATE event_cursors SET last_seq = $2::bigint WHERE source = $1", 2, update);
    PQclear (res);
    int rc = 0;
    if (!res || tsr_db_commit (self->db)) {
        tsr_db_rollback (self->db);
        rc = -1;
    }
    else
        tsr_log_debug (NULL, "events.applied", "source", self->args->source, "type", event->type,
                       "seq", seq, NULL);
    tsr_trace_clear ();
    return rc;
}

//  Reads and applies pages until there is nothing new or something fails.
static void
s_catch_up (s_consumer_t *self)
{
    for (;;) {
        uint64_t after = 0;
        if (s_cursor (self, &after)) {
            s_warn (self, "events.cursor_unavailable", tsr_db_error (self->db));
            return;
        }
        Tessera__V1__ListEventsRequest request = TESSERA__V1__LIST_EVENTS_REQUEST__INIT;
        request.after_seq = after;
        request.limit = S_PAGE;
        uint8_t payload [32];
        size_t size = tessera__v1__list_events_request__pack (&request, payload);
        tsr_envelope_t *reply = tsr_bus_client_call (self->client, "ListEvents", payload, size,
                                                     NULL, NULL);
        if (!reply || reply->status != TESSERA__V1__STATUS__STATUS_OK) {
            s_warn (self, "events.source_unavailable",
                    reply ? reply->status_message : "no reply");
            tsr_envelope_free (&reply);
            return;
        }
        Tessera__V1__ListEventsReply *events = tessera__v1__list_events_reply__unpack (
            NULL, reply->payload.len, reply->payload.data);
        tsr_envelope_free (&reply);
        if (!events)
            return;
        size_t applied = 0;
        for (; applied < events->n_events; applied++)
            if (s_apply_one (self, events->events [applied]))
                break;
        bool more = applied == events->n_events && events->n_events == S_PAGE;
        tessera__v1__list_events_reply__free_unpacked (events, NULL);
        if (!more)
            return;
    }
}

static void
s_consumer_actor (zsock_t *pipe, void *arg)
{
    s_consumer_t self = { .args = arg };
    const tsr_event_consumer_args_t *args = self.args;
    char err [512] = "";
    self.db = tsr_db_new (args->dsn, args->schema, err, sizeof err);
    self.client = tsr_bus_client_new (args->endpoint, args->cert, args->source_public_key,
                                      S_CALL_TIMEOUT_MS, 0);
    //  The PUB socket only wakes us up: what counts is read with ListEvents.
    zsock_t *sub = zsock_new (ZMQ_SUB);
    if (sub) {
        zcert_apply (args->cert, sub);
        zsock_set_curve_serverkey (sub, args->source_public_key);
        zsock_set_subscribe (sub, "");
        zsock_connect (sub, "%s", args->pub_endpoint);
    }
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, sub, NULL);
    int interval_ms = args->poll_interval_ms > 0 ? args->poll_interval_ms : 1000;
    while (poller) {
        zsock_t *which = zpoller_wait (poller, interval_ms);
        if (which == pipe || zpoller_terminated (poller))
            break;
        if (which == sub)
            while (zsock_events (sub) & ZMQ_POLLIN) {
                zmsg_t *msg = zmsg_recv (sub);
                zmsg_destroy (&msg);
            }
        if (!self.db)
            self.db = tsr_db_new (args->dsn, args->schema, err, sizeof err);
        if (!self.db || !self.client)
            s_warn (&self, "events.consumer_unavailable", self.db ? "no bus client" : err);
        else
            s_catch_up (&self);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&sub);
    tsr_bus_client_destroy (&self.client);
    tsr_db_destroy (&self.db);
    OPENSSL_thread_stop ();     //  see tsr_bus_worker_actor
}

zactor_t *
tsr_event_consumer_new (const tsr_event_consumer_args_t *args)
{
    return zactor_new (s_consumer_actor, (void *) args);
}
