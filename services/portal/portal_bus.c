/*  portal_bus: pooled bus clients, one pool per service (see portal_bus.h).
*/
#include "portal_bus.h"
#include "tessera/bus.h"
#include "tessera/peer.h"
#include "tessera/service.h"

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_POOL_MAX 8

static const char *s_names [PORTAL_SERVICE_COUNT] = {
    "enrollment", "validation", "ca", "perso", "mail", "revocation"
};

typedef struct {
    pthread_mutex_t lock;
    char endpoint [256];
    char server_key [41];
    tsr_bus_client_t *idle [S_POOL_MAX];
    int idle_count;
    int64_t down_until_ms;          //  no reply lately: optional reads skip it
} s_pool_t;

struct _portal_bus_t {
    zcert_t *cert;                  //  the portal's own; outlives every client
    int timeout_ms;
    int retries;
    s_pool_t pools [PORTAL_SERVICE_COUNT];
};

const char *
portal_service_name (portal_service_t service)
{
    return service < PORTAL_SERVICE_COUNT ? s_names [service] : "?";
}

portal_bus_t *
portal_bus_new (tsr_config_t *config, char *err, size_t err_size)
{
    portal_bus_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    for (int i = 0; i < PORTAL_SERVICE_COUNT; i++)
        pthread_mutex_init (&self->pools [i].lock, NULL);
    long timeout_ms = 0, retries = 0;
    if (tsr_config_get_long (config, "TSR_PORTAL_BUS_TIMEOUT_MS", 5000, 100, 120000, &timeout_ms,
                             err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_BUS_RETRIES", 1, 0, 10, &retries, err, err_size))
        goto failed;
    self->timeout_ms = (int) timeout_ms;
    self->retries = (int) retries;
    const char *cert_path = tsr_config_get (config, "TSR_CERT", NULL);
    if (!cert_path) {
        snprintf (err, err_size, "TSR_CERT is not set (the portal's certificate)");
        goto failed;
    }
    self->cert = zcert_load (cert_path);
    if (!self->cert) {
        snprintf (err, err_size, "cannot read the certificate %s (and its _secret)", cert_path);
        goto failed;
    }
    const char *keyring = tsr_config_get (config, "TSR_KEYRING_DIR", ".");
    for (int i = 0; i < PORTAL_SERVICE_COUNT; i++) {
        s_pool_t *pool = &self->pools [i];
        char key [96], fallback [1024];
        tsr_service_default_endpoint (tsr_service_port_offset (s_names [i]), fallback,
                                      sizeof fallback);
        tsr_config_key (key, sizeof key, s_names [i], "ENDPOINT");
        snprintf (pool->endpoint, sizeof pool->endpoint, "%s",
                  tsr_config_get (config, key, fallback));
        snprintf (fallback, sizeof fallback, "%s/%s.cert", keyring, s_names [i]);
        tsr_config_key (key, sizeof key, s_names [i], "CERT");
        const char *path = tsr_config_get (config, key, fallback);
        zcert_t *server = zcert_load (path);
        if (!server) {
            snprintf (err, err_size, "cannot read %s's certificate %s", s_names [i], path);
            goto failed;
        }
        snprintf (pool->server_key, sizeof pool->server_key, "%s", zcert_public_txt (server));
        zcert_destroy (&server);
    }
    return self;
failed:
    portal_bus_destroy (&self);
    return NULL;
}

void
portal_bus_destroy (portal_bus_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    portal_bus_t *self = *self_p;
    for (int i = 0; i < PORTAL_SERVICE_COUNT; i++) {
        s_pool_t *pool = &self->pools [i];
        for (int j = 0; j < pool->idle_count; j++)
            tsr_bus_client_destroy (&pool->idle [j]);
        pthread_mutex_destroy (&pool->lock);
    }
    zcert_destroy (&self->cert);
    free (self);
    *self_p = NULL;
}

static tsr_bus_client_t *
s_take (portal_bus_t *self, s_pool_t *pool)
{
    tsr_bus_client_t *client = NULL;
    pthread_mutex_lock (&pool->lock);
    if (pool->idle_count > 0)
        client = pool->idle [--pool->idle_count];
    pthread_mutex_unlock (&pool->lock);
    if (!client)
        client = tsr_bus_client_new (pool->endpoint, self->cert, pool->server_key,
                                     self->timeout_ms, self->retries);
    return client;
}

static void
s_give_back (s_pool_t *pool, tsr_bus_client_t **client_p)
{
    pthread_mutex_lock (&pool->lock);
    if (pool->idle_count < S_POOL_MAX) {
        pool->idle [pool->idle_count++] = *client_p;
        *client_p = NULL;
    }
    pthread_mutex_unlock (&pool->lock);
    tsr_bus_client_destroy (client_p);
}

tsr_status_t
portal_bus_call (portal_bus_t *self, portal_service_t service, const char *method,
                 const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_descriptor,
                 ProtobufCMessage **reply, const char *trace_id, char *message, size_t message_size)
{
    *reply = NULL;
    snprintf (message, message_size, "%s", "");
    if (service >= PORTAL_SERVICE_COUNT)
        return TESSERA__V1__STATUS__STATUS_INTERNAL;
    s_pool_t *pool = &self->pools [service];
    size_t size = 0;
    uint8_t *payload = tsr_message_pack (request, &size);
    if (!payload) {
        snprintf (message, message_size, "out of memory");
        return TESSERA__V1__STATUS__STATUS_INTERNAL;
    }
    tsr_status_t status = TESSERA__V1__STATUS__STATUS_UNAVAILABLE;
    tsr_bus_client_t *client = s_take (self, pool);
    tsr_envelope_t *answer = client ? tsr_bus_client_call (client, method, payload, size, NULL,
                                                           trace_id)
                                    : NULL;
    sodium_memzero (payload, size ? size : 1);
    free (payload);
    if (!answer) {
        //  A client that timed out may get the late reply: never reuse it.
        tsr_bus_client_destroy (&client);
        pthread_mutex_lock (&pool->lock);
        pool->down_until_ms = tsr_now_ms () + PORTAL_BUS_DOWN_MS;
        pthread_mutex_unlock (&pool->lock);
        snprintf (message, message_size, "%s: no reply", s_names [service]);
        return status;
    }
    pthread_mutex_lock (&pool->lock);
    pool->down_until_ms = 0;
    pthread_mutex_unlock (&pool->lock);
    s_give_back (pool, &client);
    status = tsr_peer_unpack_reply (answer, reply_descriptor, reply, message, message_size);
    if (status == TESSERA__V1__STATUS__STATUS_OK && !*reply) {
        status = TESSERA__V1__STATUS__STATUS_INTERNAL;
        snprintf (message, message_size, "%s: reply does not decode", s_names [service]);
    }
    //  Replies may hold secrets too (Login's change token).
    if (answer->payload.data)
        sodium_memzero (answer->payload.data, answer->payload.len);
    tsr_envelope_free (&answer);
    return status;
}

tsr_status_t
portal_bus_call_if_up (portal_bus_t *self, portal_service_t service, const char *method,
                       const ProtobufCMessage *request,
                       const ProtobufCMessageDescriptor *reply_descriptor,
                       ProtobufCMessage **reply, const char *trace_id, char *message,
                       size_t message_size)
{
    *reply = NULL;
    if (service < PORTAL_SERVICE_COUNT) {
        s_pool_t *pool = &self->pools [service];
        pthread_mutex_lock (&pool->lock);
        bool down = pool->down_until_ms > tsr_now_ms ();
        pthread_mutex_unlock (&pool->lock);
        if (down) {
            snprintf (message, message_size, "%s: no reply lately, not asked", s_names [service]);
            return TESSERA__V1__STATUS__STATUS_UNAVAILABLE;
        }
    }
    return portal_bus_call (self, service, method, request, reply_descriptor, reply, trace_id,
                            message, message_size);
}
