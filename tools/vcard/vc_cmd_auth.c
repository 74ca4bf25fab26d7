/*  GENERAL AUTHENTICATE (SP 800-73-4 3.2.4): a dynamic authentication
    template 7C { 80 witness, 81 challenge, 82 response, 85 exponentiation }.

    With key reference 9B it authenticates the host to the card with the
    card management key, either mutually (the card encrypts a random
    witness, the host sends it back decrypted with a challenge of its own,
    the card answers that challenge encrypted) or one way (the card gives a
    challenge, the host answers it encrypted). Success opens the session's
    administrative rights: PUT DATA, GENERATE and SET MANAGEMENT KEY.

    With 9A 9C 9D 9E it is the private-key operation: 7C { 82 00, 81 data }
    signs (ECDSA over a hash) or runs raw RSA; 7C { 82 00, 85 point } is
    ECDH. 9A and 9D need the PIN verified in this session, 9C needs a VERIFY
    since its last use (PIN "always"), 9E needs nothing.
*/
#include "vc_card_internal.h"
#include "vc_tlv.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

typedef struct {
    const vc_tlv_t *witness;        //  80
    const vc_tlv_t *challenge;      //  81
    const vc_tlv_t *response;       //  82
    const vc_tlv_t *exponent;       //  85
} s_template_t;

//  Splits 7C { ... } into its parts; each tag at most once, nothing else.
static int
s_parse_template (const uint8_t *data, size_t data_len, vc_tlv_t items [4], s_template_t *parts)
{
    memset (parts, 0, sizeof *parts);
    vc_tlv_t outer;
    if (vc_tlv_single (data, data_len, &outer) || outer.tag != 0x7C)
        return -1;
    size_t pos = 0;
    while (pos < outer.len) {
        vc_tlv_t item;
        if (vc_tlv_next (outer.value, outer.len, &pos, &item))
            return -1;
        int slot;
        const vc_tlv_t **field;
        switch (item.tag) {
            case 0x80: slot = 0; field = &parts->witness; break;
            case 0x81: slot = 1; field = &parts->challenge; break;
            case 0x82: slot = 2; field = &parts->response; break;
            case 0x85: slot = 3; field = &parts->exponent; break;
            default:   return -1;
        }
        if (*field)
            return -1;
        items [slot] = item;
        *field = &items [slot];
    }
    return 0;
}

//  Appends 7C { tag value }.
static void
s_put_template (vc_buf_t *out, uint32_t tag, const uint8_t *value, size_t len)
{
    size_t inner = 1 + (len < 0x80 ? 1 : len <= 0xFF ? 2 : 3) + len;
    vc_buf_put_tl (out, 0x7C, inner);
    vc_buf_put_tl (out, tag, len);
    vc_buf_put (out, value, len);
}

static uint16_t
s_management (vc_card_t *card, uint8_t alg, const s_template_t *parts, vc_buf_t *out)
{
    const vc_state_t *state = card->state;
    if (alg != state->mgmt_alg)
        return VC_SW_INCORRECT_P1P2;
    size_t block = vc_mgmt_block_len (alg);
    uint8_t cipher [VC_MGMT_BLOCK_MAX];
    vc_mgmt_step_t step = card->mgmt_step;
    //  Whatever happens now, a step-1 nonce serves one answer only.
    card->mgmt_step = VC_MGMT_IDLE;
    card->mgmt_authenticated = false;

    if (parts->witness && parts->witness->len == 0 && !parts->challenge && !parts->response) {
        //  Mutual, step 1: a witness, encrypted.
        if (RAND_bytes (card->mgmt_nonce, (int) block) != 1
        ||  vc_mgmt_crypt (alg, state->mgmt_key, true, card->mgmt_nonce, cipher))
            return VC_SW_UNKNOWN;
        s_put_template (out, 0x80, cipher, block);
        card->mgmt_step = VC_MGMT_WITNESS_SENT;
        return VC_SW_OK;
    }
    if (parts->witness && parts->challenge && (!parts->response || parts->response->len == 0)) {
        //  Mutual, step 2: the decrypted witness and the host's challenge.
        if (parts->witness->len != block || parts->challenge->len != block)
            return VC_SW_WRONG_DATA;
        if (step != VC_MGMT_WITNESS_SENT)
            return VC_SW_CONDITIONS_OF_USE;
        if (CRYPTO_memcmp (parts->witness->value, card->mgmt_nonce, block) != 0)
            return VC_SW_SECURITY_STATUS;
        if (vc_mgmt_crypt (alg, state->mgmt_key, true, parts->challenge->value, cipher))
            return VC_SW_UNKNOWN;
        s_put_template (out, 0x82, cipher, block);
        card->mgmt_authenticated = true;
        return VC_SW_OK;
    }
    if (parts->challenge && parts->challenge->len == 0 && !parts->witness && !parts->response) {
        //  External, step 1: a challenge in clear.
        if (RAND_bytes (card->mgmt_nonce, (int) block) != 1)
            return VC_SW_UNKNOWN;
        s_put_template (out, 0x81, card->mgmt_nonce, block);
        card->mgmt_step = VC_MGMT_CHALLENGE_SENT;
        return VC_SW_OK;
    }
    if (parts->response && !parts->witness && !parts->challenge) {
        //  External, step 2: the challenge, encrypted by the host.
        if (parts->response->len != block)
            return VC_SW_WRONG_DATA;
        if (step != VC_MGMT_CHALLENGE_SENT)
            return VC_SW_CONDITIONS_OF_USE;
        if (vc_mgmt_crypt (alg, state->mgmt_key, true, card->mgmt_nonce, cipher))
            return VC_SW_UNKNOWN;
        if (CRYPTO_memcmp (parts->response->value, cipher, block) != 0)
            return VC_SW_SECURITY_STATUS;
        card->mgmt_authenticated = true;
        return VC_SW_OK;
    }
    return VC_SW_WRONG_DATA;
}

static uint16_t
s_private_key (vc_card_t *card, uint8_t alg, uint8_t key_ref, const s_template_t *parts,
               vc_buf_t *out)
{
    int index = vc_state_slot_index (key_ref);
    if (index < 0)
        return VC_SW_INCORRECT_P1P2;
    const vc_slot_t *slot = &card->state->slots [index];
    if (!slot->key)
        return VC_SW_NOT_FOUND;
    if (alg != slot->alg)
        return VC_SW_WRONG_DATA;
    bool sign = parts->challenge && !parts->exponent;
    bool derive = parts->exponent && !parts->challenge;
    if (!parts->response || parts->response->len != 0 || parts->witness || (!sign && !derive))
        return VC_SW_WRONG_DATA;
    if (key_ref == 0x9C) {
        if (!card->pin_verified || !card->pin_fresh)
            return VC_SW_SECURITY_STATUS;
    }
    else
    if (key_ref != 0x9E && !card->pin_verified)
        return VC_SW_SECURITY_STATUS;

    vc_buf_t result;
    vc_buf_init (&result, 1024);
    int rc = sign ? vc_key_private_op (slot->key, alg, parts->challenge->value,
                                       parts->challenge->len, &result)
                  : vc_key_ecdh (slot->key, alg, parts->exponent->value,
                                 parts->exponent->len, &result);
    if (rc == 0) {
        if (key_ref == 0x9C)
            card->pin_fresh = false;
        s_put_template (out, 0x82, result.data, result.len);
    }
    vc_buf_reset (&result);
    return rc == 0 ? VC_SW_OK : VC_SW_WRONG_DATA;
}

uint16_t
vc_cmd_general_authenticate (vc_card_t *card, const vc_apdu_t *apdu, const uint8_t *data,
                             size_t data_len, vc_buf_t *out)
{
    vc_tlv_t items [4];
    s_template_t parts;
    if (s_parse_template (data, data_len, items, &parts))
        return VC_SW_WRONG_DATA;
    if (apdu->p2 == 0x9B)
        return s_management (card, apdu->p1, &parts, out);
    return s_private_key (card, apdu->p1, apdu->p2, &parts, out);
}
