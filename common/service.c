/*  tsr_service: process life of a tessera service (see service.h).
*/
#include "tessera/service.h"
#include "tessera/events.h"
#include "tessera/http.h"
#include "tessera/log.h"
#include "tessera/role_client.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *s_service_names [] = {
    NULL, "enrollment", "validation", "ca", "perso", "mail", "revocation", "publisher"
};

int
tsr_service_port_offset (const char *name)
{
    for (int i = 1; name && i < (int) (sizeof s_service_names / sizeof s_service_names [0]); i++)
        if (streq (name, s_service_names [i]))
            return i;
    return 0;
}

void
tsr_service_default_endpoint (int port_offset, char *endpoint, size_t size)
{
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", 7100 + port_offset);
}

typedef struct {
    pthread_mutex_t lock;
    tsr_db_t *db;
    atomic_bool draining;
} s_readiness_t;

static int
s_ready (void *arg, char *reason, size_t reason_size)
{
    s_readiness_t *readiness = arg;
    if (atomic_load (&readiness->draining)) {
        snprintf (reason, reason_size, "draining");
        return 0;
    }
    pthread_mutex_lock (&readiness->lock);
    int ok = readiness->db && tsr_db_ping (readiness->db) == 0;
    pthread_mutex_unlock (&readiness->lock);
    if (!ok)
        snprintf (reason, reason_size, "database unreachable");
    return ok;
}

typedef struct {
    char bus [256];
    char pub [256];
    char http_address [64];
    long http_port;
    long workers;
    long drain_timeout_ms;
    const char *dsn;
    const char *admin_dsn;
    const char *schema;
    const char *cert_path;
    const char *keyring;
} s_settings_t;

static int
s_read_settings (tsr_config_t *config, const tsr_service_definition_t *definition,
                 s_settings_t *settings, char *err, size_t err_size)
{
    char fallback [64];
    tsr_service_default_endpoint (definition->port_offset, fallback, sizeof fallback);
    snprintf (settings->bus, sizeof settings->bus, "%s",
              tsr_config_get (config, "TSR_BUS_BIND", fallback));
    snprintf (fallback, sizeof fallback, "tcp://127.0.0.1:%d", 7200 + definition->port_offset);
    snprintf (settings->pub, sizeof settings->pub, "%s",
              tsr_config_get (config, "TSR_PUB_BIND", fallback));
    snprintf (settings->http_address, sizeof settings->http_address, "%s",
              tsr_config_get (config, "TSR_HTTP_ADDRESS", "127.0.0.1"));
    settings->dsn = tsr_config_get (config, "TSR_DB_DSN", NULL);
    settings->admin_dsn = tsr_config_get (config, "TSR_DB_ADMIN_DSN", NULL);
    settings->schema = tsr_config_get (config, "TSR_DB_SCHEMA", definition->name);
    settings->cert_path = tsr_config_get (config, "TSR_CERT", NULL);
    settings->keyring = tsr_config_get (config, "TSR_KEYRING_DIR", NULL);
    if (tsr_config_get_long (config, "TSR_HTTP_PORT", 8100 + definition->port_offset, 0, 65535,
                             &settings->http_port, err, err_size)
    ||  tsr_config_get_long (config, "TSR_WORKERS", 4, 1, 64, &settings->workers, err, err_size)
    ||  tsr_config_get_long (config, "TSR_DRAIN_TIMEOUT_MS", 10000, 0, 600000,
                             &settings->drain_timeout_ms, err, err_size))
        return -1;
    const char *missing = !settings->dsn ? "TSR_DB_DSN"
                        : !settings->cert_path ? "TSR_CERT"
                        : !settings->keyring ? "TSR_KEYRING_DIR" : NULL;
    if (missing) {
        snprintf (err, err_size, "%s is not set", missing);
        return -1;
    }
    return 0;
}

//  Waits for SIGTERM or SIGINT (blocked in every thread).
static void
s_wait_for_stop (const sigset_t *signals)
{
    while (true) {
        int signal_number = 0;
        if (sigwait (signals, &signal_number) == 0
        &&  (signal_number == SIGTERM || signal_number == SIGINT))
            return;
    }
}

//  The service's subscriptions to other services' events.
#define S_CONSUMERS_MAX 8

typedef struct {
    size_t count;
    tsr_event_consumer_args_t args [S_CONSUMERS_MAX];
    char endpoint [S_CONSUMERS_MAX][256];
    char pub_endpoint [S_CONSUMERS_MAX][256];
    char public_key [S_CONSUMERS_MAX][41];
    zactor_t *actors [S_CONSUMERS_MAX];
} s_consumers_t;

static int
s_start_consumers (const tsr_service_definition_t *definition, tsr_config_t *config,
                   const s_settings_t *settings, zcert_t *cert, void *state,
                   s_consumers_t *consumers, char *err, size_t err_size)
{
    if (definition->subscription_count > S_CONSUMERS_MAX) {
        snprintf (err, err_size, "too many subscriptions");
        return -1;
    }
    for (size_t i = 0; i < definition->subscription_count; i++) {
        const tsr_event_subscription_t *subscription = &definition->subscriptions [i];
        int offset = tsr_service_port_offset (subscription->source);
        char key [96], fallback [1024];
        if (!offset) {
            snprintf (err, err_size, "unknown event source %s", subscription->source);
            return -1;
        }
        tsr_service_default_endpoint (offset, fallback, sizeof fallback);
        tsr_config_key (key, sizeof key, subscription->source, "ENDPOINT");
        snprintf (consumers->endpoint [i], sizeof consumers->endpoint [i], "%s",
                  tsr_config_get (config, key, fallback));
        snprintf (fallback, sizeof fallback, "tcp://127.0.0.1:%d", 7200 + offset);
        tsr_config_key (key, sizeof key, subscription->source, "PUB_ENDPOINT");
        snprintf (consumers->pub_endpoint [i], sizeof consumers->pub_endpoint [i], "%s",
                  tsr_config_get (config, key, fallback));
        snprintf (fallback, sizeof fallback, "%s/%s.cert", settings->keyring, subscription->source);
        tsr_config_key (key, sizeof key, subscription->source, "CERT");
        const char *cert_path = tsr_config_get (config, key, fallback);
        zcert_t *source_cert = zcert_load (cert_path);
        if (!source_cert) {
            snprintf (err, err_size, "cannot read %s's certificate %s", subscription->source, cert_path);
            return -1;
        }
        snprintf (consumers->public_key [i], 41, "%s", zcert_public_txt (source_cert));
        zcert_destroy (&source_cert);
        consumers->args [i] = (tsr_event_consumer_args_t) {
            .source = subscription->source, .endpoint = consumers->endpoint [i],
            .pub_endpoint = consumers->pub_endpoint [i],
            .source_public_key = consumers->public_key [i], .cert = cert,
            .dsn = settings->dsn, .schema = settings->schema,
            .apply = subscription->apply, .state = state,
        };
        consumers->actors [i] = tsr_event_consumer_new (&consumers->args [i]);
        if (!consumers->actors [i]) {
            snprintf (err, err_size, "cannot follow %s's events", subscription->source);
            return -1;
        }
        consumers->count = i + 1;
    }
    return 0;
}

static void
s_stop_consumers (s_consumers_t *consumers)
{
    for (size_t i = 0; i < consumers->count; i++)
        zactor_destroy (&consumers->actors [i]);
    consumers->count = 0;
}

int
tsr_service_main (const tsr_service_definition_t *definition, int argc, char **argv)
{
    (void) argc;
    (void) argv;
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGTERM);
    sigaddset (&signals, SIGINT);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);
    signal (SIGPIPE, SIG_IGN);
    zsys_handler_set (NULL);
    zsys_init ();

    int rc = 1;
    char err [512] = "";
    void *state = NULL;
    zcert_t *cert = NULL;
    zactor_t *auth = NULL, *relay = NULL;
    tsr_bus_server_t *server = NULL;
    tsr_role_client_t *roles = NULL;
    bool started = false;
    s_consumers_t consumers;
    memset (&consumers, 0, sizeof consumers);
    tsr_metrics_t *metrics = NULL;
    tsr_http_t *http = NULL;
    s_readiness_t readiness = { .db = NULL };
    pthread_mutex_init (&readiness.lock, NULL);
    atomic_init (&readiness.draining, false);
    tsr_log_init (definition->name, TSR_LOG_INFO);

    tsr_config_t *config = tsr_config_new (err, sizeof err);
    s_settings_t settings = { .http_port = 0 };
    if (!config || s_read_settings (config, definition, &settings, err, sizeof err))
        goto failed;
    int level = tsr_log_level_parse (tsr_config_get (config, "TSR_LOG_LEVEL", "info"));
    if (level < 0) {
        snprintf (err, sizeof err, "TSR_LOG_LEVEL must be debug, info, warn or error");
        goto failed;
    }
    tsr_log_init (definition->name, (tsr_log_level_t) level);

    if (settings.admin_dsn) {
        const tsr_migration_set_t *sets [] = { definition->migrations };
        int applied = tsr_migrate_apply (settings.admin_dsn, settings.schema, settings.dsn,
                                         sets, definition->migrations ? 1 : 0, err, sizeof err);
        if (applied < 0)
            goto failed;
        char count [16];
        snprintf (count, sizeof count, "%d", applied);
        tsr_log_info (NULL, "db.migrated", "schema", settings.schema, "applied", count, NULL);
    }
    readiness.db = tsr_db_new (settings.dsn, settings.schema, err, sizeof err);
    if (!readiness.db)
        goto failed;
    cert = zcert_load (settings.cert_path);
    if (!cert) {
        snprintf (err, sizeof err, "cannot load the service certificate %s", settings.cert_path);
        goto failed;
    }
    if (definition->state_new && !(state = definition->state_new (config, err, sizeof err)))
        goto failed;
    auth = tsr_bus_auth_new (settings.keyring);
    if (!auth) {
        snprintf (err, sizeof err, "cannot read the keyring %s", settings.keyring);
        goto failed;
    }
    metrics = tsr_metrics_new (definition->name);
    char instance_id [TSR_ID_HEX_SIZE];
    tsr_random_id (instance_id);
    if (definition->on_start && definition->on_start (state, metrics, err, sizeof err))
        goto failed;
    started = definition->on_start != NULL;
    //  Roles: the service's own resolver (enrollment keeps the operators),
    //  or enrollment asked over the bus.
    if (!definition->resolve_roles) {
        roles = tsr_role_client_new (config, cert, settings.keyring, err, sizeof err);
        if (!roles)
            goto failed;
    }
    tsr_bus_server_config_t bus_config = {
        .service = definition->name, .instance_id = instance_id, .endpoint = settings.bus,
        .cert = cert, .db_dsn = settings.dsn, .schema = settings.schema,
        .workers = (int) settings.workers, .methods = definition->methods,
        .method_count = definition->method_count, .replays = definition->replays,
        .replay_count = definition->replay_count, .state = state, .metrics = metrics,
        .keyring_dir = settings.keyring,
        .resolve_roles = definition->resolve_roles ? definition->resolve_roles
                                                   : tsr_role_client_resolve,
        .resolver = definition->resolve_roles ? state : roles,
    };
    server = tsr_bus_server_new (&bus_config, err, sizeof err);
    if (!server)
        goto failed;
    tsr_event_relay_args_t relay_args = {
        .dsn = settings.dsn, .schema = settings.schema, .service = definition->name,
        .endpoint = settings.pub, .cert = cert, .metrics = metrics
    };
    relay = tsr_event_relay_new (&relay_args);
    if (!relay) {
        snprintf (err, sizeof err, "cannot start the event relay on %s", settings.pub);
        goto failed;
    }
    if (s_start_consumers (definition, config, &settings, cert, state, &consumers,
                           err, sizeof err))
        goto failed;
    http = tsr_http_new (settings.http_address, (uint16_t) settings.http_port, metrics,
                         s_ready, &readiness);
    if (!http) {
        snprintf (err, sizeof err, "cannot serve HTTP on %s:%ld", settings.http_address,
                  settings.http_port);
        goto failed;
    }
    char http_port [8];
    snprintf (http_port, sizeof http_port, "%u", tsr_http_port (http));
    tsr_log_info (NULL, "service.started", "bus", settings.bus, "pub", settings.pub,
                  "http_port", http_port, "instance_id", instance_id,
                  "public_key", zcert_public_txt (cert), NULL);

    s_wait_for_stop (&signals);
    atomic_store (&readiness.draining, true);
    tsr_log_info (NULL, "service.draining", NULL);
    int left = tsr_bus_server_drain (server, (int) settings.drain_timeout_ms);
    char left_text [16];
    snprintf (left_text, sizeof left_text, "%d", left);
    tsr_log_info (NULL, "service.stopped", "unanswered", left_text, NULL);
    rc = 0;
    goto done;
failed:
    tsr_log_error (NULL, "service.failed", "reason", err, NULL);
done:
    tsr_http_destroy (&http);
    tsr_bus_server_destroy (&server);
    tsr_role_client_destroy (&roles);
    s_stop_consumers (&consumers);
    zactor_destroy (&relay);
    zactor_destroy (&auth);
    if (started && definition->on_stop)
        definition->on_stop (state);
    if (state && definition->state_destroy)
        definition->state_destroy (&state);
    zcert_destroy (&cert);
    tsr_metrics_destroy (&metrics);
    tsr_db_destroy (&readiness.db);
    tsr_config_destroy (&config);
    pthread_mutex_destroy (&readiness.lock);
    return rc;
}
