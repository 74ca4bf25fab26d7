/*  Handler helpers: pack a reply, or refuse with a status and a message
    (see tsr_call_t in bus.h).
*/
#include "tessera/bus.h"

#include <stdarg.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

uint8_t *
tsr_message_pack (const ProtobufCMessage *message, size_t *size)
{
    *size = protobuf_c_message_get_packed_size (message);
    uint8_t *packed = malloc (*size ? *size : 1);
    if (packed)
        protobuf_c_message_pack (message, packed);
    return packed;
}

tsr_status_t
tsr_call_reply (tsr_call_t *call, const ProtobufCMessage *message, const char *text)
{
    size_t size = 0;
    uint8_t *payload = tsr_message_pack (message, &size);
    if (!payload)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
    free (call->reply_payload);
    call->reply_payload = payload;
    call->reply_size = size;
    snprintf (call->message, sizeof call->message, "%s", text ? text : "ok");
    return TESSERA__V1__STATUS__STATUS_OK;
}

int
tsr_call_keep (tsr_call_t *call, const ProtobufCMessage *message)
{
    size_t size = 0;
    uint8_t *kept = tsr_message_pack (message, &size);
    if (!kept)
        return -1;
    free (call->kept_payload);
    call->kept_payload = kept;
    call->kept_size = size;
    return 0;
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

//  A varint at data [*pos]; false when it runs past size or 10 bytes.
static bool
s_varint (const uint8_t *data, size_t size, size_t *pos, uint64_t *value)
{
    *value = 0;
    for (int shift = 0; shift < 70 && *pos < size; shift += 7) {
        uint8_t byte = data [(*pos)++];
        *value |= (uint64_t) (byte & 0x7F) << shift;
        if (!(byte & 0x80))
            return true;
    }
    return false;
}

#define S_NESTING_MAX 16

//  Walks the wire form: false when a string field (at any depth of nested
//  messages) holds a NUL byte, or the encoding is broken. Field number 0 is
//  broken too: protobuf-c takes it when its key is written in two bytes
//  (0x80 0x00), keeps it as an unknown field and writes it back in one,
//  which it then refuses, so what a service accepted would not decode again
//  where it is passed on.
static bool
s_strings_clean (const ProtobufCMessageDescriptor *descriptor, const uint8_t *data, size_t size,
                 int depth, const char **bad_field)
{
    if (depth > S_NESTING_MAX)
        return false;
    size_t pos = 0;
    while (pos < size) {
        uint64_t key, value;
        if (!s_varint (data, size, &pos, &key) || key >> 3 == 0)
            return false;
        switch (key & 7) {
            case 0:
                if (!s_varint (data, size, &pos, &value))
                    return false;
                break;
            case 1:
            case 5:
                if (size - pos < ((key & 7) == 1 ? 8u : 4u))
                    return false;
                pos += (key & 7) == 1 ? 8 : 4;
                break;
            case 2: {
                if (!s_varint (data, size, &pos, &value) || value > size - pos)
                    return false;
                const ProtobufCFieldDescriptor *field = key >> 3 <= UINT32_MAX
                    ? protobuf_c_message_descriptor_get_field (descriptor, (unsigned) (key >> 3))
                    : NULL;
                if (field && field->type == PROTOBUF_C_TYPE_STRING
                &&  memchr (data + pos, 0, (size_t) value)) {
                    *bad_field = field->name;
                    return false;
                }
                if (field && field->type == PROTOBUF_C_TYPE_MESSAGE
                &&  !s_strings_clean (field->descriptor, data + pos, (size_t) value, depth + 1,
                                      bad_field))
                    return false;
                pos += (size_t) value;
                break;
            }
            default:
                return false;       //  groups: not in proto3
        }
    }
    return pos == size;
}

bool
tsr_payload_strings_clean (const ProtobufCMessageDescriptor *descriptor, const uint8_t *data,
                           size_t size)
{
    const char *bad_field = NULL;
    return s_strings_clean (descriptor, data, size, 0, &bad_field);
}

ProtobufCMessage *
tsr_call_unpack (tsr_call_t *call, const ProtobufCMessageDescriptor *descriptor,
                 tsr_status_t *status)
{
    const ProtobufCBinaryData *payload = &call->request->payload;
    ProtobufCMessage *message = protobuf_c_message_unpack (descriptor, NULL, payload->len,
                                                           payload->data);
    const char *bad_field = NULL;
    if (!message)
        *status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT,
                                 "payload is not a valid %s", descriptor->short_name);
    else
    if (!s_strings_clean (descriptor, payload->data, payload->len, 0, &bad_field)) {
        *status = bad_field
            ? tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT,
                             "%s: text must not hold NUL characters", bad_field)
            : tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT,
                             "payload is not a valid %s", descriptor->short_name);
        protobuf_c_message_free_unpacked (message, NULL);
        message = NULL;
    }
    return message;
}
