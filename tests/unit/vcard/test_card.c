/*  Unit tests for vc_card, through APDUs as a host sends them: SELECT,
    management-key mutual and external authentication (3DES with the
    transport key, and AES-128 after SET MANAGEMENT KEY) computed here with
    OpenSSL's EVP as an independent host, with known-answer checks of the
    card's block cipher; writes refused without it; PUT DATA with chaining
    and GET DATA with GET RESPONSE; GENERATE and signatures checked with the
    returned public key; PIN rules (9C needs a fresh VERIFY); VERIFY,
    CHANGE REFERENCE DATA and RESET RETRY COUNTER with their counters; the
    session ending at reset; and malformed commands.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc_card.h"
#include "vc_keys.h"
#include "vc_tlv.h"

static const uint8_t s_transport_key [24] = {
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8
};

typedef struct {
    vc_card_t *card;
    vc_buf_t answer;
    uint8_t data [VC_CARD_ANSWER_MAX];
    size_t data_len;
} s_fixture_t;

static int
s_setup (void **state)
{
    s_fixture_t *self = calloc (1, sizeof *self);
    vc_state_t *card_state = vc_state_new ();
    assert_non_null (card_state);
    self->card = vc_card_new (&card_state, NULL);
    assert_non_null (self->card);
    assert_null (card_state);
    vc_card_power_on (self->card);
    vc_buf_init (&self->answer, VC_CARD_ANSWER_MAX);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *self = *state;
    vc_card_destroy (&self->card);
    vc_buf_reset (&self->answer);
    free (self);
    return 0;
}

//  Sends raw bytes; keeps the answer data (without SW) in self->data.
static uint16_t
s_send (s_fixture_t *self, const uint8_t *apdu, size_t len)
{
    vc_card_process (self->card, apdu, len, &self->answer);
    assert_true (self->answer.len >= 2);
    self->data_len = self->answer.len - 2;
    memcpy (self->data, self->answer.data, self->data_len);
    return (uint16_t) ((self->answer.data [self->answer.len - 2] << 8)
                     | self->answer.data [self->answer.len - 1]);
}

//  Sends a short APDU built from header and data (with Le 00 when le).
static uint16_t
s_cmd (s_fixture_t *self, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
       const uint8_t *data, size_t len, bool le)
{
    uint8_t apdu [5 + 255 + 1];
    assert_true (len <= 255);
    apdu [0] = cla;
    apdu [1] = ins;
    apdu [2] = p1;
    apdu [3] = p2;
    size_t at = 4;
    if (len) {
        apdu [at++] = (uint8_t) len;
        memcpy (apdu + at, data, len);
        at += len;
    }
    if (le)
        apdu [at++] = 0x00;
    return s_send (self, apdu, at);
}

//  Sends data of any length with chaining in 255-byte parts and collects
//  the whole answer through GET RESPONSE. Returns the final status word.
static uint16_t
s_transfer (s_fixture_t *self, uint8_t ins, uint8_t p1, uint8_t p2,
            const uint8_t *data, size_t len, uint8_t *out, size_t *out_len)
{
    size_t at = 0;
    uint16_t sw;
    do {
        size_t part = len - at > 255 ? 255 : len - at;
        bool last = at + part == len;
        sw = s_cmd (self, last ? 0x00 : 0x10, ins, p1, p2, data + at, part, true);
        at += part;
        if (!last && sw != 0x9000)
            return sw;
    } while (at < len);
    size_t total = 0;
    memcpy (out, self->data, self->data_len);
    total = self->data_len;
    while ((sw >> 8) == 0x61) {
        const uint8_t get_response [] = { 0x00, 0xC0, 0x00, 0x00, (uint8_t) sw };
        sw = s_send (self, get_response, sizeof get_response);
        memcpy (out + total, self->data, self->data_len);
        total += self->data_len;
    }
    *out_len = total;
    return sw;
}

//  The host's side of mutual authentication, with its own EVP code.
static void
s_host_crypt (const char *cipher_name, const uint8_t *key, int encrypt, const uint8_t *in,
              size_t block, uint8_t *out)
{
    EVP_CIPHER *cipher = EVP_CIPHER_fetch (NULL, cipher_name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
    int len = 0, final_len = 0;
    assert_true (EVP_CipherInit_ex2 (ctx, cipher, key, NULL, encrypt, NULL));
    EVP_CIPHER_CTX_set_padding (ctx, 0);
    assert_true (EVP_CipherUpdate (ctx, out, &len, in, (int) block));
    assert_true (EVP_CipherFinal_ex (ctx, out + len, &final_len));
    assert_int_equal ((size_t) (len + final_len), block);
    EVP_CIPHER_CTX_free (ctx);
    EVP_CIPHER_free (cipher);
}

static uint16_t
s_mutual_auth (s_fixture_t *self, uint8_t alg, const char *cipher, const uint8_t *key,
               size_t block, bool corrupt_witness)
{
    const uint8_t ask [] = { 0x7C, 0x02, 0x80, 0x00 };
    uint16_t sw = s_cmd (self, 0x00, 0x87, alg, 0x9B, ask, sizeof ask, true);
    if (sw != 0x9000)
        return sw;
    assert_int_equal (self->data_len, 4 + block);
    assert_int_equal (self->data [0], 0x7C);
    assert_int_equal (self->data [2], 0x80);
    assert_int_equal (self->data [3], block);
    uint8_t witness [16], challenge [16], expected [16];
    s_host_crypt (cipher, key, 0, self->data + 4, block, witness);
    if (corrupt_witness)
        witness [0] ^= 1;
    assert_int_equal (RAND_bytes (challenge, (int) block), 1);
    uint8_t reply [4 + 2 * 16 + 2];
    size_t at = 0;
    reply [at++] = 0x7C;
    reply [at++] = (uint8_t) (4 + 2 * block);
    reply [at++] = 0x80;
    reply [at++] = (uint8_t) block;
    memcpy (reply + at, witness, block);
    at += block;
    reply [at++] = 0x81;
    reply [at++] = (uint8_t) block;
    memcpy (reply + at, challenge, block);
    at += block;
    sw = s_cmd (self, 0x00, 0x87, alg, 0x9B, reply, at, true);
    if (sw != 0x9000)
        return sw;
    s_host_crypt (cipher, key, 1, challenge, block, expected);
    assert_int_equal (self->data_len, 4 + block);
    assert_int_equal (self->data [2], 0x82);
    assert_memory_equal (self->data + 4, expected, block);
    return sw;
}

static void
test_known_answers (void **state)
{
    (void) state;
    //  3DES with the transport key (K1 = K2 = K3, so single DES) and the
    //  FIPS-197 AES-128 vector.
    const uint8_t zero [8] = { 0 };
    const uint8_t des_expected [8] = { 0xB0, 0x73, 0xDC, 0x3F, 0xB2, 0x09, 0x53, 0x6D };
    uint8_t out [16], back [16];
    assert_int_equal (vc_mgmt_crypt (VC_ALG_3DES, s_transport_key, true, zero, out), 0);
    assert_memory_equal (out, des_expected, 8);
    assert_int_equal (vc_mgmt_crypt (VC_ALG_3DES, s_transport_key, false, out, back), 0);
    assert_memory_equal (back, zero, 8);
    uint8_t aes_key [16], plain [16];
    for (int i = 0; i < 16; i++) {
        aes_key [i] = (uint8_t) i;
        plain [i] = (uint8_t) (i * 0x11);
    }
    const uint8_t aes_expected [16] = {
        0x69, 0xC4, 0xE0, 0xD8, 0x6A, 0x7B, 0x04, 0x30,
        0xD8, 0xCD, 0xB7, 0x80, 0x70, 0xB4, 0xC5, 0x5A
    };
    assert_int_equal (vc_mgmt_crypt (VC_ALG_AES128, aes_key, true, plain, out), 0);
    assert_memory_equal (out, aes_expected, 16);
    assert_int_equal (vc_mgmt_block_len (VC_ALG_3DES), 8);
    assert_int_equal (vc_mgmt_block_len (VC_ALG_AES256), 16);
    assert_int_equal (vc_mgmt_key_len (VC_ALG_AES192), 24);
    assert_int_equal (vc_mgmt_key_len (VC_ALG_RSA2048), 0);
}

static void
test_select (void **state)
{
    s_fixture_t *self = *state;
    const uint8_t rid [] = { 0xA0, 0x00, 0x00, 0x03, 0x08 };
    const uint8_t aid9 [] = { 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00 };
    const uint8_t other [] = { 0xA0, 0x00, 0x00, 0x03, 0x97 };
    assert_int_equal (s_cmd (self, 0x00, 0xA4, 0x04, 0x00, rid, sizeof rid, false), 0x9000);
    assert_int_equal (self->data [0], 0x61);
    vc_tlv_t apt, rid_tlv;
    assert_int_equal (vc_tlv_single (self->data, self->data_len, &apt), 0);
    assert_int_equal (vc_tlv_find (apt.value, apt.len, 0x79, &rid_tlv), 0);
    assert_int_equal (s_cmd (self, 0x00, 0xA4, 0x04, 0x00, aid9, sizeof aid9, true), 0x9000);
    assert_int_equal (s_cmd (self, 0x00, 0xA4, 0x04, 0x0C, aid9, sizeof aid9, false), 0x9000);
    assert_int_equal (self->data_len, 0);
    assert_int_equal (s_cmd (self, 0x00, 0xA4, 0x04, 0x00, other, sizeof other, true), 0x6A82);
    assert_int_equal (s_cmd (self, 0x00, 0xA4, 0x00, 0x00, rid, sizeof rid, true), 0x6A86);
}

static void
test_mgmt_auth_3des_and_writes (void **state)
{
    s_fixture_t *self = *state;
    const uint8_t chuid [] = { 0x5C, 0x03, 0x5F, 0xC1, 0x02, 0x53, 0x02, 0x34, 0x00 };
    const uint8_t gen [] = { 0xAC, 0x03, 0x80, 0x01, VC_ALG_ECCP256 };
    //  Without authentication every write is refused.
    assert_int_equal (s_cmd (self, 0x00, 0xDB, 0x3F, 0xFF, chuid, sizeof chuid, false), 0x6982);
    assert_int_equal (s_cmd (self, 0x00, 0x47, 0x00, 0x9A, gen, sizeof gen, true), 0x6982);
    //  Wrong algorithm, then a wrong witness.
    const uint8_t ask [] = { 0x7C, 0x02, 0x80, 0x00 };
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_AES128, 0x9B, ask, sizeof ask, true), 0x6A86);
    assert_int_equal (s_mutual_auth (self, VC_ALG_3DES, "DES-EDE3-ECB", s_transport_key, 8, true),
                      0x6982);
    assert_int_equal (s_cmd (self, 0x00, 0xDB, 0x3F, 0xFF, chuid, sizeof chuid, false), 0x6982);
    //  A step 2 without step 1.
    const uint8_t lone [] = { 0x7C, 0x14, 0x80, 0x08, 0, 0, 0, 0, 0, 0, 0, 0,
                              0x81, 0x08, 0, 0, 0, 0, 0, 0, 0, 0 };
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_3DES, 0x9B, lone, sizeof lone, true), 0x6985);
    //  The right key opens writes.
    assert_int_equal (s_mutual_auth (self, VC_ALG_3DES, "DES-EDE3-ECB", s_transport_key, 8, false),
                      0x9000);
    assert_int_equal (s_cmd (self, 0x00, 0xDB, 0x3F, 0xFF, chuid, sizeof chuid, false), 0x9000);
    const uint8_t get_chuid [] = { 0x5C, 0x03, 0x5F, 0xC1, 0x02 };
    assert_int_equal (s_cmd (self, 0x00, 0xCB, 0x3F, 0xFF, get_chuid, sizeof get_chuid, true), 0x9000);
    assert_int_equal (self->data_len, 4);
    //  A reset ends the session: writes are refused again.
    vc_card_reset (self->card);
    assert_int_equal (s_cmd (self, 0x00, 0xDB, 0x3F, 0xFF, chuid, sizeof chuid, false), 0x6982);
}

static void
test_external_auth (void **state)
{
    s_fixture_t *self = *state;
    const uint8_t ask [] = { 0x7C, 0x02, 0x81, 0x00 };
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_3DES, 0x9B, ask, sizeof ask, true), 0x9000);
    assert_int_equal (self->data_len, 12);
    assert_int_equal (self->data [2], 0x81);
    uint8_t response [12] = { 0x7C, 0x0A, 0x82, 0x08 };
    s_host_crypt ("DES-EDE3-ECB", s_transport_key, 1, self->data + 4, 8, response + 4);
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_3DES, 0x9B, response, sizeof response, true),
                      0x9000);
    //  The same answer again (replay) is refused: the challenge served once.
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_3DES, 0x9B, response, sizeof response, true),
                      0x6985);
}

static void
test_set_mgmt_key_aes128 (void **state)
{
    s_fixture_t *self = *state;
    uint8_t aes_key [16];
    for (int i = 0; i < 16; i++)
        aes_key [i] = (uint8_t) (0xA0 + i);
    uint8_t set [3 + 16] = { VC_ALG_AES128, 0x9B, 16 };
    memcpy (set + 3, aes_key, 16);
    assert_int_equal (s_cmd (self, 0x00, 0xFF, 0xFF, 0xFF, set, sizeof set, false), 0x6982);
    assert_int_equal (s_mutual_auth (self, VC_ALG_3DES, "DES-EDE3-ECB", s_transport_key, 8, false),
                      0x9000);
    //  The key length must match the algorithm.
    uint8_t bad [3 + 16] = { VC_ALG_AES128, 0x9B, 15 };
    assert_int_equal (s_cmd (self, 0x00, 0xFF, 0xFF, 0xFF, bad, sizeof bad, false), 0x6A80);
    assert_int_equal (s_cmd (self, 0x00, 0xFF, 0xFF, 0xFF, set, sizeof set, false), 0x9000);
    assert_int_equal (vc_card_state (self->card)->mgmt_alg, VC_ALG_AES128);
    vc_card_reset (self->card);
    //  The transport key no longer works; the AES key does, in 16-byte blocks.
    assert_int_equal (s_mutual_auth (self, VC_ALG_3DES, "DES-EDE3-ECB", s_transport_key, 8, false),
                      0x6A86);
    assert_int_equal (s_mutual_auth (self, VC_ALG_AES128, "AES-128-ECB", aes_key, 16, false), 0x9000);
}

static void
test_chained_put_and_long_get (void **state)
{
    s_fixture_t *self = *state;
    assert_int_equal (s_mutual_auth (self, VC_ALG_3DES, "DES-EDE3-ECB", s_transport_key, 8, false),
                      0x9000);
    //  A certificate object of 3000 bytes: 5C 03 5FC105 53 82 LLLL { 70 82 LLLL ... 71 01 00 FE 00 }
    size_t cert_len = 2985;
    size_t content_len = 4 + cert_len + 3 + 2;
    size_t total = 5 + 4 + content_len;
    uint8_t *put = malloc (total);
    size_t at = 0;
    const uint8_t head [] = { 0x5C, 0x03, 0x5F, 0xC1, 0x05, 0x53, 0x82,
                              (uint8_t) (content_len >> 8), (uint8_t) content_len,
                              0x70, 0x82, (uint8_t) (cert_len >> 8), (uint8_t) cert_len };
    memcpy (put, head, sizeof head);
    at = sizeof head;
    for (size_t i = 0; i < cert_len; i++)
        put [at++] = (uint8_t) i;
    const uint8_t tail [] = { 0x71, 0x01, 0x00, 0xFE, 0x00 };
    memcpy (put + at, tail, sizeof tail);
    at += sizeof tail;
    assert_int_equal (at, total);
    uint8_t *got = malloc (VC_CARD_ANSWER_MAX);
    size_t got_len = 0;
    assert_int_equal (s_transfer (self, 0xDB, 0x3F, 0xFF, put, total, got, &got_len), 0x9000);
    const uint8_t get [] = { 0x5C, 0x03, 0x5F, 0xC1, 0x05 };
    assert_int_equal (s_transfer (self, 0xCB, 0x3F, 0xFF, get, sizeof get, got, &got_len), 0x9000);
    assert_int_equal (got_len, total - 5);
    assert_memory_equal (got, put + 5, got_len);
    //  A chain interrupted by another command is dropped.
    assert_int_equal (s_cmd (self, 0x10, 0xDB, 0x3F, 0xFF, put, 255, false), 0x9000);
    assert_int_equal (s_cmd (self, 0x00, 0xCB, 0x3F, 0xFF, get, sizeof get, true), 0x6100);
    assert_int_equal (s_cmd (self, 0x00, 0xDB, 0x3F, 0xFF, put + 255, 255, false), 0x6A80);
    //  GET RESPONSE with nothing pending.
    const uint8_t get_response [] = { 0x00, 0xC0, 0x00, 0x00, 0x00 };
    assert_int_equal (s_send (self, get_response, sizeof get_response), 0x6985);
    //  More than 8 KiB chained is refused.
    uint8_t *chunk = calloc (1, 255);
    uint16_t sw = 0x9000;
    for (int i = 0; i < 40 && sw == 0x9000; i++)
        sw = s_cmd (self, 0x10, 0xDB, 0x3F, 0xFF, chunk, 255, false);
    assert_int_equal (sw, 0x6A84);
    //  Chaining where it makes no sense.
    assert_int_equal (s_cmd (self, 0x10, 0x20, 0x00, 0x80, chunk, 8, false), 0x6884);
    free (chunk);
    free (got);
    free (put);
}

//  Builds an EVP_PKEY from a 7F49 template for checking signatures.
static EVP_PKEY *
s_public_from_template (const uint8_t *data, size_t len, uint8_t alg)
{
    vc_tlv_t outer, part;
    assert_int_equal (vc_tlv_single (data, len, &outer), 0);
    assert_int_equal (outer.tag, 0x7F49);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new ();
    BIGNUM *n = NULL, *e = NULL;
    const char *type = "EC";
    if (alg == VC_ALG_RSA2048) {
        type = "RSA";
        assert_int_equal (vc_tlv_find (outer.value, outer.len, 0x81, &part), 0);
        assert_int_equal (part.len, 256);
        n = BN_bin2bn (part.value, (int) part.len, NULL);
        assert_int_equal (vc_tlv_find (outer.value, outer.len, 0x82, &part), 0);
        e = BN_bin2bn (part.value, (int) part.len, NULL);
        OSSL_PARAM_BLD_push_BN (bld, OSSL_PKEY_PARAM_RSA_N, n);
        OSSL_PARAM_BLD_push_BN (bld, OSSL_PKEY_PARAM_RSA_E, e);
    }
    else {
        assert_int_equal (vc_tlv_find (outer.value, outer.len, 0x86, &part), 0);
        assert_int_equal (part.len, 65);
        OSSL_PARAM_BLD_push_utf8_string (bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
        OSSL_PARAM_BLD_push_octet_string (bld, OSSL_PKEY_PARAM_PUB_KEY, part.value, part.len);
    }
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param (bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name (NULL, type, NULL);
    EVP_PKEY *key = NULL;
    assert_true (EVP_PKEY_fromdata_init (ctx) > 0);
    assert_true (EVP_PKEY_fromdata (ctx, &key, EVP_PKEY_PUBLIC_KEY, params) > 0);
    EVP_PKEY_CTX_free (ctx);
    OSSL_PARAM_free (params);
    OSSL_PARAM_BLD_free (bld);
    BN_free (n);
    BN_free (e);
    return key;
}

static void
s_verify_pin (s_fixture_t *self, uint16_t want)
{
    const uint8_t pin [] = { '1', '2', '3', '4', '5', '6', 0xFF, 0xFF };
    assert_int_equal (s_cmd (self, 0x00, 0x20, 0x00, 0x80, pin, sizeof pin, false), want);
}

static void
test_generate_and_sign_p256 (void **state)
{
    s_fixture_t *self = *state;
    assert_int_equal (s_mutual_auth (self, VC_ALG_3DES, "DES-EDE3-ECB", s_transport_key, 8, false),
                      0x9000);
    const uint8_t gen [] = { 0xAC, 0x03, 0x80, 0x01, VC_ALG_ECCP256 };
    assert_int_equal (s_cmd (self, 0x00, 0x47, 0x00, 0x9C, gen, sizeof gen, true), 0x9000);
    EVP_PKEY *pub = s_public_from_template (self->data, self->data_len, VC_ALG_ECCP256);
    uint8_t sign [4 + 2 + 2 + 32] = { 0x7C, 0x24, 0x82, 0x00, 0x81, 0x20 };
    uint8_t *hash = sign + 6;
    assert_int_equal (RAND_bytes (hash, 32), 1);
    //  No PIN: refused. Wrong algorithm for the slot: refused.
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_ECCP256, 0x9C, sign, 38, true), 0x6982);
    s_verify_pin (self, 0x9000);
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_RSA2048, 0x9C, sign, 38, true), 0x6A80);
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_ECCP256, 0x9C, sign, 38, true), 0x9000);
    vc_tlv_t outer, signature;
    assert_int_equal (vc_tlv_single (self->data, self->data_len, &outer), 0);
    assert_int_equal (vc_tlv_find (outer.value, outer.len, 0x82, &signature), 0);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey (NULL, pub, NULL);
    assert_true (EVP_PKEY_verify_init (ctx) > 0);
    assert_int_equal (EVP_PKEY_verify (ctx, signature.value, signature.len, hash, 32), 1);
    EVP_PKEY_CTX_free (ctx);
    //  9C is PIN "always": the next signature needs another VERIFY.
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_ECCP256, 0x9C, sign, 38, true), 0x6982);
    s_verify_pin (self, 0x9000);
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_ECCP256, 0x9C, sign, 38, true), 0x9000);
    //  An empty slot.
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_ECCP256, 0x9D, sign, 38, true), 0x6A82);
    //  A hash longer than the field.
    uint8_t too_long [4 + 2 + 2 + 33] = { 0x7C, 0x25, 0x82, 0x00, 0x81, 0x21 };
    s_verify_pin (self, 0x9000);
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_ECCP256, 0x9C, too_long, sizeof too_long, true),
                      0x6A80);
    EVP_PKEY_free (pub);
}

static void
test_generate_and_sign_rsa (void **state)
{
    s_fixture_t *self = *state;
    assert_int_equal (s_mutual_auth (self, VC_ALG_3DES, "DES-EDE3-ECB", s_transport_key, 8, false),
                      0x9000);
    const uint8_t gen [] = { 0xAC, 0x03, 0x80, 0x01, VC_ALG_RSA2048 };
    uint8_t *answer = malloc (VC_CARD_ANSWER_MAX);
    size_t answer_len = 0;
    //  The 270-byte public key answer (7F49 82 0109 ...) comes in two parts.
    assert_int_equal (s_transfer (self, 0x47, 0x00, 0x9A, gen, sizeof gen, answer, &answer_len),
                      0x9000);
    assert_int_equal (answer_len, 270);
    EVP_PKEY *pub = s_public_from_template (answer, answer_len, VC_ALG_RSA2048);
    //  A PKCS#1 v1.5 block the host padded: 00 01 FF .. FF 00 <digest info>.
    uint8_t block [256], digest [32];
    assert_int_equal (RAND_bytes (digest, 32), 1);
    const uint8_t prefix [] = { 0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
    memset (block, 0xFF, sizeof block);
    block [0] = 0x00;
    block [1] = 0x01;
    size_t info = sizeof prefix + 32;
    block [256 - info - 1] = 0x00;
    memcpy (block + 256 - info, prefix, sizeof prefix);
    memcpy (block + 256 - 32, digest, 32);
    uint8_t request [4 + 2 + 4 + 256] = { 0x7C, 0x82, 0x01, 0x06, 0x82, 0x00, 0x81, 0x82, 0x01, 0x00 };
    memcpy (request + 10, block, 256);
    s_verify_pin (self, 0x9000);
    assert_int_equal (s_transfer (self, 0x87, VC_ALG_RSA2048, 0x9A, request, sizeof request,
                                  answer, &answer_len), 0x9000);
    vc_tlv_t outer, result;
    assert_int_equal (vc_tlv_single (answer, answer_len, &outer), 0);
    assert_int_equal (vc_tlv_find (outer.value, outer.len, 0x82, &result), 0);
    assert_int_equal (result.len, 256);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey (NULL, pub, NULL);
    assert_true (EVP_PKEY_verify_init (ctx) > 0);
    assert_true (EVP_PKEY_CTX_set_signature_md (ctx, EVP_sha256 ()) > 0);
    assert_int_equal (EVP_PKEY_verify (ctx, result.value, result.len, digest, 32), 1);
    EVP_PKEY_CTX_free (ctx);
    //  A block that is not exactly 256 bytes is refused.
    request [3] = 0x05;
    request [8] = 0x00;
    request [9] = 0xFF;
    assert_int_equal (s_transfer (self, 0x87, VC_ALG_RSA2048, 0x9A, request, sizeof request - 1,
                                  answer, &answer_len), 0x6A80);
    EVP_PKEY_free (pub);
    free (answer);
}

static void
test_pin_and_puk (void **state)
{
    s_fixture_t *self = *state;
    const uint8_t wrong [] = { '0', '0', '0', '0', '0', '0', 0xFF, 0xFF };
    const uint8_t puk [] = { '1', '2', '3', '4', '5', '6', '7', '8' };
    //  Status query costs nothing.
    assert_int_equal (s_cmd (self, 0x00, 0x20, 0x00, 0x80, NULL, 0, false), 0x63C3);
    assert_int_equal (s_cmd (self, 0x00, 0x20, 0x00, 0x80, wrong, 8, false), 0x63C2);
    assert_int_equal (s_cmd (self, 0x00, 0x20, 0x00, 0x80, wrong, 8, false), 0x63C1);
    s_verify_pin (self, 0x9000);
    assert_int_equal (s_cmd (self, 0x00, 0x20, 0x00, 0x80, NULL, 0, false), 0x9000);
    //  P1 FF forgets the verification.
    assert_int_equal (s_cmd (self, 0x00, 0x20, 0xFF, 0x80, NULL, 0, false), 0x9000);
    assert_int_equal (s_cmd (self, 0x00, 0x20, 0x00, 0x80, NULL, 0, false), 0x63C3);
    //  Wrong length, wrong reference.
    assert_int_equal (s_cmd (self, 0x00, 0x20, 0x00, 0x80, wrong, 6, false), 0x6A80);
    assert_int_equal (s_cmd (self, 0x00, 0x20, 0x00, 0x00, wrong, 8, false), 0x6A88);
    //  Block the PIN.
    for (int i = 0; i < 3; i++)
        s_cmd (self, 0x00, 0x20, 0x00, 0x80, wrong, 8, false);
    s_verify_pin (self, 0x6983);
    assert_int_equal (s_cmd (self, 0x00, 0x20, 0x00, 0x80, NULL, 0, false), 0x6983);
    //  Unblock with the PUK: a malformed new PIN costs no PUK try.
    uint8_t reset [16];
    memcpy (reset, puk, 8);
    memcpy (reset + 8, "12345", 5);
    memset (reset + 13, 0xFF, 3);
    assert_int_equal (s_cmd (self, 0x00, 0x2C, 0x00, 0x80, reset, 16, false), 0x6A80);
    memcpy (reset + 8, "87654321", 8);
    reset [0] = '9';
    assert_int_equal (s_cmd (self, 0x00, 0x2C, 0x00, 0x80, reset, 16, false), 0x63C2);
    reset [0] = '1';
    assert_int_equal (s_cmd (self, 0x00, 0x2C, 0x00, 0x80, reset, 16, false), 0x9000);
    assert_int_equal (vc_card_state (self->card)->puk.tries_left, 3);
    const uint8_t new_pin [] = { '8', '7', '6', '5', '4', '3', '2', '1' };
    assert_int_equal (s_cmd (self, 0x00, 0x20, 0x00, 0x80, new_pin, 8, false), 0x9000);
    //  Change the PIN back, then the PUK.
    uint8_t change [16];
    memcpy (change, new_pin, 8);
    memcpy (change + 8, "123456\xFF\xFF", 8);
    assert_int_equal (s_cmd (self, 0x00, 0x24, 0x00, 0x80, change, 16, false), 0x9000);
    s_verify_pin (self, 0x9000);
    memcpy (change, puk, 8);
    memcpy (change + 8, "AB12CD34", 8);
    assert_int_equal (s_cmd (self, 0x00, 0x24, 0x00, 0x81, change, 16, false), 0x9000);
    assert_memory_equal (vc_card_state (self->card)->puk.value, "AB12CD34", 8);
    //  Block the PUK: then even the right one fails.
    for (int i = 0; i < 3; i++)
        s_cmd (self, 0x00, 0x24, 0x00, 0x81, change, 16, false);
    assert_int_equal (s_cmd (self, 0x00, 0x2C, 0x00, 0x80, reset, 16, false), 0x6983);
}

static void
test_malformed_commands (void **state)
{
    s_fixture_t *self = *state;
    const uint8_t unknown_ins [] = { 0x00, 0x99, 0x00, 0x00 };
    const uint8_t bad_cla [] = { 0x84, 0xCB, 0x3F, 0xFF, 0x00 };
    const uint8_t bad_len [] = { 0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C };
    const uint8_t too_short [] = { 0x00, 0xCB };
    assert_int_equal (s_send (self, unknown_ins, sizeof unknown_ins), 0x6D00);
    assert_int_equal (s_send (self, bad_cla, sizeof bad_cla), 0x6E00);
    assert_int_equal (s_send (self, bad_len, sizeof bad_len), 0x6700);
    assert_int_equal (s_send (self, too_short, sizeof too_short), 0x6700);
    const uint8_t bad_list [] = { 0x5C, 0x04, 0x5F, 0xC1, 0x05, 0x00 };
    const uint8_t not_list [] = { 0x53, 0x03, 0x5F, 0xC1, 0x05 };
    const uint8_t truncated [] = { 0x5C, 0x05, 0x5F, 0xC1, 0x05 };
    const uint8_t missing [] = { 0x5C, 0x03, 0x5F, 0xC1, 0x0B };
    assert_int_equal (s_cmd (self, 0x00, 0xCB, 0x3F, 0xFF, bad_list, sizeof bad_list, true), 0x6A80);
    assert_int_equal (s_cmd (self, 0x00, 0xCB, 0x3F, 0xFF, not_list, sizeof not_list, true), 0x6A80);
    assert_int_equal (s_cmd (self, 0x00, 0xCB, 0x3F, 0xFF, truncated, sizeof truncated, true), 0x6A80);
    assert_int_equal (s_cmd (self, 0x00, 0xCB, 0x3F, 0xFF, missing, sizeof missing, true), 0x6A82);
    assert_int_equal (s_cmd (self, 0x00, 0xCB, 0x00, 0x00, missing, sizeof missing, true), 0x6A86);
    //  A general authenticate template that is not one.
    const uint8_t junk [] = { 0x7C, 0x04, 0x99, 0x00, 0x80, 0x00 };
    const uint8_t twice [] = { 0x7C, 0x04, 0x80, 0x00, 0x80, 0x00 };
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_3DES, 0x9B, junk, sizeof junk, true), 0x6A80);
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_3DES, 0x9B, twice, sizeof twice, true), 0x6A80);
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_3DES, 0x9B, NULL, 0, true), 0x6A80);
    //  PUT DATA with trailing bytes or broken content, once authenticated.
    assert_int_equal (s_mutual_auth (self, VC_ALG_3DES, "DES-EDE3-ECB", s_transport_key, 8, false),
                      0x9000);
    const uint8_t trailing [] = { 0x5C, 0x03, 0x5F, 0xC1, 0x02, 0x53, 0x00, 0x00 };
    const uint8_t broken [] = { 0x5C, 0x03, 0x5F, 0xC1, 0x02, 0x53, 0x02, 0x34, 0x05 };
    const uint8_t not_piv [] = { 0x5C, 0x03, 0x12, 0x34, 0x56, 0x53, 0x00 };
    assert_int_equal (s_cmd (self, 0x00, 0xDB, 0x3F, 0xFF, trailing, sizeof trailing, false), 0x6A80);
    assert_int_equal (s_cmd (self, 0x00, 0xDB, 0x3F, 0xFF, broken, sizeof broken, false), 0x6A80);
    assert_int_equal (s_cmd (self, 0x00, 0xDB, 0x3F, 0xFF, not_piv, sizeof not_piv, false), 0x6A82);
    //  GENERATE for an unknown algorithm or slot.
    const uint8_t gen_bad [] = { 0xAC, 0x03, 0x80, 0x01, 0x06 };
    const uint8_t gen_ok [] = { 0xAC, 0x03, 0x80, 0x01, VC_ALG_ECCP256 };
    assert_int_equal (s_cmd (self, 0x00, 0x47, 0x00, 0x9A, gen_bad, sizeof gen_bad, true), 0x6A80);
    assert_int_equal (s_cmd (self, 0x00, 0x47, 0x00, 0x9B, gen_ok, sizeof gen_ok, true), 0x6A86);
    //  Deleting an object with an empty 53.
    const uint8_t del [] = { 0x5C, 0x03, 0x5F, 0xC1, 0x02, 0x53, 0x00 };
    const uint8_t get [] = { 0x5C, 0x03, 0x5F, 0xC1, 0x02 };
    assert_int_equal (s_cmd (self, 0x00, 0xDB, 0x3F, 0xFF, del, sizeof del, false), 0x9000);
    assert_int_equal (s_cmd (self, 0x00, 0xCB, 0x3F, 0xFF, get, sizeof get, true), 0x6A82);
}

static void
test_yubico_commands (void **state)
{
    s_fixture_t *self = *state;
    const uint8_t version [] = { 0x00, 0xFD, 0x00, 0x00, 0x00 };
    const uint8_t serial [] = { 0x00, 0xF8, 0x00, 0x00, 0x00 };
    assert_int_equal (s_send (self, version, sizeof version), 0x9000);
    assert_int_equal (self->data_len, 3);
    assert_int_equal (s_send (self, serial, sizeof serial), 0x9000);
    assert_int_equal (self->data_len, 4);
    uint32_t value = ((uint32_t) self->data [0] << 24) | ((uint32_t) self->data [1] << 16)
                   | ((uint32_t) self->data [2] << 8) | self->data [3];
    assert_int_equal (value, vc_card_state (self->card)->serial);
}

//  Appends tag, 81/82 length and the big-endian BN param name of key
//  padded to width bytes.
static size_t
s_put_part (uint8_t *out, uint8_t tag, EVP_PKEY *key, const char *name, size_t width)
{
    BIGNUM *value = NULL;
    assert_int_equal (EVP_PKEY_get_bn_param (key, name, &value), 1);
    size_t at = 0;
    out [at++] = tag;
    if (width > 127)
        out [at++] = 0x81;
    out [at++] = (uint8_t) width;
    assert_int_equal (BN_bn2binpad (value, out + at, (int) width), (int) width);
    BN_clear_free (value);
    return at + width;
}

//  IMPORT ASYMMETRIC KEY (Yubico, INS FE): a P-256 key made by the host
//  goes into 9D and agrees the host's ECDH secret; an RSA key made by the
//  host goes into 9D as CRT parts and undoes the host's raw encryption.
//  Refused without the management key, with a wrong P1 or P2, and with
//  parts that are not a key pair.
static void
test_import_key (void **state)
{
    s_fixture_t *self = *state;
    EVP_PKEY *ec = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    EVP_PKEY *peer = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    assert_non_null (ec);
    assert_non_null (peer);
    uint8_t ec_data [2 + 32];
    assert_int_equal (s_put_part (ec_data, 0x06, ec, OSSL_PKEY_PARAM_PRIV_KEY, 32), 34);
    //  No management key yet.
    assert_int_equal (s_cmd (self, 0x00, 0xFE, VC_ALG_ECCP256, 0x9D, ec_data, 34, false), 0x6982);
    assert_int_equal (s_mutual_auth (self, VC_ALG_3DES, "DES-EDE3-ECB", s_transport_key, 8, false),
                      0x9000);
    assert_int_equal (s_cmd (self, 0x00, 0xFE, 0x99, 0x9D, ec_data, 34, false), 0x6A86);
    assert_int_equal (s_cmd (self, 0x00, 0xFE, VC_ALG_ECCP256, 0x9B, ec_data, 34, false), 0x6A86);
    //  An unknown tag, a missing scalar, a zero scalar.
    uint8_t bad [2 + 32];
    memcpy (bad, ec_data, sizeof bad);
    bad [0] = 0x07;
    assert_int_equal (s_cmd (self, 0x00, 0xFE, VC_ALG_ECCP256, 0x9D, bad, 34, false), 0x6A80);
    const uint8_t policy_only [] = { 0xAA, 0x01, 0x01 };
    assert_int_equal (s_cmd (self, 0x00, 0xFE, VC_ALG_ECCP256, 0x9D, policy_only, 3, false), 0x6A80);
    memset (bad + 2, 0, 32);
    bad [0] = 0x06;
    assert_int_equal (s_cmd (self, 0x00, 0xFE, VC_ALG_ECCP256, 0x9D, bad, 34, false), 0x6A80);
    assert_int_equal (s_cmd (self, 0x00, 0xFE, VC_ALG_ECCP256, 0x9D, ec_data, 34, false), 0x9000);

    //  ECDH on 9D with the host's peer point: the host's own derivation.
    uint8_t point [65];
    size_t point_len = 0;
    assert_int_equal (EVP_PKEY_get_octet_string_param (peer, OSSL_PKEY_PARAM_PUB_KEY, point,
                                                       sizeof point, &point_len), 1);
    assert_int_equal (point_len, 65);
    uint8_t request [4 + 2 + 65] = { 0x7C, 0x45, 0x82, 0x00, 0x85, 0x41 };
    memcpy (request + 6, point, 65);
    s_verify_pin (self, 0x9000);
    assert_int_equal (s_cmd (self, 0x00, 0x87, VC_ALG_ECCP256, 0x9D, request, sizeof request, true),
                      0x9000);
    vc_tlv_t outer, secret;
    assert_int_equal (vc_tlv_single (self->data, self->data_len, &outer), 0);
    assert_int_equal (vc_tlv_find (outer.value, outer.len, 0x82, &secret), 0);
    uint8_t expected [32];
    size_t expected_len = sizeof expected;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey (NULL, peer, NULL);
    assert_true (EVP_PKEY_derive_init (ctx) > 0);
    assert_true (EVP_PKEY_derive_set_peer (ctx, ec) > 0);
    assert_true (EVP_PKEY_derive (ctx, expected, &expected_len) > 0);
    EVP_PKEY_CTX_free (ctx);
    assert_int_equal (secret.len, 32);
    assert_memory_equal (secret.value, expected, 32);

    //  RSA 2048 as p, q, dP, dQ, qInv (131 bytes each, chained).
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 2048);
    assert_non_null (rsa);
    static const char *parts [] = { OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
                                    OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
                                    OSSL_PKEY_PARAM_RSA_COEFFICIENT1 };
    uint8_t rsa_data [5 * 131];
    size_t rsa_len = 0;
    for (int i = 0; i < 5; i++)
        rsa_len += s_put_part (rsa_data + rsa_len, (uint8_t) (i + 1), rsa, parts [i], 128);
    uint8_t *answer = malloc (VC_CARD_ANSWER_MAX);
    size_t answer_len = 0;
    //  A qInv that is not q^-1 mod p is refused.
    rsa_data [rsa_len - 1] ^= 0x01;
    assert_int_equal (s_transfer (self, 0xFE, VC_ALG_RSA2048, 0x9D, rsa_data, rsa_len, answer,
                                  &answer_len), 0x6A80);
    rsa_data [rsa_len - 1] ^= 0x01;
    assert_int_equal (s_transfer (self, 0xFE, VC_ALG_RSA2048, 0x9D, rsa_data, rsa_len, answer,
                                  &answer_len), 0x9000);
    uint8_t block [256], cipher [256];
    assert_int_equal (RAND_bytes (block, sizeof block), 1);
    block [0] = 0x00;
    size_t cipher_len = sizeof cipher;
    ctx = EVP_PKEY_CTX_new_from_pkey (NULL, rsa, NULL);
    assert_true (EVP_PKEY_encrypt_init (ctx) > 0);
    assert_true (EVP_PKEY_CTX_set_rsa_padding (ctx, RSA_NO_PADDING) > 0);
    assert_true (EVP_PKEY_encrypt (ctx, cipher, &cipher_len, block, sizeof block) > 0);
    EVP_PKEY_CTX_free (ctx);
    uint8_t rsa_request [4 + 2 + 4 + 256] = { 0x7C, 0x82, 0x01, 0x06, 0x82, 0x00,
                                              0x81, 0x82, 0x01, 0x00 };
    memcpy (rsa_request + 10, cipher, 256);
    s_verify_pin (self, 0x9000);
    assert_int_equal (s_transfer (self, 0x87, VC_ALG_RSA2048, 0x9D, rsa_request,
                                  sizeof rsa_request, answer, &answer_len), 0x9000);
    vc_tlv_t result;
    assert_int_equal (vc_tlv_single (answer, answer_len, &outer), 0);
    assert_int_equal (vc_tlv_find (outer.value, outer.len, 0x82, &result), 0);
    assert_int_equal (result.len, 256);
    assert_memory_equal (result.value, block, 256);
    free (answer);
    EVP_PKEY_free (rsa);
    EVP_PKEY_free (ec);
    EVP_PKEY_free (peer);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_known_answers),
        cmocka_unit_test_setup_teardown (test_select, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_mgmt_auth_3des_and_writes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_external_auth, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_set_mgmt_key_aes128, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_chained_put_and_long_get, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_generate_and_sign_p256, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_generate_and_sign_rsa, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_pin_and_puk, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_malformed_commands, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_yubico_commands, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_import_key, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
