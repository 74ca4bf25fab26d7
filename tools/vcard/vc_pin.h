/*  vc_pin: a PIV reference value (PIN 80 or PUK 81) and its retry counter.

    Values are 8 bytes, 6 to 8 characters padded with FF (SP 800-73-4
    3.2.1). Each wrong value costs one try; at zero the value is blocked
    and is no longer compared at all. A right value restores the counter.
    The comparison takes the same time whatever the bytes.
*/
#ifndef VC_PIN_H
#define VC_PIN_H

#include <stdbool.h>
#include <stdint.h>

#define VC_PIN_LEN          8
#define VC_PIN_TRIES        3

typedef struct {
    uint8_t value [VC_PIN_LEN];
    uint8_t tries_left;
    uint8_t tries_max;
} vc_pin_t;

typedef enum {
    VC_PIN_MATCH,
    VC_PIN_MISMATCH,            //  one try spent; tries_left says how many remain
    VC_PIN_BLOCKED              //  no tries left: nothing was compared
} vc_pin_result_t;

//  Sets a new value and restores the counter to its maximum.
void vc_pin_set (vc_pin_t *self, const uint8_t value [VC_PIN_LEN]);
//  Compares a candidate, spending a try when it is wrong.
vc_pin_result_t vc_pin_check (vc_pin_t *self, const uint8_t candidate [VC_PIN_LEN]);
bool vc_pin_blocked (const vc_pin_t *self);
//  The status word for a result: 90 00, 63 CX or 69 83.
uint16_t vc_pin_sw (const vc_pin_t *self, vc_pin_result_t result);
//  True when value is 6 to 8 characters then FF padding; digits_only
//  also requires ASCII digits (the PIN; the PUK may hold any byte but FF).
bool vc_pin_format_ok (const uint8_t value [VC_PIN_LEN], bool digits_only);

#endif
