/*  Handler helpers: pack a reply, or refuse with a status and a message
    (see tsr_call_t in bus.h).
*/
#include "tessera/bus.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

tsr_status_t
tsr_call_reply (tsr_call_t *call, const ProtobufCMessage *message, const char *text)
{
    size_t size = protobuf_c_message_get_packed_size (message);
    uint8_t *payload = malloc (size ? size : 1);
    if (!payload)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
    protobuf_c_message_pack (message, payload);
    free (call->reply_payload);
    call->reply_payload = payload;
    call->reply_size = size;
    snprintf (call->message, sizeof call->message, "%s", text ? text : "ok");
    return TESSERA__V1__STATUS__STATUS_OK;
}

tsr_status_t
tsr_call_fail (tsr_call_t *call, tsr_status_t status, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (call->message, sizeof call->message, format, args);
    va_end (args);
    return status;
}
