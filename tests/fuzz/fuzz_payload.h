/*  fuzz_payload: the shared half of the fuzz_payload_<service> targets.

    An input is one method selector byte, then a request payload. The byte
    picks a method of the service's descriptor (the rpc order of its
    .proto, modulo their count); the payload goes through tsr_call_unpack
    as that method's request type, as the bus hands it to the handler.
    What decodes must re-encode and decode again. When the service has a
    check for the method (the pure first step of its handler: every field
    bound that needs no database), it runs on the decoded request; its
    status must be a Status value and its message a terminated string.

    Each target lists its checks (fuzz_payload_check_t) and calls
    fuzz_payload_run from LLVMFuzzerTestOneInput.
*/
#ifndef FUZZ_PAYLOAD_H
#define FUZZ_PAYLOAD_H

#include "tessera/bus.h"

#include <stddef.h>
#include <stdint.h>

typedef tsr_status_t (fuzz_payload_check_fn) (tsr_call_t *call, const ProtobufCMessage *request);

typedef struct {
    const char *method;                             //  the rpc name
    const ProtobufCMessageDescriptor *request;      //  its request type, as the check casts it
    fuzz_payload_check_fn *check;
} fuzz_payload_check_t;

void fuzz_payload_run (const ProtobufCServiceDescriptor *service,
                       const fuzz_payload_check_t *checks, size_t count,
                       const uint8_t *data, size_t size);

#endif
