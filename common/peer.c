/*  tsr_peer: calls to another tessera service (see peer.h).
*/
#include "tessera/peer.h"
#include "tessera/service.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _tsr_peer_t {
    char name [16];
    pthread_mutex_t lock;
    tsr_bus_client_t *client;
};

tsr_peer_t *
tsr_peer_new (const char *name, const char *endpoint, zcert_t *cert,
              const char *server_public_key, int timeout_ms, int retries)
{
    tsr_peer_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->name, sizeof self->name, "%s", name);
    pthread_mutex_init (&self->lock, NULL);
    self->client = tsr_bus_client_new (endpoint, cert, server_public_key, timeout_ms, retries);
    if (!self->client)
        tsr_peer_destroy (&self);
    return self;
}

tsr_peer_t *
tsr_peer_new_configured (tsr_config_t *config, const char *name, zcert_t *cert,
                         int timeout_ms, int retries, char *err, size_t err_size)
{
    char key [64], fallback_endpoint [256], fallback_cert [1024];
    tsr_service_default_endpoint (tsr_service_port_offset (name), fallback_endpoint,
                                  sizeof fallback_endpoint);
    snprintf (fallback_cert, sizeof fallback_cert, "%s/%s.cert",
              tsr_config_get (config, "TSR_KEYRING_DIR", "."), name);
    tsr_config_key (key, sizeof key, name, "ENDPOINT");
    const char *endpoint = tsr_config_get (config, key, fallback_endpoint);
    long timeout = 0;
    tsr_config_key (key, sizeof key, name, "TIMEOUT_MS");
    if (tsr_config_get_long (config, key, timeout_ms, 100, 600000, &timeout, err, err_size))
        return NULL;
    tsr_config_key (key, sizeof key, name, "CERT");
    const char *server_path = tsr_config_get (config, key, fallback_cert);
    zcert_t *server = zsys_file_exists (server_path) ? zcert_load (server_path) : NULL;
    if (!server) {
        snprintf (err, err_size, "cannot read %s's certificate %s (%s)", name, server_path, key);
        return NULL;
    }
    tsr_peer_t *self = tsr_peer_new (name, endpoint, cert, zcert_public_txt (server),
                                     (int) timeout, retries);
    zcert_destroy (&server);
    if (!self) {
        tsr_config_key (key, sizeof key, name, "ENDPOINT");
        snprintf (err, err_size, "cannot make a client to %s at %s (%s)", name, endpoint, key);
    }
    return self;
}

void
tsr_peer_destroy (tsr_peer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsr_peer_t *self = *self_p;
    tsr_bus_client_destroy (&self->client);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

tsr_status_t
tsr_peer_call (tsr_peer_t *self, const char *method, const ProtobufCMessage *request,
               const ProtobufCMessageDescriptor *reply_descriptor, const char *request_id,
               const char *trace_id, ProtobufCMessage **reply_p, char *message,
               size_t message_size)
{
    *reply_p = NULL;
    size_t size = 0;
    uint8_t *payload = tsr_message_pack (request, &size);
    if (!payload) {
        snprintf (message, message_size, "out of memory");
        return TESSERA__V1__STATUS__STATUS_INTERNAL;
    }
    pthread_mutex_lock (&self->lock);
    tsr_envelope_t *reply = tsr_bus_client_call (self->client, method, payload, size,
                                                 request_id && *request_id ? request_id : NULL,
                                                 trace_id && *trace_id ? trace_id : NULL);
    pthread_mutex_unlock (&self->lock);
    OPENSSL_cleanse (payload, size);
    free (payload);
    tsr_status_t status = TESSERA__V1__STATUS__STATUS_UNAVAILABLE;
    if (!reply)
        snprintf (message, message_size, "%s did not answer %s", self->name, method);
    else {
        status = tsr_peer_unpack_reply (reply, reply_descriptor, reply_p, message, message_size);
        if (status == TESSERA__V1__STATUS__STATUS_OK && !*reply_p) {
            status = TESSERA__V1__STATUS__STATUS_UNAVAILABLE;
            snprintf (message, message_size, "%s's reply to %s does not decode", self->name,
                      method);
        }
    }
    tsr_envelope_free (&reply);
    return status;
}

tsr_status_t
tsr_peer_unpack_reply (const tsr_envelope_t *reply,
                       const ProtobufCMessageDescriptor *reply_descriptor,
                       ProtobufCMessage **reply_p, char *message, size_t message_size)
{
    *reply_p = NULL;
    if (reply->status != TESSERA__V1__STATUS__STATUS_OK) {
        snprintf (message, message_size, "%s",
                  reply->status_message ? reply->status_message : "");
        return reply->status;
    }
    *reply_p = protobuf_c_message_unpack (reply_descriptor, NULL, reply->payload.len,
                                          reply->payload.data);
    return TESSERA__V1__STATUS__STATUS_OK;
}
