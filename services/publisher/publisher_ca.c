/*  publisher_ca: calls to the ca service (see publisher_ca.h).
*/
#include "publisher_ca.h"
#include "tessera/service.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _publisher_ca_t {
    pthread_mutex_t lock;
    tsr_bus_client_t *client;
};

publisher_ca_t *
publisher_ca_new (tsr_config_t *config, zcert_t *cert, char *err, size_t err_size)
{
    char fallback_endpoint [256], fallback_cert [1024];
    tsr_service_default_endpoint (tsr_service_port_offset ("ca"), fallback_endpoint,
                                  sizeof fallback_endpoint);
    snprintf (fallback_cert, sizeof fallback_cert, "%s/ca.cert",
              tsr_config_get (config, "TSR_KEYRING_DIR", "."));
    const char *endpoint = tsr_config_get (config, "TSR_CA_ENDPOINT", fallback_endpoint);
    const char *server_path = tsr_config_get (config, "TSR_CA_CERT", fallback_cert);
    long timeout_ms = 0;
    if (tsr_config_get_long (config, "TSR_CA_TIMEOUT_MS", 5000, 100, 600000, &timeout_ms,
                             err, err_size))
        return NULL;
    zcert_t *server = zsys_file_exists (server_path) ? zcert_load (server_path) : NULL;
    if (!server) {
        snprintf (err, err_size, "cannot read the ca's certificate %s (TSR_CA_CERT)", server_path);
        return NULL;
    }
    publisher_ca_t *self = calloc (1, sizeof *self);
    if (self) {
        pthread_mutex_init (&self->lock, NULL);
        self->client = tsr_bus_client_new (endpoint, cert, zcert_public_txt (server),
                                           (int) timeout_ms, 1);
        if (!self->client)
            publisher_ca_destroy (&self);
    }
    zcert_destroy (&server);
    if (!self)
        snprintf (err, err_size, "cannot connect to the ca at %s (TSR_CA_ENDPOINT)", endpoint);
    return self;
}

void
publisher_ca_destroy (publisher_ca_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    publisher_ca_t *self = *self_p;
    tsr_bus_client_destroy (&self->client);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

tsr_status_t
publisher_ca_call (publisher_ca_t *self, const char *method, const ProtobufCMessage *request,
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
        snprintf (message, message_size, "the ca did not answer %s", method);
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
            snprintf (message, message_size, "the ca's reply to %s does not decode", method);
    }
    tsr_envelope_free (&reply);
    return status;
}
