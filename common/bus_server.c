/*  tsr_bus server: the broker actor and the server object (see bus.h).

    The broker owns the public ROUTER and an inproc DEALER towards the
    workers. It reads the ZAP User-Id of each request (only readable on the
    socket that received it, so the broker, not the worker, must take it)
    and forwards [caller][envelope][route...]; replies come back as
    [route...][reply] and go out unchanged. A socket monitor reports failed
    CURVE handshakes, which zauth refuses silently.
*/
#include "tessera/bus.h"
#include "tessera/log.h"
#include "bus_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define S_MAX_WORKERS 64

struct _tsr_bus_server_t {
    zactor_t *broker;
    zactor_t *workers [S_MAX_WORKERS];
    int worker_count;
    atomic_int in_flight;
    char backend [64];
    char monitor [64];
    tsr_bus_worker_args_t worker_args;
};

typedef struct {
    tsr_bus_server_t *server;
    const tsr_bus_server_config_t *config;
} s_broker_args_t;

static void
s_log_monitor_event (zsock_t *monitor)
{
    zmsg_t *msg = zmsg_recv (monitor);
    if (!msg)
        return;
    zframe_t *event = zmsg_first (msg);
    char *address = zmsg_size (msg) > 1 ? zframe_strdup (zmsg_next (msg)) : NULL;
    if (event && zframe_size (event) >= 6) {
        uint16_t id;
        uint32_t value;
        memcpy (&id, zframe_data (event), 2);
        memcpy (&value, zframe_data (event) + 2, 4);
        char value_text [16];
        snprintf (value_text, sizeof value_text, "%u", value);
        const char *why = id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                        ? "client key not in the keyring"
                        : "CURVE handshake failed";
        tsr_log_warn (NULL, "bus.refused", "reason", why, "endpoint", address ? address : "",
                      "code", value_text, NULL);
    }
    free (address);
    zmsg_destroy (&msg);
}

//  [route...][envelope] from a client: prefix the authenticated caller.
static void
s_forward_request (zsock_t *frontend, zsock_t *backend, atomic_int *in_flight)
{
    zmsg_t *msg = zmsg_recv (frontend);
    if (!msg)
        return;
    //  DEALER clients send [id][envelope], REQ clients [id][""][envelope].
    if (zmsg_size (msg) < 2 || zmsg_size (msg) > 3) {
        zmsg_destroy (&msg);
        return;
    }
    zframe_t *envelope = zmsg_last (msg);
    const char *caller = zframe_meta (envelope, "User-Id");
    if (!caller || !*caller) {
        //  Only possible on a socket without CURVE: never answer it.
        zmsg_destroy (&msg);
        return;
    }
    envelope = zmsg_last (msg);
    zmsg_remove (msg, envelope);
    zmsg_t *forward = zmsg_new ();
    zmsg_addstr (forward, caller);
    zmsg_append (forward, &envelope);
    zframe_t *route;
    while ((route = zmsg_pop (msg)) != NULL)
        zmsg_append (forward, &route);
    zmsg_destroy (&msg);
    atomic_fetch_add (in_flight, 1);
    if (zmsg_send (&forward, backend))
        atomic_fetch_sub (in_flight, 1);
}

static void
s_forward_reply (zsock_t *backend, zsock_t *frontend, atomic_int *in_flight)
{
    zmsg_t *msg = zmsg_recv (backend);
    if (!msg)
        return;
    atomic_fetch_sub (in_flight, 1);
    zmsg_send (&msg, frontend);
}

static void
s_broker_actor (zsock_t *pipe, void *arg)
{
    s_broker_args_t *args = arg;
    tsr_bus_server_t *server = args->server;
    const tsr_bus_server_config_t *config = args->config;
    zsock_t *frontend = zsock_new (ZMQ_ROUTER);
    zsock_t *backend = zsock_new (ZMQ_DEALER);
    zsock_t *monitor = NULL;
    zpoller_t *poller = NULL;
    zsock_signal (pipe, 0);
    if (!frontend || !backend)
        goto failed;
    zcert_apply (config->cert, frontend);
    zsock_set_curve_server (frontend, 1);
    zsock_set_zap_domain (frontend, "tessera");
    zsock_set_maxmsgsize (frontend, TSR_BUS_MESSAGE_MAX);
    zsock_set_router_mandatory (frontend, 0);
    zsock_set_linger (frontend, 0);
    zsock_set_rcvhwm (frontend, 10000);
    zsock_set_sndhwm (backend, 10000);
    if (zmq_socket_monitor (zsock_resolve (frontend), server->monitor,
                            ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                            | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                            | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL))
        goto failed;
    monitor = zsock_new_pair (server->monitor);
    if (!monitor || zsock_bind (frontend, "%s", config->endpoint) < 0
    ||  zsock_bind (backend, "%s", server->backend) < 0)
        goto failed;
    poller = zpoller_new (pipe, frontend, backend, monitor, NULL);
    if (!poller)
        goto failed;
    zstr_send (pipe, "OK");

    int64_t drain_deadline = 0;
    while (true) {
        if (drain_deadline && (atomic_load (&server->in_flight) == 0
                               || zclock_mono () >= drain_deadline)) {
            zstr_sendf (pipe, "DRAINED %d", atomic_load (&server->in_flight));
            drain_deadline = 0;
        }
        zsock_t *which = zpoller_wait (poller, drain_deadline ? 50 : -1);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            if (!command || streq (command, "$TERM")) {
                zstr_free (&command);
                break;
            }
            if (strncmp (command, "DRAIN ", 6) == 0) {
                zpoller_remove (poller, frontend);
                drain_deadline = zclock_mono () + strtol (command + 6, NULL, 10);
            }
            zstr_free (&command);
        }
        else
        if (which == frontend)
            s_forward_request (frontend, backend, &server->in_flight);
        else
        if (which == backend)
            s_forward_reply (backend, frontend, &server->in_flight);
        else
        if (which == monitor)
            s_log_monitor_event (monitor);
        else
        if (zpoller_terminated (poller))
            break;
    }
    goto done;
failed:
    zstr_sendf (pipe, "ERROR cannot bind %s: %s", config->endpoint, zmq_strerror (zmq_errno ()));
done:
    zpoller_destroy (&poller);
    if (frontend)
        zmq_socket_monitor (zsock_resolve (frontend), NULL, 0);
    zsock_destroy (&monitor);
    zsock_destroy (&frontend);
    zsock_destroy (&backend);
}

zactor_t *
tsr_bus_auth_new (const char *keyring_dir)
{
    zactor_t *auth = zactor_new (zauth, NULL);
    if (!auth)
        return NULL;
    if (zstr_sendx (auth, "CURVE", keyring_dir, NULL) || zsock_wait (auth) != 0)
        zactor_destroy (&auth);
    return auth;
}

static const double s_latency_bounds [] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
};

//  The services' own keys, from <keyring>/<service>.cert, for the seven
//  services and the holder portal.
static void
s_load_service_keys (const char *keyring_dir, tsr_bus_worker_args_t *args)
{
    static const char *names [TSR_SERVICE_KEYS_MAX] = {
        "enrollment", "validation", "ca", "perso", "mail", "revocation", "publisher", "portal" };
    args->service_key_count = 0;
    for (int i = 0; keyring_dir && i < TSR_SERVICE_KEYS_MAX; i++) {
        char path [1024];
        snprintf (path, sizeof path, "%s/%s.cert", keyring_dir, names [i]);
        zcert_t *cert = zsys_file_exists (path) ? zcert_load (path) : NULL;
        if (cert) {
            snprintf (args->service_keys [args->service_key_count++], 41, "%s",
                      zcert_public_txt (cert));
            zcert_destroy (&cert);
        }
    }
}

tsr_bus_server_t *
tsr_bus_server_new (const tsr_bus_server_config_t *config, char *err, size_t err_size)
{
    if (config->workers < 1 || config->workers > S_MAX_WORKERS) {
        snprintf (err, err_size, "workers must be from 1 to %d", S_MAX_WORKERS);
        return NULL;
    }
    tsr_bus_server_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    char id [TSR_ID_HEX_SIZE];
    tsr_random_id (id);
    snprintf (self->backend, sizeof self->backend, "inproc://tsr-workers-%s", id);
    snprintf (self->monitor, sizeof self->monitor, "inproc://tsr-monitor-%s", id);
    atomic_init (&self->in_flight, 0);
    s_broker_args_t broker_args = { self, config };
    self->broker = zactor_new (s_broker_actor, &broker_args);
    char *status = self->broker ? zstr_recv (self->broker) : NULL;
    if (!status || !streq (status, "OK")) {
        snprintf (err, err_size, "%s", status ? status + (strncmp (status, "ERROR ", 6) ? 0 : 6)
                                              : "cannot start the bus broker");
        zstr_free (&status);
        tsr_bus_server_destroy (&self);
        return NULL;
    }
    zstr_free (&status);
    self->worker_args = (tsr_bus_worker_args_t) {
        .config = config,
        .backend_endpoint = self->backend,
        .in_flight = &self->in_flight,
        .requests = tsr_metrics_counter (config->metrics, "tessera_bus_requests_total",
                                         "Bus requests answered, by method", "method"),
        .errors = tsr_metrics_counter (config->metrics, "tessera_bus_errors_total",
                                       "Bus requests answered with a status other than OK, by method",
                                       "method"),
        .latency = tsr_metrics_histogram (config->metrics, "tessera_bus_request_seconds",
                                          "Time to answer a bus request, by method", "method",
                                          s_latency_bounds,
                                          sizeof s_latency_bounds / sizeof s_latency_bounds [0])
    };
    self->worker_args.denied = tsr_metrics_counter (config->metrics,
        "tessera_bus_denied_total", "Requests refused for want of a role, by method", "method");
    self->worker_args.group_commits = tsr_metrics_counter (config->metrics,
        "tessera_bus_group_commits_total",
        "Transactions committed for a batched method's requests, by method", "method");
    self->worker_args.group_committed = tsr_metrics_counter (config->metrics,
        "tessera_bus_group_committed_total",
        "A batched method's requests committed in those transactions, by method", "method");
    s_load_service_keys (config->keyring_dir, &self->worker_args);
    for (int i = 0; i < config->workers; i++) {
        self->workers [i] = zactor_new (tsr_bus_worker_actor, &self->worker_args);
        if (!self->workers [i]) {
            snprintf (err, err_size, "cannot start bus worker %d", i);
            tsr_bus_server_destroy (&self);
            return NULL;
        }
        self->worker_count++;
    }
    return self;
}

int
tsr_bus_server_drain (tsr_bus_server_t *self, int timeout_ms)
{
    if (!self || !self->broker)
        return 0;
    zstr_sendf (self->broker, "DRAIN %d", timeout_ms);
    char *answer = zstr_recv (self->broker);
    int left = answer && strncmp (answer, "DRAINED ", 8) == 0
             ? (int) strtol (answer + 8, NULL, 10) : atomic_load (&self->in_flight);
    zstr_free (&answer);
    return left;
}

int
tsr_bus_server_in_flight (tsr_bus_server_t *self)
{
    return atomic_load (&self->in_flight);
}

void
tsr_bus_server_destroy (tsr_bus_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsr_bus_server_t *self = *self_p;
    for (int i = 0; i < self->worker_count; i++)
        zactor_destroy (&self->workers [i]);
    zactor_destroy (&self->broker);
    free (self);
    *self_p = NULL;
}
