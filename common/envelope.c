/*  tsr_envelope: the bus envelope's codec and bounds (see envelope.h).
*/
#include "tessera/envelope.h"
#include "tessera/bus.h"

#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

bool
tsr_id_valid (const char *text, size_t max)
{
    size_t len = text ? strlen (text) : 0;
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = text [i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

static bool
s_method_valid (const char *method)
{
    size_t len = method ? strlen (method) : 0;
    if (len == 0 || len > TSR_METHOD_MAX
    ||  !((method [0] >= 'a' && method [0] <= 'z') || (method [0] >= 'A' && method [0] <= 'Z')))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = method [i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '_'))
            return false;
    }
    return true;
}

tsr_envelope_t *
tsr_envelope_decode (const uint8_t *data, size_t size, tsr_status_t *status,
                     char *err, size_t err_size)
{
    *status = TESSERA__V1__STATUS__STATUS_MALFORMED;
    if (size > TSR_ENVELOPE_MAX_BYTES) {
        *status = TESSERA__V1__STATUS__STATUS_RESOURCE_EXHAUSTED;
        snprintf (err, err_size, "message larger than %d bytes", TSR_ENVELOPE_MAX_BYTES);
        return NULL;
    }
    tsr_envelope_t *envelope = tessera__v1__envelope__unpack (NULL, size, data);
    if (!envelope) {
        snprintf (err, err_size, "not a tessera.v1.Envelope");
        return NULL;
    }
    //  protobuf-c would cut a text field at a NUL ("req\0x" read as "req"),
    //  and keeps a field numbered 0 that it then cannot decode again.
    if (!tsr_payload_strings_clean (&tessera__v1__envelope__descriptor, data, size)) {
        snprintf (err, err_size, "not a tessera.v1.Envelope: a NUL in text, or field number 0");
        tsr_envelope_free (&envelope);
        return NULL;
    }
    const char *problem = NULL;
    if (!tsr_id_valid (envelope->request_id, TSR_REQUEST_ID_MAX))
        problem = "request_id must be 1 to 128 characters of [A-Za-z0-9._:-]";
    else
    if (!s_method_valid (envelope->method))
        problem = "method must be 1 to 64 characters of [A-Za-z0-9_], starting with a letter";
    else
    if (*envelope->trace_id && !tsr_id_valid (envelope->trace_id, TSR_TRACE_ID_MAX))
        problem = "trace_id must be at most 64 characters of [A-Za-z0-9._:-]";
    else
    if (*envelope->message_id && !tsr_id_valid (envelope->message_id, TSR_REQUEST_ID_MAX))
        problem = "message_id must be at most 128 characters of [A-Za-z0-9._:-]";
    else
    if (envelope->is_reply)
        problem = "a reply was sent as a request";
    if (problem) {
        snprintf (err, err_size, "%s", problem);
        tsr_envelope_free (&envelope);
        return NULL;
    }
    *status = TESSERA__V1__STATUS__STATUS_OK;
    return envelope;
}

void
tsr_envelope_free (tsr_envelope_t **envelope_p)
{
    if (!envelope_p || !*envelope_p)
        return;
    tessera__v1__envelope__free_unpacked (*envelope_p, NULL);
    *envelope_p = NULL;
}

uint8_t *
tsr_envelope_encode (const tsr_envelope_t *envelope, size_t *size)
{
    return tsr_message_pack (&envelope->base, size);
}

void
tsr_random_id (char id [TSR_ID_HEX_SIZE])
{
    unsigned char bytes [16];
    if (sodium_init () < 0)
        abort ();
    randombytes_buf (bytes, sizeof bytes);
    sodium_bin2hex (id, TSR_ID_HEX_SIZE, bytes, sizeof bytes);
}

int64_t
tsr_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

const char *
tsr_status_name (tsr_status_t status)
{
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value (&tessera__v1__status__descriptor, (int) status);
    if (!value)
        return "UNKNOWN";
    const char *name = value->name;
    return strncmp (name, "STATUS_", 7) == 0 ? name + 7 : name;
}
