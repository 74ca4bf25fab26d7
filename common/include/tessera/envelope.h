/*  tsr_envelope: encoding, decoding and bounds of the bus Envelope.

    Every frame that reaches a service is decoded here first: a frame over
    TSR_ENVELOPE_MAX_BYTES, one that is not a valid Envelope, or one whose
    identifiers break their bounds is refused with a reason, before any
    handler or database sees it.
*/
#ifndef TSR_ENVELOPE_H
#define TSR_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tessera/v1/envelope.pb-c.h"

#define TSR_ENVELOPE_MAX_BYTES  (1024 * 1024)
#define TSR_REQUEST_ID_MAX      128
#define TSR_METHOD_MAX          64
#define TSR_TRACE_ID_MAX        64
#define TSR_ID_HEX_SIZE         33      //  16 random bytes as hex, with NUL

typedef Tessera__V1__Envelope tsr_envelope_t;
typedef Tessera__V1__Status tsr_status_t;

//  Decodes and checks bounds: request_id is 1..max characters and trace_id
//  0..max (may be empty) of [A-Za-z0-9._:-], method 1..TSR_METHOD_MAX of [A-Za-z0-9_] starting
//  with a letter. Returns the envelope (free with tsr_envelope_free), or
//  NULL with a reason in err and the status to answer in *status.
tsr_envelope_t *tsr_envelope_decode (const uint8_t *data, size_t size,
                                     tsr_status_t *status, char *err, size_t err_size);
void tsr_envelope_free (tsr_envelope_t **envelope_p);

//  Packs into a heap buffer (caller frees). NULL on allocation failure.
uint8_t *tsr_envelope_encode (const tsr_envelope_t *envelope, size_t *size);

//  True when text is 1..max characters of [A-Za-z0-9._:-].
bool tsr_id_valid (const char *text, size_t max);

//  16 random bytes from the CSPRNG as 32 lower-case hex characters.
void tsr_random_id (char id [TSR_ID_HEX_SIZE]);
int64_t tsr_now_ms (void);
//  "OK", "INVALID_ARGUMENT" ...: the enum name without its prefix.
const char *tsr_status_name (tsr_status_t status);

#endif
