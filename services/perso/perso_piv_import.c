/*  perso_piv_import: Yubico's IMPORT ASYMMETRIC KEY (INS FE), the way perso
    puts an escrowed encryption key, made off-card, into the key management
    slot 9D (issue 13). P1 the algorithm, P2 the slot; data: RSA as its CRT
    parts 01 p, 02 q, 03 dP, 04 dQ, 05 qInv, each padded to half the
    modulus (the card takes the exponent 65537), EC as 06 and the private
    scalar padded to the field length. Needs the management key
    authenticated in the session. The buffer holding the key is wiped.
*/
#include "perso_piv_internal.h"
#include "perso_tlv.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define S_INS_IMPORT 0xFE

//  Appends tag and the key's BN parameter name padded to width bytes.
static int
s_part (perso_buf_t *out, uint8_t tag, EVP_PKEY *key, const char *name, size_t width)
{
    BIGNUM *value = NULL;
    uint8_t bytes [256];
    int rc = -1;
    if (width <= sizeof bytes && EVP_PKEY_get_bn_param (key, name, &value) == 1
    &&  BN_bn2binpad (value, bytes, (int) width) == (int) width) {
        perso_buf_tlv (out, tag, bytes, width);
        rc = out->failed ? -1 : 0;
    }
    OPENSSL_cleanse (bytes, sizeof bytes);
    BN_clear_free (value);
    return rc;
}

int
perso_piv_import_key (perso_card_t *card, uint8_t slot, EVP_PKEY *key, uint8_t *algorithm,
                      perso_piv_status_t *status)
{
    perso_piv_reset (status);
    perso_buf_t data;
    perso_buf_init (&data);
    int rc = -1;
    if (EVP_PKEY_is_a (key, "RSA") && EVP_PKEY_get_bits (key) == 2048) {
        static const char *parts [] = { OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
                                        OSSL_PKEY_PARAM_RSA_EXPONENT1,
                                        OSSL_PKEY_PARAM_RSA_EXPONENT2,
                                        OSSL_PKEY_PARAM_RSA_COEFFICIENT1 };
        *algorithm = PERSO_PIV_ALG_RSA2048;
        rc = 0;
        for (int i = 0; rc == 0 && i < 5; i++)
            rc = s_part (&data, (uint8_t) (i + 1), key, parts [i], 128);
    }
    else
    if (EVP_PKEY_is_a (key, "EC") && EVP_PKEY_get_bits (key) == 256) {
        *algorithm = PERSO_PIV_ALG_ECCP256;
        rc = s_part (&data, 0x06, key, OSSL_PKEY_PARAM_PRIV_KEY, 32);
    }
    if (rc) {
        snprintf (status->detail, sizeof status->detail,
                  "IMPORT %02X: only RSA 2048 and EC P-256 keys can be imported", slot);
        perso_buf_free (&data);
        return -1;
    }
    char what [32];
    snprintf (what, sizeof what, "IMPORT %02X", slot);
    rc = perso_piv_exchange (card, what, S_INS_IMPORT, *algorithm, slot, data.data, data.size, 0,
                             NULL, 0, NULL, status);
    perso_buf_free (&data);
    return rc;
}
