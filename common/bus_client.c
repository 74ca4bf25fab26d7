/*  tsr_bus client: DEALER with CURVE, per-attempt timeout, bounded retries
    (see bus.h). After a timeout the socket is closed and a new one made
    (the "lazy pirate" pattern), so a late reply to an earlier attempt can
    not be taken for the answer to a later call.
*/
#include "tessera/bus.h"
#include "tessera/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _tsr_bus_client_t {
    char *endpoint;
    char server_key [41];
    zcert_t *cert;
    zsock_t *socket;
    int timeout_ms;
    int retries;
};

static int
s_connect (tsr_bus_client_t *self)
{
    zsock_destroy (&self->socket);
    self->socket = zsock_new (ZMQ_DEALER);
    if (!self->socket)
        return -1;
    zcert_apply (self->cert, self->socket);
    zsock_set_curve_serverkey (self->socket, self->server_key);
    zsock_set_linger (self->socket, 0);
    zsock_set_maxmsgsize (self->socket, TSR_BUS_REPLY_MAX);
    return zsock_connect (self->socket, "%s", self->endpoint);
}

tsr_bus_client_t *
tsr_bus_client_new (const char *endpoint, zcert_t *cert, const char *server_public_key,
                    int timeout_ms, int retries)
{
    if (!endpoint || !cert || !server_public_key || strlen (server_public_key) != 40)
        return NULL;
    tsr_bus_client_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoint = strdup (endpoint);
    snprintf (self->server_key, sizeof self->server_key, "%s", server_public_key);
    self->cert = cert;
    self->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    self->retries = retries >= 0 ? retries : 0;
    if (!self->endpoint || s_connect (self))
        tsr_bus_client_destroy (&self);
    return self;
}

void
tsr_bus_client_destroy (tsr_bus_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsr_bus_client_t *self = *self_p;
    zsock_destroy (&self->socket);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

tsr_envelope_t *
tsr_bus_client_call (tsr_bus_client_t *self, const char *method, const uint8_t *payload,
                     size_t payload_size, const char *request_id, const char *trace_id)
{
    char fresh_request [TSR_ID_HEX_SIZE], fresh_trace [TSR_ID_HEX_SIZE], message_id [TSR_ID_HEX_SIZE];
    tsr_random_id (fresh_request);
    tsr_random_id (fresh_trace);
    tsr_random_id (message_id);
    tsr_envelope_t request = TESSERA__V1__ENVELOPE__INIT;
    request.message_id = message_id;
    request.request_id = (char *) (request_id ? request_id : fresh_request);
    //  A call made while handling a request or an event carries its trace
    //  id on, so the chain can be followed across services.
    const char *current = tsr_trace_or_current (trace_id);
    request.trace_id = (char *) (current ? current : fresh_trace);
    request.method = (char *) method;
    request.payload.data = (uint8_t *) payload;
    request.payload.len = payload_size;
    request.sent_at_unix_ms = tsr_now_ms ();
    size_t size = 0;
    uint8_t *data = tsr_envelope_encode (&request, &size);
    if (!data)
        return NULL;
    tsr_envelope_t *reply = NULL;
    for (int attempt = 0; attempt <= self->retries && !reply; attempt++) {
        if (attempt > 0 && s_connect (self))
            break;
        zframe_t *frame = zframe_new (data, size);
        if (!frame || zframe_send (&frame, self->socket, 0)) {
            zframe_destroy (&frame);
            continue;
        }
        zpoller_t *poller = zpoller_new (self->socket, NULL);
        int64_t deadline = zclock_mono () + self->timeout_ms;
        while (poller && !reply) {
            int64_t left = deadline - zclock_mono ();
            if (left <= 0 || zpoller_wait (poller, (int) left) != self->socket)
                break;
            zframe_t *answer = zframe_recv (self->socket);
            if (!answer)
                break;
            Tessera__V1__Envelope *candidate = tessera__v1__envelope__unpack (
                NULL, zframe_size (answer), zframe_data (answer));
            zframe_destroy (&answer);
            //  Keep only the answer to this request; drop strays.
            if (candidate && candidate->is_reply
            &&  (streq (candidate->request_id, request.request_id) || !*candidate->request_id))
                reply = candidate;
            else
            if (candidate)
                tessera__v1__envelope__free_unpacked (candidate, NULL);
        }
        zpoller_destroy (&poller);
    }
    //  No answer at all: drop the socket's queue (a service that stays down
    //  would otherwise see every unanswered request pile up until sends
    //  block) and start the next call on a fresh socket.
    if (!reply)
        s_connect (self);
    free (data);
    return reply;
}
