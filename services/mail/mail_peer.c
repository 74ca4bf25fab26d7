/*  mail_peer: calls to another service (see mail_peer.h).
*/
#include "mail_peer.h"
#include "tessera/service.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _mail_peer_t {
    pthread_mutex_t lock;
    char name [32];
    tsr_bus_client_t *client;
};

mail_peer_t *
mail_peer_new (tsr_config_t *config, const char *name, zcert_t *cert, int timeout_ms,
               int retries, char *err, size_t err_size)
{
    char key [64], fallback [1024], upper [32];
    snprintf (upper, sizeof upper, "%s", name);
    for (char *p = upper; *p; p++)
        *p = (char) toupper ((unsigned char) *p);
    tsr_service_default_endpoint (tsr_service_port_offset (name), fallback, sizeof fallback);
    snprintf (key, sizeof key, "TSR_%s_ENDPOINT", upper);
    char endpoint [256];
    snprintf (endpoint, sizeof endpoint, "%s", tsr_config_get (config, key, fallback));
    snprintf (fallback, sizeof fallback, "%s/%s.cert",
              tsr_config_get (config, "TSR_KEYRING_DIR", "."), name);
    snprintf (key, sizeof key, "TSR_%s_CERT", upper);
    const char *server_path = tsr_config_get (config, key, fallback);
    zcert_t *server = zsys_file_exists (server_path) ? zcert_load (server_path) : NULL;
    if (!server) {
        snprintf (err, err_size, "cannot read %s's certificate %s (%s)", name, server_path, key);
        return NULL;
    }
    mail_peer_t *self = calloc (1, sizeof *self);
    if (self) {
        pthread_mutex_init (&self->lock, NULL);
        snprintf (self->name, sizeof self->name, "%s", name);
        self->client = tsr_bus_client_new (endpoint, cert, zcert_public_txt (server), timeout_ms,
                                           retries);
        if (!self->client)
            mail_peer_destroy (&self);
    }
    zcert_destroy (&server);
    if (!self)
        snprintf (err, err_size, "cannot make a client to %s at %s", name, endpoint);
    return self;
}

void
mail_peer_destroy (mail_peer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mail_peer_t *self = *self_p;
    tsr_bus_client_destroy (&self->client);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

tsr_status_t
mail_peer_call (mail_peer_t *self, const char *method, const ProtobufCMessage *request,
                const ProtobufCMessageDescriptor *reply_descriptor, const char *trace_id,
                ProtobufCMessage **reply_p, char *message, size_t message_size)
{
    *reply_p = NULL;
    size_t size = protobuf_c_message_get_packed_size (request);
    uint8_t *payload = malloc (size ? size : 1);
    if (!payload) {
        snprintf (message, message_size, "out of memory");
        return TESSERA__V1__STATUS__STATUS_INTERNAL;
    }
    protobuf_c_message_pack (request, payload);
    pthread_mutex_lock (&self->lock);
    tsr_envelope_t *reply = tsr_bus_client_call (self->client, method, payload, size, NULL,
                                                 trace_id && *trace_id ? trace_id : NULL);
    pthread_mutex_unlock (&self->lock);
    free (payload);
    tsr_status_t status = TESSERA__V1__STATUS__STATUS_UNAVAILABLE;
    if (!reply)
        snprintf (message, message_size, "%s did not answer %s", self->name, method);
    else
    if (reply->status != TESSERA__V1__STATUS__STATUS_OK) {
        status = reply->status;
        snprintf (message, message_size, "%s", reply->status_message);
    }
    else {
        *reply_p = protobuf_c_message_unpack (reply_descriptor, NULL, reply->payload.len,
                                              reply->payload.data);
        if (*reply_p)
            status = TESSERA__V1__STATUS__STATUS_OK;
        else
            snprintf (message, message_size, "%s's reply to %s does not decode", self->name,
                      method);
    }
    tsr_envelope_free (&reply);
    return status;
}
