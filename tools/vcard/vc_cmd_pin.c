/*  VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER (SP 800-73-4
    3.2.1 to 3.2.3) for the PIV Card Application PIN (80) and the PUK (81).
    A counter change is saved before the card answers, so pulling the card
    after a wrong PIN never gives the try back.
*/
#include "vc_card_internal.h"

#include <string.h>

//  Saves after a check spent or restored tries; a failed save turns any
//  answer into 65 81.
static uint16_t
s_saved (vc_card_t *card, uint16_t sw)
{
    if (vc_card_save (card))
        return VC_SW_MEMORY_FAILURE;
    return sw;
}

uint16_t
vc_cmd_verify (vc_card_t *card, const vc_apdu_t *apdu, const uint8_t *data, size_t data_len,
               vc_buf_t *out)
{
    (void) out;
    if (apdu->p1 != 0x00 && apdu->p1 != 0xFF)
        return VC_SW_INCORRECT_P1P2;
    if (apdu->p2 != 0x80)
        return VC_SW_REF_NOT_FOUND;     //  only the application PIN: no global PIN, no OCC
    vc_pin_t *pin = &card->state->pin;
    if (apdu->p1 == 0xFF) {
        //  Reset the security status of the PIN.
        if (data_len != 0)
            return VC_SW_WRONG_LENGTH;
        card->pin_verified = false;
        card->pin_fresh = false;
        return VC_SW_OK;
    }
    if (data_len == 0) {
        //  Status query: no try spent.
        if (vc_pin_blocked (pin))
            return VC_SW_AUTH_BLOCKED;
        if (card->pin_verified)
            return VC_SW_OK;
        return (uint16_t) (VC_SW_VERIFY_FAIL | (pin->tries_left & 0x0F));
    }
    if (data_len != VC_PIN_LEN)
        return VC_SW_WRONG_DATA;
    vc_pin_result_t result = vc_pin_check (pin, data);
    card->pin_verified = result == VC_PIN_MATCH;
    card->pin_fresh = card->pin_verified;
    if (result == VC_PIN_BLOCKED)
        return VC_SW_AUTH_BLOCKED;
    return s_saved (card, vc_pin_sw (pin, result));
}

uint16_t
vc_cmd_change_reference (vc_card_t *card, const vc_apdu_t *apdu, const uint8_t *data,
                         size_t data_len, vc_buf_t *out)
{
    (void) out;
    if (apdu->p1 != 0x00)
        return VC_SW_INCORRECT_P1P2;
    if (apdu->p2 != 0x80 && apdu->p2 != 0x81)
        return VC_SW_REF_NOT_FOUND;
    bool is_pin = apdu->p2 == 0x80;
    vc_pin_t *reference = is_pin ? &card->state->pin : &card->state->puk;
    if (data_len != 2 * VC_PIN_LEN)
        return VC_SW_WRONG_DATA;
    if (vc_pin_blocked (reference))
        return VC_SW_AUTH_BLOCKED;
    //  A badly formed new value is refused before the old one is tried,
    //  so it costs no try.
    if (!vc_pin_format_ok (data + VC_PIN_LEN, is_pin))
        return VC_SW_WRONG_DATA;
    vc_pin_result_t result = vc_pin_check (reference, data);
    if (result == VC_PIN_MATCH)
        vc_pin_set (reference, data + VC_PIN_LEN);
    else
    if (is_pin) {
        card->pin_verified = false;
        card->pin_fresh = false;
    }
    return s_saved (card, vc_pin_sw (reference, result));
}

uint16_t
vc_cmd_reset_retry (vc_card_t *card, const vc_apdu_t *apdu, const uint8_t *data,
                    size_t data_len, vc_buf_t *out)
{
    (void) out;
    if (apdu->p1 != 0x00)
        return VC_SW_INCORRECT_P1P2;
    if (apdu->p2 != 0x80)
        return VC_SW_REF_NOT_FOUND;
    vc_pin_t *puk = &card->state->puk;
    if (data_len != 2 * VC_PIN_LEN)
        return VC_SW_WRONG_DATA;
    if (vc_pin_blocked (puk))
        return VC_SW_AUTH_BLOCKED;
    if (!vc_pin_format_ok (data + VC_PIN_LEN, true))
        return VC_SW_WRONG_DATA;
    vc_pin_result_t result = vc_pin_check (puk, data);
    if (result == VC_PIN_MATCH) {
        vc_pin_set (&card->state->pin, data + VC_PIN_LEN);
        card->pin_verified = false;
        card->pin_fresh = false;
    }
    return s_saved (card, vc_pin_sw (puk, result));
}
