/*  Fuzz target: the bus envelope decoder (every request from outside goes
    through it first).
*/
#include "tessera/envelope.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err [256];
    tsr_status_t status;
    tsr_envelope_t *envelope = tsr_envelope_decode (data, size, &status, err, sizeof err);
    if (envelope) {
        //  What decodes re-encodes.
        size_t encoded_size = 0;
        uint8_t *encoded = tsr_envelope_encode (envelope, &encoded_size);
        if (!encoded)
            __builtin_trap ();
        free (encoded);
        tsr_envelope_free (&envelope);
    }
    return 0;
}
