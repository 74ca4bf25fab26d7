/*  The outbox relay actor (see events.h): publishes committed events on the
    service's PUB socket in seq order and marks them published. It wakes on
    PostgreSQL's NOTIFY (sent by tsr_events_append, delivered only when the
    appending transaction commits) and also once a second, which covers
    notifications lost while the connection was down and events left
    unpublished by a crash.
*/
#include "tessera/events.h"
#include "tessera/log.h"
#include "events_internal.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_BATCH_SIZE 500
#define S_STR(x) #x
#define S_XSTR(x) S_STR (x)
#define S_BATCH S_XSTR (S_BATCH_SIZE)
#define S_POLL_INTERVAL_MS 1000

typedef struct {
    zsock_t *pipe;
    zsock_t *pub;
    zloop_t *loop;
    tsr_db_t *db;
    char *service;
    char *schema;
    int listen_fd;              //  -1 when not listening
    unsigned listen_generation; //  the connection LISTEN was issued on
    zmq_pollitem_t item;
    tsr_gauge_t *backlog;       //  NULL without metrics
    tsr_gauge_t *oldest_age;
} s_relay_t;

static int s_on_db_readable (zloop_t *loop, zmq_pollitem_t *item, void *arg);

//  Issues LISTEN on the current connection and (re)registers its socket.
static int
s_listen (s_relay_t *self)
{
    PGconn *conn = tsr_db_conn (self->db);
    if (!conn || PQstatus (conn) != CONNECTION_OK)
        return -1;
    char channel [96];
    snprintf (channel, sizeof channel, "tsr_outbox_%s", self->schema);
    char *quoted = PQescapeIdentifier (conn, channel, strlen (channel));
    if (!quoted)
        return -1;
    char sql [160];
    snprintf (sql, sizeof sql, "LISTEN %s", quoted);
    PQfreemem (quoted);
    PGresult *res = tsr_db_query (self->db, sql, 0, NULL);
    if (!res)
        return -1;
    PQclear (res);
    if (self->listen_fd >= 0)
        zloop_poller_end (self->loop, &self->item);
    self->listen_fd = -1;
    self->item = (zmq_pollitem_t) { NULL, PQsocket (conn), ZMQ_POLLIN, 0 };
    if (zloop_poller (self->loop, &self->item, s_on_db_readable, self))
        return -1;
    self->listen_fd = self->item.fd;
    self->listen_generation = tsr_db_generation (self->db);
    return 0;
}

static int
s_publish_pending (s_relay_t *self)
{
    for (;;) {
        //  Kept prepared: the relay wakes for every commit that adds
        //  events, and would parse and plan both statements each time.
        PGresult *res = tsr_db_prepared (self->db,
            TSR_EVENTS_SELECT " WHERE published_at IS NULL ORDER BY seq LIMIT " S_BATCH, 0, NULL);
        if (!res)
            return -1;
        Tessera__V1__Event **events = NULL;
        size_t count = 0;
        int rc = tsr_events_from_rows (res, self->service, &events, &count);
        PQclear (res);
        if (rc)
            return -1;
        for (size_t i = 0; i < count; i++) {
            size_t size = tessera__v1__event__get_packed_size (events [i]);
            zframe_t *frame = zframe_new (NULL, size);
            if (!frame)
                break;
            tessera__v1__event__pack (events [i], zframe_data (frame));
            zmsg_t *msg = zmsg_new ();
            zmsg_addstr (msg, events [i]->type);
            zmsg_append (msg, &frame);
            zmsg_send (&msg, self->pub);
        }
        if (count > 0) {
            char last [24];
            snprintf (last, sizeof last, "%llu", (unsigned long long) events [count - 1]->seq);
            const char *values [] = { last };
            PGresult *marked = tsr_db_prepared (self->db,
                "UPDATE outbox SET published_at = now() WHERE seq <= $1 AND published_at IS NULL",
                1, values);
            PQclear (marked);
        }
        tsr_events_free (events, count);
        if (count < S_BATCH_SIZE)
            return 0;
    }
}

//  What is left to publish, for the operators' dashboards: a backlog that
//  grows, or an oldest event that ages, means the relay can not keep up or
//  can not publish. Left as last measured when the database is away.
static void
s_measure_backlog (s_relay_t *self)
{
    if (!self->backlog)
        return;
    PGresult *res = tsr_db_query (self->db,
        "SELECT count(*), coalesce((SELECT extract(epoch FROM clock_timestamp() - occurred_at)"
        "                           FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT 1),"
        "                          0)::float8"
        " FROM outbox WHERE published_at IS NULL", 0, NULL);
    if (res && PQntuples (res) == 1) {
        double age_s = strtod (PQgetvalue (res, 0, 1), NULL);
        tsr_gauge_set (self->backlog, NULL, strtod (PQgetvalue (res, 0, 0), NULL));
        tsr_gauge_set (self->oldest_age, NULL, age_s > 0 ? age_s : 0);
    }
    PQclear (res);
}

static int
s_on_db_readable (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    (void) item;
    s_relay_t *self = arg;
    PGconn *conn = tsr_db_conn (self->db);
    if (!PQconsumeInput (conn) || PQstatus (conn) != CONNECTION_OK) {
        //  The server went away: stop watching a dead socket; the timer
        //  reconnects and listens again.
        zloop_poller_end (self->loop, &self->item);
        self->listen_fd = -1;
        return 0;
    }
    PGnotify *notify;
    while ((notify = PQnotifies (conn)) != NULL)
        PQfreemem (notify);
    s_publish_pending (self);
    return 0;
}

static int
s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_relay_t *self = arg;
    //  tsr_db reconnects inside the query; then LISTEN again on the new
    //  connection.
    if (s_publish_pending (self) == 0
    &&  (self->listen_fd < 0 || self->listen_generation != tsr_db_generation (self->db)))
        s_listen (self);
    s_measure_backlog (self);
    return 0;
}

static int
s_on_pipe (zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void) loop;
    (void) arg;
    char *command = zstr_recv (pipe);
    int rc = (!command || streq (command, "$TERM")) ? -1 : 0;
    zstr_free (&command);
    return rc;
}

static void
s_relay_actor (zsock_t *pipe, void *arg)
{
    const tsr_event_relay_args_t *args = arg;
    s_relay_t self = { .pipe = pipe, .listen_fd = -1 };
    char err [512] = "";
    self.service = strdup (args->service);
    self.schema = strdup (args->schema);
    self.loop = zloop_new ();
    self.db = tsr_db_new (args->dsn, args->schema, err, sizeof err);
    self.pub = zsock_new (ZMQ_PUB);
    self.backlog = tsr_metrics_gauge (args->metrics, "tessera_outbox_backlog_events",
                                      "Events in the outbox not yet published", NULL);
    self.oldest_age = tsr_metrics_gauge (args->metrics, "tessera_outbox_oldest_age_seconds",
                                         "How long the oldest unpublished event has waited "
                                         "(0: none)", NULL);
    if (self.pub) {
        zcert_apply (args->cert, self.pub);
        zsock_set_curve_server (self.pub, 1);
        zsock_set_zap_domain (self.pub, "tessera");
        zsock_set_sndhwm (self.pub, 100000);
    }
    zsock_signal (pipe, 0);
    if (!self.service || !self.schema || !self.loop || !self.db || !self.pub
    ||  zsock_bind (self.pub, "%s", args->endpoint) < 0 || s_listen (&self)) {
        if (!*err)
            snprintf (err, sizeof err, "cannot bind %s or listen for events", args->endpoint);
        zstr_sendf (pipe, "ERROR %s", err);
        goto done;
    }
    zstr_send (pipe, "OK");
    zloop_reader (self.loop, pipe, s_on_pipe, &self);
    zloop_timer (self.loop, S_POLL_INTERVAL_MS, 0, s_on_timer, &self);
    s_publish_pending (&self);
    s_measure_backlog (&self);
    zloop_start (self.loop);
done:
    zloop_destroy (&self.loop);
    zsock_destroy (&self.pub);
    tsr_db_destroy (&self.db);
    free (self.service);
    free (self.schema);
    OPENSSL_thread_stop ();     //  see tsr_bus_worker_actor
}

zactor_t *
tsr_event_relay_new (const tsr_event_relay_args_t *args)
{
    zactor_t *relay = zactor_new (s_relay_actor, (void *) args);
    if (!relay)
        return NULL;
    char *status = zstr_recv (relay);
    int ok = status && streq (status, "OK");
    if (!ok)
        tsr_log_error (NULL, "events.relay_failed", "reason", status ? status : "no answer", NULL);
    zstr_free (&status);
    if (!ok)
        zactor_destroy (&relay);
    return relay;
}
