/*  GENERATE ASYMMETRIC KEY PAIR (SP 800-73-4 3.3.2) and the YubiKey
    commands yubico-piv-tool needs: IMPORT ASYMMETRIC KEY (FE), SET
    MANAGEMENT KEY (FF), GET VERSION (FD) and GET SERIAL (F8). Generating,
    importing and changing the management key need the management key
    authenticated in this session.
*/
#include "vc_card_internal.h"
#include "vc_tlv.h"

#include <openssl/crypto.h>

//  The version GET VERSION reports: a YubiKey 5 from before metadata
//  (5.3), so yubico-piv-tool reads the serial with F8 and never asks for
//  the metadata this card does not keep.
#define S_VERSION_MAJOR     5
#define S_VERSION_MINOR     2
#define S_VERSION_PATCH     7

uint16_t
vc_cmd_generate (vc_card_t *card, const vc_apdu_t *apdu, const uint8_t *data, size_t data_len,
                 vc_buf_t *out)
{
    if (apdu->p1 != 0x00)
        return VC_SW_INCORRECT_P1P2;
    int index = vc_state_slot_index (apdu->p2);
    if (index < 0)
        return VC_SW_INCORRECT_P1P2;
    //  AC { 80 alg [AA pin policy] [AB touch policy] }: the YubiKey policy
    //  tags are accepted and ignored.
    vc_tlv_t control, alg_tlv;
    if (vc_tlv_single (data, data_len, &control) || control.tag != 0xAC
    ||  vc_tlv_check (control.value, control.len)
    ||  vc_tlv_find (control.value, control.len, 0x80, &alg_tlv) || alg_tlv.len != 1)
        return VC_SW_WRONG_DATA;
    uint8_t alg = alg_tlv.value [0];
    if (alg != VC_ALG_RSA2048 && alg != VC_ALG_ECCP256 && alg != VC_ALG_ECCP384)
        return VC_SW_WRONG_DATA;
    if (!card->mgmt_authenticated)
        return VC_SW_SECURITY_STATUS;
    EVP_PKEY *key = vc_key_generate (alg);
    if (!key)
        return VC_SW_UNKNOWN;
    if (vc_key_public_template (key, alg, out)) {
        EVP_PKEY_free (key);
        return VC_SW_UNKNOWN;
    }
    vc_state_put_key (card->state, index, alg, &key);
    if (vc_card_save (card))
        return VC_SW_MEMORY_FAILURE;
    return VC_SW_OK;
}

//  Yubico's IMPORT ASYMMETRIC KEY: P1 the algorithm, P2 the slot, the
//  data the key's parts (vc_key_import). The key replaces the slot's; the
//  slot's certificate object is left to the host, as on a YubiKey.
uint16_t
vc_cmd_import_key (vc_card_t *card, const vc_apdu_t *apdu, const uint8_t *data,
                   size_t data_len, vc_buf_t *out)
{
    (void) out;
    int index = vc_state_slot_index (apdu->p2);
    if (index < 0
    ||  (apdu->p1 != VC_ALG_RSA2048 && apdu->p1 != VC_ALG_ECCP256 && apdu->p1 != VC_ALG_ECCP384))
        return VC_SW_INCORRECT_P1P2;
    if (!card->mgmt_authenticated)
        return VC_SW_SECURITY_STATUS;
    EVP_PKEY *key = vc_key_import (apdu->p1, data, data_len);
    if (!key)
        return VC_SW_WRONG_DATA;
    vc_state_put_key (card->state, index, apdu->p1, &key);
    if (vc_card_save (card))
        return VC_SW_MEMORY_FAILURE;
    return VC_SW_OK;
}

uint16_t
vc_cmd_set_mgmt_key (vc_card_t *card, const vc_apdu_t *apdu, const uint8_t *data,
                     size_t data_len, vc_buf_t *out)
{
    (void) out;
    //  P2 FE asks for touch on a YubiKey; a virtual card has no button.
    if (apdu->p1 != 0xFF || (apdu->p2 != 0xFF && apdu->p2 != 0xFE))
        return VC_SW_INCORRECT_P1P2;
    if (data_len < 3 || data [1] != 0x9B)
        return VC_SW_WRONG_DATA;
    uint8_t alg = data [0];
    size_t key_len = data [2];
    if (vc_mgmt_key_len (alg) == 0 || key_len != vc_mgmt_key_len (alg) || data_len != 3 + key_len)
        return VC_SW_WRONG_DATA;
    if (!card->mgmt_authenticated)
        return VC_SW_SECURITY_STATUS;
    if (vc_state_set_mgmt_key (card->state, alg, data + 3, key_len))
        return VC_SW_WRONG_DATA;
    if (vc_card_save (card))
        return VC_SW_MEMORY_FAILURE;
    return VC_SW_OK;
}

uint16_t
vc_cmd_get_version (vc_card_t *card, const vc_apdu_t *apdu, const uint8_t *data,
                    size_t data_len, vc_buf_t *out)
{
    (void) card;
    (void) data;
    if (apdu->p1 != 0 || apdu->p2 != 0)
        return VC_SW_INCORRECT_P1P2;
    if (data_len != 0)
        return VC_SW_WRONG_LENGTH;
    const uint8_t version [3] = { S_VERSION_MAJOR, S_VERSION_MINOR, S_VERSION_PATCH };
    vc_buf_put (out, version, sizeof version);
    return VC_SW_OK;
}

uint16_t
vc_cmd_get_serial (vc_card_t *card, const vc_apdu_t *apdu, const uint8_t *data,
                   size_t data_len, vc_buf_t *out)
{
    (void) data;
    if (apdu->p1 != 0 || apdu->p2 != 0)
        return VC_SW_INCORRECT_P1P2;
    if (data_len != 0)
        return VC_SW_WRONG_LENGTH;
    uint32_t serial = card->state->serial;
    const uint8_t bytes [4] = {
        (uint8_t) (serial >> 24), (uint8_t) (serial >> 16), (uint8_t) (serial >> 8), (uint8_t) serial
    };
    vc_buf_put (out, bytes, sizeof bytes);
    return VC_SW_OK;
}
