/*  Fuzz target: the bus envelope decoder (every request from outside goes
    through it first).
*/
#include "tessera/envelope.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err [256];
    tsr_status_t status;
    tsr_envelope_t *envelope = tsr_envelope_decode (data, size, &status, err, sizeof err);
    if (envelope) {
        //  What decodes re-encodes, and decodes again to the same envelope
        //  (a service re-encodes what it took, to store or pass it on).
        size_t encoded_size = 0;
        uint8_t *encoded = tsr_envelope_encode (envelope, &encoded_size);
        if (!encoded)
            __builtin_trap ();
        tsr_envelope_t *again = tsr_envelope_decode (encoded, encoded_size, &status, err,
                                                     sizeof err);
        if (!again
        ||  strcmp (again->request_id, envelope->request_id) != 0
        ||  strcmp (again->method, envelope->method) != 0
        ||  strcmp (again->trace_id, envelope->trace_id) != 0
        ||  again->payload.len != envelope->payload.len
        ||  (envelope->payload.len
             && memcmp (again->payload.data, envelope->payload.data, envelope->payload.len)))
            __builtin_trap ();
        tsr_envelope_free (&again);
        free (encoded);
        tsr_envelope_free (&envelope);
    }
    return 0;
}
