/*  perso_peer: calls to other services (see perso_peer.h).
*/
#include "perso_peer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _perso_peer_t {
    pthread_mutex_t lock;
    tsr_bus_client_t *client;
    char name [32];
};

perso_peer_t *
perso_peer_new (const char *name, const char *endpoint, zcert_t *cert,
                const char *server_public_key, int timeout_ms)
{
    perso_peer_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init (&self->lock, NULL);
    snprintf (self->name, sizeof self->name, "%s", name);
    self->client = tsr_bus_client_new (endpoint, cert, server_public_key, timeout_ms, 1);
    if (!self->client)
        perso_peer_destroy (&self);
    return self;
}

void
perso_peer_destroy (perso_peer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    perso_peer_t *self = *self_p;
    tsr_bus_client_destroy (&self->client);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

tsr_status_t
perso_peer_call (perso_peer_t *self, const char *method, const ProtobufCMessage *request,
                 const ProtobufCMessageDescriptor *reply_descriptor, const char *trace_id,
                 const char *request_id, ProtobufCMessage **reply_p, char *message,
                 size_t message_size)
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
    tsr_envelope_t *reply = tsr_bus_client_call (self->client, method, payload, size,
                                                 request_id && *request_id ? request_id : NULL,
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
