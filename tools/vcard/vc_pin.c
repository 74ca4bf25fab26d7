/*  vc_pin: reference values with retry counters (see vc_pin.h). */
#include "vc_pin.h"
#include "vc_apdu.h"

#include <openssl/crypto.h>
#include <string.h>

void
vc_pin_set (vc_pin_t *self, const uint8_t value [VC_PIN_LEN])
{
    memcpy (self->value, value, VC_PIN_LEN);
    if (self->tries_max == 0 || self->tries_max > 15)
        self->tries_max = VC_PIN_TRIES;
    self->tries_left = self->tries_max;
}

bool
vc_pin_blocked (const vc_pin_t *self)
{
    return self->tries_left == 0;
}

vc_pin_result_t
vc_pin_check (vc_pin_t *self, const uint8_t candidate [VC_PIN_LEN])
{
    if (vc_pin_blocked (self))
        return VC_PIN_BLOCKED;
    if (CRYPTO_memcmp (self->value, candidate, VC_PIN_LEN) == 0) {
        self->tries_left = self->tries_max;
        return VC_PIN_MATCH;
    }
    self->tries_left--;
    return VC_PIN_MISMATCH;
}

uint16_t
vc_pin_sw (const vc_pin_t *self, vc_pin_result_t result)
{
    switch (result) {
        case VC_PIN_MATCH:
            return VC_SW_OK;
        case VC_PIN_MISMATCH:
            return (uint16_t) (VC_SW_VERIFY_FAIL | (self->tries_left & 0x0F));
        case VC_PIN_BLOCKED:
        default:
            return VC_SW_AUTH_BLOCKED;
    }
}

bool
vc_pin_format_ok (const uint8_t value [VC_PIN_LEN], bool digits_only)
{
    size_t chars = 0;
    while (chars < VC_PIN_LEN && value [chars] != 0xFF) {
        if (digits_only && (value [chars] < '0' || value [chars] > '9'))
            return false;
        chars++;
    }
    for (size_t i = chars; i < VC_PIN_LEN; i++)
        if (value [i] != 0xFF)
            return false;
    return chars >= 6;
}
