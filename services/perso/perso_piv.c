/*  perso_piv: PIV commands with checked answers (see perso_piv.h).
*/
#include "perso_piv_internal.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define S_INS_SELECT 0xA4
#define S_INS_GET_DATA 0xCB
#define S_INS_PUT_DATA 0xDB
#define S_INS_GENERAL_AUTHENTICATE 0x87
#define S_INS_SET_MANAGEMENT_KEY 0xFF
#define S_ANSWER_MAX 1024

static const uint8_t s_piv_aid [] = { 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00,
                                      0x01, 0x00 };

void
perso_piv_reset (perso_piv_status_t *status)
{
    status->io = PERSO_IO_OK;
    status->sw = 0;
    status->detail [0] = 0;
}

int
perso_piv_exchange (perso_card_t *card, const char *what, uint8_t ins, uint8_t p1, uint8_t p2,
            const uint8_t *data, size_t data_size, int expect_data, uint8_t *out,
            size_t out_max, size_t *out_size, perso_piv_status_t *status)
{
    char err [160] = "";
    size_t ignored = 0;
    uint8_t none [1];
    status->io = perso_apdu_exchange (card, 0x00, ins, p1, p2, data, data_size, expect_data,
                                      out ? out : none, out ? out_max : 0,
                                      out_size ? out_size : &ignored, &status->sw,
                                      err, sizeof err);
    if (status->io != PERSO_IO_OK) {
        snprintf (status->detail, sizeof status->detail, "%s: %s: %s", what,
                  perso_io_text (status->io), err);
        return -1;
    }
    if (status->sw != PERSO_SW_OK) {
        char sw [96];
        perso_apdu_sw_format (status->sw, sw, sizeof sw);
        snprintf (status->detail, sizeof status->detail, "%s: card refused: %s", what, sw);
        return -1;
    }
    return 0;
}

int
perso_piv_malformed (perso_piv_status_t *status, const char *what, const char *why)
{
    status->io = PERSO_IO_MALFORMED;
    snprintf (status->detail, sizeof status->detail, "%s: malformed card answer: %s", what, why);
    return -1;
}

int
perso_piv_select (perso_card_t *card, perso_piv_status_t *status)
{
    perso_piv_reset (status);
    uint8_t answer [S_ANSWER_MAX];
    size_t size = 0;
    if (perso_piv_exchange (card, "SELECT PIV", S_INS_SELECT, 0x04, 0x00, s_piv_aid, sizeof s_piv_aid,
                    1, answer, sizeof answer, &size, status))
        return -1;
    //  61 L { 4F ..., 79 { 4F ... } ... }: the template, when the card sends one.
    perso_tlv_t item;
    if (size && perso_tlv_single (answer, size, 0x61, &item) != 1)
        return perso_piv_malformed (status, "SELECT PIV", "not an application property template (61)");
    return 0;
}

static size_t
s_object_tag (uint32_t object_id, uint8_t out [5])
{
    out [0] = 0x5C;
    out [1] = 0x03;
    out [2] = (uint8_t) (object_id >> 16);
    out [3] = (uint8_t) (object_id >> 8);
    out [4] = (uint8_t) object_id;
    return 5;
}

int
perso_piv_get_data (perso_card_t *card, uint32_t object_id, uint8_t *out, size_t out_max,
                    size_t *out_size, bool *found, perso_piv_status_t *status)
{
    perso_piv_reset (status);
    *found = false;
    *out_size = 0;
    uint8_t tag [5];
    uint8_t answer [PERSO_APDU_RESPONSE_MAX];
    size_t size = 0;
    if (perso_piv_exchange (card, "GET DATA", S_INS_GET_DATA, 0x3F, 0xFF, tag, s_object_tag (object_id, tag),
                    1, answer, sizeof answer, &size, status)) {
        if (status->io == PERSO_IO_OK && status->sw == 0x6A82) {
            perso_piv_reset (status);
            return 0;
        }
        return -1;
    }
    perso_tlv_t item;
    if (perso_tlv_single (answer, size, 0x53, &item) != 1)
        return perso_piv_malformed (status, "GET DATA", "not one data object (53)");
    if (item.length > out_max)
        return perso_piv_malformed (status, "GET DATA", "object larger than expected");
    memcpy (out, item.value, item.length);
    *out_size = item.length;
    *found = true;
    return 0;
}

int
perso_piv_put_data (perso_card_t *card, uint32_t object_id, const uint8_t *content, size_t size,
                    perso_piv_status_t *status)
{
    perso_piv_reset (status);
    perso_buf_t data;
    perso_buf_init (&data);
    uint8_t tag [5];
    perso_buf_append (&data, tag, s_object_tag (object_id, tag));
    perso_buf_tlv (&data, 0x53, content, size);
    int rc = -1;
    if (data.failed)
        snprintf (status->detail, sizeof status->detail, "PUT DATA: object too large or out of memory");
    else
        rc = perso_piv_exchange (card, "PUT DATA", S_INS_PUT_DATA, 0x3F, 0xFF, data.data, data.size, 0,
                         NULL, 0, NULL, status);
    perso_buf_free (&data);
    return rc;
}

//  ECB, no padding, one or more blocks.
static int
s_ecb (uint8_t algorithm, const uint8_t *key, bool encrypt, const uint8_t *in, size_t size,
       uint8_t *out)
{
    const EVP_CIPHER *cipher = algorithm == PERSO_PIV_ALG_3DES ? EVP_des_ede3_ecb ()
                             : algorithm == PERSO_PIV_ALG_AES128 ? EVP_aes_128_ecb ()
                             : algorithm == PERSO_PIV_ALG_AES192 ? EVP_aes_192_ecb ()
                             : algorithm == PERSO_PIV_ALG_AES256 ? EVP_aes_256_ecb () : NULL;
    EVP_CIPHER_CTX *ctx = cipher ? EVP_CIPHER_CTX_new () : NULL;
    int length = 0, final = 0, ok = ctx
        && EVP_CipherInit_ex (ctx, cipher, NULL, key, NULL, encrypt ? 1 : 0)
        && EVP_CIPHER_CTX_set_padding (ctx, 0)
        && EVP_CipherUpdate (ctx, out, &length, in, (int) size)
        && EVP_CipherFinal_ex (ctx, out + length, &final)
        && (size_t) (length + final) == size;
    EVP_CIPHER_CTX_free (ctx);
    return ok ? 0 : -1;
}

static size_t
s_key_size (uint8_t algorithm)
{
    return algorithm == PERSO_PIV_ALG_3DES ? 24 : algorithm == PERSO_PIV_ALG_AES128 ? 16
         : algorithm == PERSO_PIV_ALG_AES192 ? 24 : algorithm == PERSO_PIV_ALG_AES256 ? 32 : 0;
}

int
perso_piv_authenticate (perso_card_t *card, uint8_t algorithm, const uint8_t *key,
                        size_t key_size, perso_piv_status_t *status)
{
    perso_piv_reset (status);
    const char *what = "management key authentication";
    size_t block = algorithm == PERSO_PIV_ALG_3DES ? 8 : 16;
    if (!s_key_size (algorithm) || key_size != s_key_size (algorithm)) {
        snprintf (status->detail, sizeof status->detail, "%s: key of %zu bytes for algorithm %02X",
                  what, key_size, algorithm);
        return -1;
    }
    uint8_t answer [S_ANSWER_MAX], witness [16], challenge [16], expected [16], data [40];
    size_t size = 0;
    int rc = -1;
    static const uint8_t ask [] = { 0x7C, 0x02, 0x80, 0x00 };
    if (perso_piv_exchange (card, what, S_INS_GENERAL_AUTHENTICATE, algorithm, PERSO_PIV_SLOT_MANAGEMENT,
                    ask, sizeof ask, 1, answer, sizeof answer, &size, status))
        goto done;
    perso_tlv_t outer, inner;
    if (perso_tlv_single (answer, size, 0x7C, &outer) != 1
    ||  perso_tlv_single (outer.value, outer.length, 0x80, &inner) != 1
    ||  inner.length != block) {
        perso_piv_malformed (status, what, "no witness of one block (7C { 80 })");
        goto done;
    }
    if (s_ecb (algorithm, key, false, inner.value, block, witness)
    ||  RAND_bytes (challenge, (int) block) != 1
    ||  s_ecb (algorithm, key, true, challenge, block, expected)) {
        snprintf (status->detail, sizeof status->detail, "%s: cipher failure", what);
        goto done;
    }
    size_t n = 0;
    data [n++] = 0x7C;
    data [n++] = (uint8_t) (4 + 2 * block);
    data [n++] = 0x80;
    data [n++] = (uint8_t) block;
    memcpy (data + n, witness, block);
    n += block;
    data [n++] = 0x81;
    data [n++] = (uint8_t) block;
    memcpy (data + n, challenge, block);
    n += block;
    if (perso_piv_exchange (card, what, S_INS_GENERAL_AUTHENTICATE, algorithm, PERSO_PIV_SLOT_MANAGEMENT,
                    data, n, 1, answer, sizeof answer, &size, status))
        goto done;
    if (perso_tlv_single (answer, size, 0x7C, &outer) != 1
    ||  perso_tlv_single (outer.value, outer.length, 0x82, &inner) != 1
    ||  inner.length != block) {
        perso_piv_malformed (status, what, "no encrypted challenge of one block (7C { 82 })");
        goto done;
    }
    if (CRYPTO_memcmp (inner.value, expected, block) != 0) {
        status->io = PERSO_IO_MALFORMED;
        snprintf (status->detail, sizeof status->detail,
                  "%s: the card's answer to our challenge is wrong: it does not hold this key",
                  what);
        goto done;
    }
    rc = 0;
done:
    OPENSSL_cleanse (witness, sizeof witness);
    OPENSSL_cleanse (data, sizeof data);
    OPENSSL_cleanse (answer, sizeof answer);
    return rc;
}

int
perso_piv_set_management_key (perso_card_t *card, uint8_t algorithm, const uint8_t *key,
                              size_t key_size, perso_piv_status_t *status)
{
    perso_piv_reset (status);
    if (!s_key_size (algorithm) || key_size != s_key_size (algorithm)) {
        snprintf (status->detail, sizeof status->detail, "SET MANAGEMENT KEY: bad key size");
        return -1;
    }
    uint8_t data [3 + PERSO_PIV_MGMT_KEY_MAX];
    data [0] = algorithm;
    data [1] = PERSO_PIV_SLOT_MANAGEMENT;
    data [2] = (uint8_t) key_size;
    memcpy (data + 3, key, key_size);
    int rc = perso_piv_exchange (card, "SET MANAGEMENT KEY", S_INS_SET_MANAGEMENT_KEY, 0xFF, 0xFF, data,
                         3 + key_size, 0, NULL, 0, NULL, status);
    OPENSSL_cleanse (data, sizeof data);
    return rc;
}
