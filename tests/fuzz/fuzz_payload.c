/*  fuzz_payload: see fuzz_payload.h. */
#include "fuzz_payload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  A check names a method of the service and casts its real request type;
//  a slip in a target's table is the target's bug, caught on first use.
static const fuzz_payload_check_t *
s_check_for (const ProtobufCMethodDescriptor *method, const fuzz_payload_check_t *checks,
             size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp (checks [i].method, method->name) == 0) {
            if (checks [i].request != method->input)
                __builtin_trap ();
            return &checks [i];
        }
    return NULL;
}

//  What decodes re-encodes, and the encoding decodes again.
static void
s_round_trip (const ProtobufCMessageDescriptor *descriptor, const ProtobufCMessage *message)
{
    size_t size = protobuf_c_message_get_packed_size (message);
    uint8_t *packed = malloc (size ? size : 1);
    if (!packed)
        abort ();
    if (protobuf_c_message_pack (message, packed) != size)
        __builtin_trap ();
    ProtobufCMessage *again = protobuf_c_message_unpack (descriptor, NULL, size, packed);
    if (!again || !tsr_payload_strings_clean (descriptor, packed, size))
        __builtin_trap ();
    protobuf_c_message_free_unpacked (again, NULL);
    free (packed);
}

//  TSR_FUZZ_VERBOSE=1 prints each input's method and outcome (to see how
//  far the seeds go).
static void
s_check_answer (const tsr_call_t *call, tsr_status_t status)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv ("TSR_FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf (stderr, "%s: %d %s\n", call->request->method, (int) status, call->message);
    if (!protobuf_c_enum_descriptor_get_value (&tessera__v1__status__descriptor, (int) status)
    ||  !memchr (call->message, 0, sizeof call->message))
        __builtin_trap ();
}

void
fuzz_payload_run (const ProtobufCServiceDescriptor *service, const fuzz_payload_check_t *checks,
                  size_t count, const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < count; i++)
        if (!protobuf_c_service_descriptor_get_method_by_name (service, checks [i].method))
            __builtin_trap ();
    if (size < 1 || service->n_methods == 0)
        return;
    const ProtobufCMethodDescriptor *method = &service->methods [data [0] % service->n_methods];
    //  A copy of exactly the payload's size, so reads past it are caught.
    uint8_t *payload = malloc (size - 1 ? size - 1 : 1);
    if (!payload)
        abort ();
    memcpy (payload, data + 1, size - 1);
    tsr_envelope_t request = TESSERA__V1__ENVELOPE__INIT;
    request.method = (char *) method->name;
    request.request_id = "fuzz-request";
    request.trace_id = "fuzz-trace";
    request.payload.data = payload;
    request.payload.len = size - 1;
    tsr_call_t call;
    memset (&call, 0, sizeof call);
    call.service = service->short_name;
    call.instance_id = "fuzz";
    call.caller_key = "fuzz-caller-key";
    call.caller_roles = UINT32_MAX;     //  every role: each path of a check is reachable
    call.request = &request;
    tsr_status_t status = TESSERA__V1__STATUS__STATUS_OK;
    ProtobufCMessage *message = tsr_call_unpack (&call, method->input, &status);
    if (!message)
        s_check_answer (&call, status);
    else {
        s_round_trip (method->input, message);
        const fuzz_payload_check_t *check = s_check_for (method, checks, count);
        if (check)
            s_check_answer (&call, check->check (&call, message));
        protobuf_c_message_free_unpacked (message, NULL);
    }
    free (call.reply_payload);
    free (payload);
}
