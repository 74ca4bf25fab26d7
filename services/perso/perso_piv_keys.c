/*  perso_piv_keys: the key commands of perso_piv.h: GENERATE ASYMMETRIC
    KEY PAIR with its public key checked, VERIFY, CHANGE REFERENCE DATA
    and GENERAL AUTHENTICATE signing with its signature checked.
*/
#include "perso_piv_internal.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <string.h>

#define S_INS_GENERATE 0x47
#define S_INS_GENERAL_AUTHENTICATE 0x87
#define S_INS_VERIFY 0x20
#define S_INS_CHANGE_REFERENCE 0x24
#define S_RSA_BYTES 256
#define S_EC_POINT 65

static EVP_PKEY *
s_from_params (const char *type, OSSL_PARAM_BLD *builder)
{
    OSSL_PARAM *params = builder ? OSSL_PARAM_BLD_to_param (builder) : NULL;
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name (NULL, type, NULL) : NULL;
    EVP_PKEY *key = NULL;
    if (!ctx || EVP_PKEY_fromdata_init (ctx) <= 0
    ||  EVP_PKEY_fromdata (ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        key = NULL;
    EVP_PKEY_CTX_free (ctx);
    OSSL_PARAM_free (params);
    //  The point on the curve, the modulus and exponent sane.
    EVP_PKEY_CTX *check = key ? EVP_PKEY_CTX_new_from_pkey (NULL, key, NULL) : NULL;
    if (key && (!check || EVP_PKEY_public_check (check) != 1)) {
        EVP_PKEY_free (key);
        key = NULL;
    }
    EVP_PKEY_CTX_free (check);
    return key;
}

EVP_PKEY *
perso_piv_parse_public_key (const uint8_t *data, size_t size, uint8_t algorithm, char *detail,
                            size_t detail_size)
{
    perso_tlv_t outer, item;
    if (perso_tlv_single (data, size, 0x7F49, &outer) != 1) {
        snprintf (detail, detail_size, "not one public key template (7F 49)");
        return NULL;
    }
    OSSL_PARAM_BLD *builder = OSSL_PARAM_BLD_new ();
    EVP_PKEY *key = NULL;
    BIGNUM *n = NULL, *e = NULL;
    if (algorithm == PERSO_PIV_ALG_ECCP256) {
        if (perso_tlv_single (outer.value, outer.length, 0x86, &item) != 1
        ||  item.length != S_EC_POINT || item.value [0] != 0x04) {
            snprintf (detail, detail_size, "no uncompressed P-256 point (86, 65 bytes)");
            goto done;
        }
        if (builder
        &&  OSSL_PARAM_BLD_push_utf8_string (builder, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0)
        &&  OSSL_PARAM_BLD_push_octet_string (builder, OSSL_PKEY_PARAM_PUB_KEY, item.value,
                                              item.length))
            key = s_from_params ("EC", builder);
        if (!key)
            snprintf (detail, detail_size, "the point is not on curve P-256");
        goto done;
    }
    //  RSA: exactly 81 (modulus) then 82 (exponent).
    perso_tlv_reader_t reader = perso_tlv_reader (outer.value, outer.length);
    perso_tlv_t exponent;
    if (perso_tlv_next (&reader, &item) != 1 || item.tag != 0x81 || item.length != S_RSA_BYTES
    ||  !(item.value [0] & 0x80)
    ||  perso_tlv_next (&reader, &exponent) != 1 || exponent.tag != 0x82
    ||  exponent.length < 1 || exponent.length > 4 || !(exponent.value [exponent.length - 1] & 1)
    ||  reader.cursor != reader.end) {
        snprintf (detail, detail_size, "no 2048-bit modulus (81) and odd exponent (82)");
        goto done;
    }
    n = BN_bin2bn (item.value, (int) item.length, NULL);
    e = BN_bin2bn (exponent.value, (int) exponent.length, NULL);
    if (builder && n && e && BN_cmp (e, BN_value_one ()) > 0
    &&  OSSL_PARAM_BLD_push_BN (builder, OSSL_PKEY_PARAM_RSA_N, n)
    &&  OSSL_PARAM_BLD_push_BN (builder, OSSL_PKEY_PARAM_RSA_E, e))
        key = s_from_params ("RSA", builder);
    if (!key)
        snprintf (detail, detail_size, "the RSA public key is not usable");
done:
    BN_free (n);
    BN_free (e);
    OSSL_PARAM_BLD_free (builder);
    return key;
}

int
perso_piv_generate (perso_card_t *card, uint8_t slot, uint8_t algorithm, EVP_PKEY **key_p,
                    perso_piv_status_t *status)
{
    perso_piv_reset (status);
    *key_p = NULL;
    if (algorithm != PERSO_PIV_ALG_ECCP256 && algorithm != PERSO_PIV_ALG_RSA2048) {
        snprintf (status->detail, sizeof status->detail, "GENERATE: algorithm %02X not supported",
                  algorithm);
        return -1;
    }
    char what [32];
    snprintf (what, sizeof what, "GENERATE %02X", slot);
    const uint8_t data [] = { 0xAC, 0x03, 0x80, 0x01, algorithm };
    uint8_t answer [1024];
    size_t size = 0;
    if (perso_piv_exchange (card, what, S_INS_GENERATE, 0x00, slot, data, sizeof data, 1, answer,
                    sizeof answer, &size, status))
        return -1;
    char why [128];
    *key_p = perso_piv_parse_public_key (answer, size, algorithm, why, sizeof why);
    return *key_p ? 0 : perso_piv_malformed (status, what, why);
}

//  8 bytes: the value, then FF.
static int
s_pad (const char *value, uint8_t out [8])
{
    size_t len = value ? strlen (value) : 0;
    if (len < 6 || len > 8)
        return -1;
    memset (out, 0xFF, 8);
    memcpy (out, value, len);
    return 0;
}

int
perso_piv_verify_pin (perso_card_t *card, const char *pin, perso_piv_status_t *status)
{
    perso_piv_reset (status);
    uint8_t padded [8];
    if (pin && s_pad (pin, padded)) {
        snprintf (status->detail, sizeof status->detail, "VERIFY: the PIN must be 6 to 8 characters");
        return -1;
    }
    int rc = perso_piv_exchange (card, "VERIFY PIN", S_INS_VERIFY, 0x00, PERSO_PIV_REF_PIN,
                         pin ? padded : NULL, pin ? sizeof padded : 0, 0, NULL, 0, NULL, status);
    OPENSSL_cleanse (padded, sizeof padded);
    return rc;
}

int
perso_piv_change_reference (perso_card_t *card, uint8_t reference, const char *old_value,
                            const char *new_value, perso_piv_status_t *status)
{
    perso_piv_reset (status);
    uint8_t data [16];
    const char *what = reference == PERSO_PIV_REF_PUK ? "CHANGE REFERENCE DATA (PUK)"
                                                      : "CHANGE REFERENCE DATA (PIN)";
    if (s_pad (old_value, data) || s_pad (new_value, data + 8)) {
        OPENSSL_cleanse (data, sizeof data);
        snprintf (status->detail, sizeof status->detail, "%s: values must be 6 to 8 characters", what);
        return -1;
    }
    int rc = perso_piv_exchange (card, what, S_INS_CHANGE_REFERENCE, 0x00, reference, data, sizeof data,
                         0, NULL, 0, NULL, status);
    OPENSSL_cleanse (data, sizeof data);
    return rc;
}

//  An ECDSA signature must be DER that re-encodes to itself.
static bool
s_ecdsa_der_ok (const uint8_t *der, size_t size)
{
    const unsigned char *cursor = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG (NULL, &cursor, (long) size);
    unsigned char *again = NULL;
    int again_size = sig && cursor == der + size ? i2d_ECDSA_SIG (sig, &again) : -1;
    bool ok = again_size == (int) size && memcmp (again, der, size) == 0;
    OPENSSL_free (again);
    ECDSA_SIG_free (sig);
    return ok;
}

int
perso_piv_sign (perso_card_t *card, uint8_t slot, uint8_t algorithm, const uint8_t *input,
                size_t input_size, uint8_t *out, size_t *out_size, perso_piv_status_t *status)
{
    perso_piv_reset (status);
    *out_size = 0;
    char what [40];
    snprintf (what, sizeof what, "GENERAL AUTHENTICATE %02X", slot);
    size_t expected = algorithm == PERSO_PIV_ALG_ECCP256 ? 32
                    : algorithm == PERSO_PIV_ALG_RSA2048 ? S_RSA_BYTES : 0;
    if (!expected || input_size != expected) {
        snprintf (status->detail, sizeof status->detail, "%s: input of %zu bytes for algorithm %02X",
                  what, input_size, algorithm);
        return -1;
    }
    //  7C { 82 00, 81 <input> }
    perso_buf_t inner, data;
    perso_buf_init (&inner);
    perso_buf_init (&data);
    perso_buf_tlv (&inner, 0x82, NULL, 0);
    perso_buf_tlv (&inner, 0x81, input, input_size);
    perso_buf_tlv (&data, 0x7C, inner.data, inner.size);
    uint8_t answer [1024];
    size_t size = 0;
    int rc = -1;
    if (inner.failed || data.failed) {
        snprintf (status->detail, sizeof status->detail, "%s: out of memory", what);
        goto done;
    }
    if (perso_piv_exchange (card, what, S_INS_GENERAL_AUTHENTICATE, algorithm, slot, data.data, data.size,
                    1, answer, sizeof answer, &size, status))
        goto done;
    perso_tlv_t outer, item;
    if (perso_tlv_single (answer, size, 0x7C, &outer) != 1
    ||  perso_tlv_single (outer.value, outer.length, 0x82, &item) != 1) {
        perso_piv_malformed (status, what, "not one response (7C { 82 })");
        goto done;
    }
    if (algorithm == PERSO_PIV_ALG_RSA2048 ? item.length != S_RSA_BYTES
                                           : (item.length > 80 || !s_ecdsa_der_ok (item.value, item.length))) {
        perso_piv_malformed (status, what, algorithm == PERSO_PIV_ALG_RSA2048
                                   ? "RSA result is not 256 bytes" : "not a DER ECDSA signature");
        goto done;
    }
    memcpy (out, item.value, item.length);
    *out_size = item.length;
    rc = 0;
done:
    perso_buf_free (&inner);
    perso_buf_free (&data);
    return rc;
}
