/*  validation_seal: sealing to mail's key (see validation_seal.h).
*/
#include "validation_seal.h"

#include <stdlib.h>

int
validation_seal (const uint8_t public_key [crypto_box_PUBLICKEYBYTES], const char *text,
                 size_t len, uint8_t **sealed_p, size_t *sealed_size)
{
    *sealed_p = NULL;
    *sealed_size = 0;
    uint8_t *sealed = malloc (len + VALIDATION_SEAL_OVERHEAD);
    if (!sealed)
        return -1;
    if (crypto_box_seal (sealed, (const unsigned char *) text, len, public_key) != 0) {
        free (sealed);
        return -1;
    }
    *sealed_p = sealed;
    *sealed_size = len + VALIDATION_SEAL_OVERHEAD;
    return 0;
}
