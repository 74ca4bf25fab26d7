/*  Ping and ListEvents: the two methods every service answers (see bus.h).
*/
#include "tessera/events.h"
#include "tessera/log.h"
#include "bus_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ECHO_MAX 256

tsr_status_t
tsr_builtin_ping (tsr_call_t *call)
{
    Tessera__V1__PingRequest *request = tessera__v1__ping_request__unpack (
        NULL, call->request->payload.len, call->request->payload.data);
    if (!request) {
        snprintf (call->message, sizeof call->message, "payload is not a PingRequest");
        return TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT;
    }
    tsr_status_t status = TESSERA__V1__STATUS__STATUS_OK;
    if (strlen (request->echo) > S_ECHO_MAX) {
        snprintf (call->message, sizeof call->message, "echo is longer than %d bytes", S_ECHO_MAX);
        status = TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT;
        goto done;
    }
    Tessera__V1__PingReply reply = TESSERA__V1__PING_REPLY__INIT;
    reply.service = (char *) call->service;
    reply.version = TESSERA_VERSION;
    reply.instance_id = (char *) call->instance_id;
    reply.served_at_unix_ms = tsr_now_ms ();
    reply.echo = request->echo;
    reply.caller_key = (char *) call->caller_key;
    call->reply_size = tessera__v1__ping_reply__get_packed_size (&reply);
    call->reply_payload = malloc (call->reply_size ? call->reply_size : 1);
    if (!call->reply_payload) {
        snprintf (call->message, sizeof call->message, "out of memory");
        status = TESSERA__V1__STATUS__STATUS_INTERNAL;
        goto done;
    }
    tessera__v1__ping_reply__pack (&reply, call->reply_payload);
    snprintf (call->message, sizeof call->message, "pong");
done:
    tessera__v1__ping_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
tsr_builtin_list_events (tsr_call_t *call)
{
    Tessera__V1__ListEventsRequest *request = tessera__v1__list_events_request__unpack (
        NULL, call->request->payload.len, call->request->payload.data);
    if (!request) {
        snprintf (call->message, sizeof call->message, "payload is not a ListEventsRequest");
        return TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT;
    }
    int rc = tsr_events_list (call->db, call->service, request->after_seq, request->limit,
                              &call->reply_payload, &call->reply_size);
    tessera__v1__list_events_request__free_unpacked (request, NULL);
    if (rc) {
        snprintf (call->message, sizeof call->message, "cannot read the outbox");
        return TESSERA__V1__STATUS__STATUS_INTERNAL;
    }
    return TESSERA__V1__STATUS__STATUS_OK;
}
