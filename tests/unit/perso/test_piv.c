/*  Unit tests for perso_apdu and perso_piv against a scripted card: the
    commands perso sends (chaining, GET RESPONSE), and every kind of bad
    answer a card can give (wrong status, malformed data, a public key off
    its curve, a signature that is no DER, a card that does not know the
    management key) ending in a clear failure. Also the FASC-N and CHUID
    encodings.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "perso_piv.h"

#define S_MAX 24

//  The scripted card: answers in order; records what it was sent. With
//  mgmt_key set it plays the card's side of the management-key
//  authentication (3DES) instead.
typedef struct {
    uint8_t answers [S_MAX][600];
    size_t sizes [S_MAX];
    int count, next;
    uint8_t commands [S_MAX][300];
    size_t command_sizes [S_MAX];
    int sent;
    perso_io_t fail;                //  returned once the script runs out
    const uint8_t *mgmt_key;
    uint8_t witness [8];
} s_card_t;

static void
s_answer (s_card_t *card, const void *data, size_t size)
{
    memcpy (card->answers [card->count], data, size);
    card->sizes [card->count++] = size;
}

static void
s_des (const uint8_t *key, bool encrypt, const uint8_t in [8], uint8_t out [8])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
    int len = 0, final = 0;
    EVP_CipherInit_ex (ctx, EVP_des_ede3_ecb (), NULL, key, NULL, encrypt);
    EVP_CIPHER_CTX_set_padding (ctx, 0);
    EVP_CipherUpdate (ctx, out, &len, in, 8);
    EVP_CipherFinal_ex (ctx, out + len, &final);
    EVP_CIPHER_CTX_free (ctx);
}

static perso_io_t
s_transmit (void *io, const uint8_t *command, size_t command_size, uint8_t *response,
            size_t *response_size, char *err, size_t err_size)
{
    s_card_t *card = io;
    if (card->sent < S_MAX) {
        memcpy (card->commands [card->sent], command, command_size);
        card->command_sizes [card->sent] = command_size;
    }
    card->sent++;
    if (card->mgmt_key && command [1] == 0x87 && command [3] == 0x9B) {
        if (command [7] == 0x80 && command [8] == 0x00) {      //  witness asked
            uint8_t answer [14] = { 0x7C, 0x0A, 0x80, 0x08 };
            memcpy (card->witness, "WITNESS!", 8);
            s_des (card->mgmt_key, true, card->witness, answer + 4);
            answer [12] = 0x90;
            answer [13] = 0x00;
            memcpy (response, answer, sizeof answer);
            *response_size = sizeof answer;
            return PERSO_IO_OK;
        }
        //  7C 14 80 08 <witness> 81 08 <challenge>
        if (memcmp (command + 9, card->witness, 8) != 0) {
            memcpy (response, "\x69\x82", 2);
            *response_size = 2;
            return PERSO_IO_OK;
        }
        uint8_t answer [14] = { 0x7C, 0x0A, 0x82, 0x08 };
        s_des (card->mgmt_key, true, command + 19, answer + 4);
        answer [12] = 0x90;
        answer [13] = 0x00;
        memcpy (response, answer, sizeof answer);
        *response_size = sizeof answer;
        return PERSO_IO_OK;
    }
    if (card->next >= card->count) {
        snprintf (err, err_size, "scripted failure");
        return card->fail ? card->fail : PERSO_IO_REMOVED;
    }
    size_t size = card->sizes [card->next];
    if (size > *response_size)
        return PERSO_IO_MALFORMED;
    memcpy (response, card->answers [card->next++], size);
    *response_size = size;
    return PERSO_IO_OK;
}

#define S_CARD(name) \
    s_card_t name##_state; \
    memset (&name##_state, 0, sizeof name##_state); \
    perso_card_t name = { s_transmit, &name##_state }

static void
test_select_get_data_and_their_bad_answers (void **state)
{
    (void) state;
    S_CARD (card);
    perso_piv_status_t status;
    s_answer (&card_state, "\x61\x03\x4F\x01\x00\x90\x00", 7);
    assert_int_equal (perso_piv_select (&card, &status), 0);
    assert_memory_equal (card_state.commands [0], "\x00\xA4\x04\x00\x0B\xA0\x00\x00\x03\x08", 10);
    s_answer (&card_state, "\x30\x00\x90\x00", 4);              //  not an APT
    assert_int_equal (perso_piv_select (&card, &status), -1);
    assert_int_equal (status.io, PERSO_IO_MALFORMED);
    s_answer (&card_state, "\x6A\x82", 2);
    assert_int_equal (perso_piv_select (&card, &status), -1);
    assert_int_equal (status.sw, 0x6A82);
    assert_non_null (strstr (status.detail, "SW 6A82"));

    uint8_t out [64];
    size_t size = 0;
    bool found = true;
    s_answer (&card_state, "\x6A\x82", 2);
    assert_int_equal (perso_piv_get_data (&card, PERSO_PIV_OBJ_CHUID, out, sizeof out, &size,
                                          &found, &status), 0);
    assert_false (found);
    s_answer (&card_state, "\x53\x03\x34\x01\xAA\x90\x00", 7);
    assert_int_equal (perso_piv_get_data (&card, PERSO_PIV_OBJ_CHUID, out, sizeof out, &size,
                                          &found, &status), 0);
    assert_true (found);
    assert_int_equal (size, 3);
    s_answer (&card_state, "\x53\x09\x34\x01\x90\x00", 6);      //  length past the end
    assert_int_equal (perso_piv_get_data (&card, PERSO_PIV_OBJ_CHUID, out, sizeof out, &size,
                                          &found, &status), -1);
    assert_int_equal (status.io, PERSO_IO_MALFORMED);
    //  An answer cut short: its last bytes are no status word.
    s_answer (&card_state, "\x53\x09\x34\x01", 4);
    assert_int_equal (perso_piv_get_data (&card, PERSO_PIV_OBJ_CHUID, out, sizeof out, &size,
                                          &found, &status), -1);
    assert_non_null (strstr (status.detail, "no status word"));
    //  The card left: the transport's failure is reported as such.
    assert_int_equal (perso_piv_select (&card, &status), -1);
    assert_int_equal (status.io, PERSO_IO_REMOVED);
    assert_non_null (strstr (status.detail, "card removed"));
}

static void
test_long_answers_are_fetched_and_bounded (void **state)
{
    (void) state;
    S_CARD (card);
    perso_piv_status_t status;
    uint8_t out [64];
    size_t size = 0;
    bool found = false;
    s_answer (&card_state, "\x53\x04\x61\x03", 4);              //  truncated, no SW
    card_state.count = 0;
    s_answer (&card_state, "\x53\x04\x01\x02\x61\x02", 6);
    s_answer (&card_state, "\x03\x04\x90\x00", 4);
    assert_int_equal (perso_piv_get_data (&card, PERSO_PIV_OBJ_CERT_9A, out, sizeof out, &size,
                                          &found, &status), 0);
    assert_int_equal (size, 4);
    assert_memory_equal (card_state.commands [1], "\x00\xC0\x00\x00\x02", 5);
    //  A card that never stops saying "more".
    S_CARD (endless);
    for (int i = 0; i < S_MAX; i++)
        s_answer (&endless_state, "\x61\x01", 2);
    endless_state.fail = PERSO_IO_MALFORMED;
    assert_int_equal (perso_piv_get_data (&endless, PERSO_PIV_OBJ_CERT_9A, out, sizeof out,
                                          &size, &found, &status), -1);
    assert_int_equal (status.io, PERSO_IO_MALFORMED);
}

static void
test_put_data_is_chained_in_parts_of_255 (void **state)
{
    (void) state;
    S_CARD (card);
    perso_piv_status_t status;
    uint8_t content [600];
    memset (content, 0x42, sizeof content);
    for (int i = 0; i < 3; i++)
        s_answer (&card_state, "\x90\x00", 2);
    assert_int_equal (perso_piv_put_data (&card, PERSO_PIV_OBJ_CERT_9A, content, sizeof content,
                                          &status), 0);
    assert_int_equal (card_state.sent, 3);
    assert_int_equal (card_state.commands [0][0], 0x10);
    assert_int_equal (card_state.commands [1][0], 0x10);
    assert_int_equal (card_state.commands [2][0], 0x00);
    assert_int_equal (card_state.commands [0][4], 255);
    //  5C 03 5F C1 05 53 82 02 58 ...
    assert_memory_equal (card_state.commands [0] + 5, "\x5C\x03\x5F\xC1\x05\x53\x82\x02\x58", 9);
    //  A refused part stops the chain.
    S_CARD (refusing);
    s_answer (&refusing_state, "\x69\x82", 2);
    assert_int_equal (perso_piv_put_data (&refusing, PERSO_PIV_OBJ_CERT_9A, content,
                                          sizeof content, &status), -1);
    assert_int_equal (refusing_state.sent, 1);
    assert_int_equal (status.sw, 0x6982);
}

//  IMPORT ASYMMETRIC KEY: P1 the algorithm, P2 the slot; EC as 06 and the
//  32-byte scalar; RSA as 01..05 of 128 bytes each, chained; the scalar
//  sent is the key's; other keys refused before anything is sent; a
//  refusal names the slot.
static void
test_import_key_commands (void **state)
{
    (void) state;
    perso_piv_status_t status;
    uint8_t algorithm = 0;
    EVP_PKEY *ec = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    assert_non_null (ec);
    S_CARD (card);
    s_answer (&card_state, "\x90\x00", 2);
    assert_int_equal (perso_piv_import_key (&card, PERSO_PIV_SLOT_KEY_MANAGEMENT, ec, &algorithm,
                                            &status), 0);
    assert_int_equal (algorithm, PERSO_PIV_ALG_ECCP256);
    assert_int_equal (card_state.sent, 1);
    assert_memory_equal (card_state.commands [0], "\x00\xFE\x11\x9D\x22\x06\x20", 7);
    assert_int_equal (card_state.command_sizes [0], 7 + 32);
    BIGNUM *scalar = NULL;
    uint8_t expected [32];
    assert_int_equal (EVP_PKEY_get_bn_param (ec, "priv", &scalar), 1);
    assert_int_equal (BN_bn2binpad (scalar, expected, 32), 32);
    BN_clear_free (scalar);
    assert_memory_equal (card_state.commands [0] + 7, expected, 32);

    EVP_PKEY *rsa = EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 2048);
    assert_non_null (rsa);
    S_CARD (rsa_card);
    for (int i = 0; i < 3; i++)
        s_answer (&rsa_card_state, "\x90\x00", 2);
    assert_int_equal (perso_piv_import_key (&rsa_card, PERSO_PIV_SLOT_KEY_MANAGEMENT, rsa,
                                            &algorithm, &status), 0);
    assert_int_equal (algorithm, PERSO_PIV_ALG_RSA2048);
    //  5 x (01 81 80 <128>) = 655 bytes: 255 + 255 + 145.
    assert_int_equal (rsa_card_state.sent, 3);
    assert_memory_equal (rsa_card_state.commands [0], "\x10\xFE\x07\x9D\xFF\x01\x81\x80", 8);
    assert_int_equal (rsa_card_state.commands [2][0], 0x00);
    assert_int_equal (rsa_card_state.commands [2][4], 145);

    //  P-384 and RSA 3072 are not what perso imports.
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-384");
    S_CARD (unused);
    assert_int_equal (perso_piv_import_key (&unused, PERSO_PIV_SLOT_KEY_MANAGEMENT, p384,
                                            &algorithm, &status), -1);
    assert_int_equal (unused_state.sent, 0);
    //  The card refuses: the slot is named.
    S_CARD (refusing);
    s_answer (&refusing_state, "\x69\x82", 2);
    assert_int_equal (perso_piv_import_key (&refusing, PERSO_PIV_SLOT_KEY_MANAGEMENT, ec,
                                            &algorithm, &status), -1);
    assert_non_null (strstr (status.detail, "IMPORT 9D"));
    assert_int_equal (status.sw, 0x6982);
    EVP_PKEY_free (p384);
    EVP_PKEY_free (rsa);
    EVP_PKEY_free (ec);
}

//  7F 49 41 86 41 04 X Y 90 00 for key.
static size_t
s_ec_answer (EVP_PKEY *key, uint8_t *out)
{
    uint8_t point [65];
    size_t point_size = 0;
    EVP_PKEY_get_octet_string_param (key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                     &point_size);
    memcpy (out, "\x7F\x49\x43\x86\x41", 5);
    memcpy (out + 5, point, 65);
    memcpy (out + 70, "\x90\x00", 2);
    return 72;
}

static void
test_generate_checks_the_public_key (void **state)
{
    (void) state;
    EVP_PKEY *real = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    uint8_t answer [80];
    size_t size = s_ec_answer (real, answer);
    S_CARD (card);
    s_answer (&card_state, answer, size);
    perso_piv_status_t status;
    EVP_PKEY *key = NULL;
    assert_int_equal (perso_piv_generate (&card, 0x9A, PERSO_PIV_ALG_ECCP256, &key, &status), 0);
    assert_int_equal (EVP_PKEY_eq (key, real), 1);
    assert_memory_equal (card_state.commands [0], "\x00\x47\x00\x9A\x05\xAC\x03\x80\x01\x11", 10);
    EVP_PKEY_free (key);
    //  A point off the curve, and a truncated template.
    answer [40] ^= 0x01;
    s_answer (&card_state, answer, size);
    assert_int_equal (perso_piv_generate (&card, 0x9A, PERSO_PIV_ALG_ECCP256, &key, &status), -1);
    assert_null (key);
    assert_int_equal (status.io, PERSO_IO_MALFORMED);
    answer [40] ^= 0x01;
    memcpy (answer + 36, "\x90\x00", 2);
    s_answer (&card_state, answer, 38);
    assert_int_equal (perso_piv_generate (&card, 0x9C, PERSO_PIV_ALG_ECCP256, &key, &status), -1);
    assert_int_equal (status.io, PERSO_IO_MALFORMED);
    EVP_PKEY_free (real);
    //  An RSA key: modulus 256 bytes, exponent 65537.
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 2048);
    BIGNUM *n = NULL;
    EVP_PKEY_get_bn_param (rsa, OSSL_PKEY_PARAM_RSA_N, &n);
    uint8_t template [300] = { 0x7F, 0x49, 0x82, 0x01, 0x09, 0x81, 0x82, 0x01, 0x00 };
    BN_bn2binpad (n, template + 9, 256);
    memcpy (template + 265, "\x82\x03\x01\x00\x01", 5);
    assert_non_null (key = perso_piv_parse_public_key (template, 270, PERSO_PIV_ALG_RSA2048,
                                                       status.detail, sizeof status.detail));
    assert_int_equal (EVP_PKEY_eq (key, rsa), 1);
    EVP_PKEY_free (key);
    template [269] = 0x00;                                      //  even exponent
    assert_null (perso_piv_parse_public_key (template, 270, PERSO_PIV_ALG_RSA2048,
                                             status.detail, sizeof status.detail));
    BN_free (n);
    EVP_PKEY_free (rsa);
}

static void
test_sign_accepts_only_a_der_signature (void **state)
{
    (void) state;
    uint8_t digest [32] = { 1 };
    EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new (key, NULL);
    uint8_t der [80];
    size_t der_size = sizeof der;
    EVP_PKEY_sign_init (ctx);
    assert_int_equal (EVP_PKEY_sign (ctx, der, &der_size, digest, sizeof digest), 1);
    EVP_PKEY_CTX_free (ctx);
    uint8_t answer [100] = { 0x7C, (uint8_t) (der_size + 2), 0x82, (uint8_t) der_size };
    memcpy (answer + 4, der, der_size);
    memcpy (answer + 4 + der_size, "\x90\x00", 2);
    S_CARD (card);
    s_answer (&card_state, answer, der_size + 6);
    uint8_t sig [PERSO_PIV_SIGNATURE_MAX];
    size_t sig_size = 0;
    perso_piv_status_t status;
    assert_int_equal (perso_piv_sign (&card, 0x9A, PERSO_PIV_ALG_ECCP256, digest, 32, sig,
                                      &sig_size, &status), 0);
    assert_int_equal (sig_size, der_size);
    //  7C 24 82 00 81 20 <digest>
    assert_memory_equal (card_state.commands [0], "\x00\x87\x11\x9A\x26\x7C\x24\x82\x00\x81\x20", 11);
    answer [5] ^= 0xFF;                                         //  no longer DER
    s_answer (&card_state, answer, der_size + 6);
    assert_int_equal (perso_piv_sign (&card, 0x9A, PERSO_PIV_ALG_ECCP256, digest, 32, sig,
                                      &sig_size, &status), -1);
    assert_int_equal (status.io, PERSO_IO_MALFORMED);
    assert_int_equal (perso_piv_sign (&card, 0x9A, PERSO_PIV_ALG_ECCP256, digest, 31, sig,
                                      &sig_size, &status), -1);
    EVP_PKEY_free (key);
}

static void
test_management_key_mutual_authentication (void **state)
{
    (void) state;
    static const uint8_t key [24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
                                      1, 2, 3, 4, 5, 6, 7, 8 };
    uint8_t wrong [24];
    memcpy (wrong, key, sizeof wrong);
    wrong [0] ^= 0x02;
    S_CARD (card);
    card_state.mgmt_key = key;
    perso_piv_status_t status;
    assert_int_equal (perso_piv_authenticate (&card, PERSO_PIV_ALG_3DES, key, sizeof key,
                                              &status), 0);
    assert_int_equal (perso_piv_authenticate (&card, PERSO_PIV_ALG_3DES, wrong, sizeof wrong,
                                              &status), -1);
    assert_int_equal (status.sw, 0x6982);
    assert_int_equal (perso_piv_authenticate (&card, PERSO_PIV_ALG_AES128, key, sizeof key,
                                              &status), -1);
    //  SET MANAGEMENT KEY: 00 FF FF FF 13 08 9B 10 <16 bytes>
    S_CARD (setting);
    s_answer (&setting_state, "\x90\x00", 2);
    assert_int_equal (perso_piv_set_management_key (&setting, PERSO_PIV_ALG_AES128, key, 16,
                                                    &status), 0);
    assert_memory_equal (setting_state.commands [0], "\x00\xFF\xFF\xFF\x13\x08\x9B\x10", 8);
}

static void
test_pin_commands_pad_with_ff (void **state)
{
    (void) state;
    S_CARD (card);
    perso_piv_status_t status;
    s_answer (&card_state, "\x63\xC2", 2);
    assert_int_equal (perso_piv_verify_pin (&card, "123456", &status), -1);
    assert_int_equal (status.sw, 0x63C2);
    assert_memory_equal (card_state.commands [0], "\x00\x20\x00\x80\x08" "123456\xFF\xFF", 13);
    s_answer (&card_state, "\x90\x00", 2);
    assert_int_equal (perso_piv_change_reference (&card, PERSO_PIV_REF_PUK, "12345678",
                                                  "87654321", &status), 0);
    assert_memory_equal (card_state.commands [1], "\x00\x24\x00\x81\x10" "1234567887654321", 21);
    assert_int_equal (perso_piv_verify_pin (&card, "12345", &status), -1);
    assert_int_equal (card_state.sent, 2);                      //  nothing sent
}

static void
test_fascn_and_chuid (void **state)
{
    (void) state;
    //  The FASC-N Yubico's tools write (agency 9999, system 9999, credential 999999).
    static const uint8_t yubico [25] = {
        0xd4, 0xe7, 0x39, 0xda, 0x73, 0x9c, 0xed, 0x39, 0xce, 0x73, 0x9d, 0x83, 0x68,
        0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xc8, 0x42, 0x10, 0xc3, 0xeb };
    uint8_t fascn [25];
    assert_int_equal (perso_piv_fascn ("9999", "9999", "999999", fascn), 0);
    assert_memory_equal (fascn, yubico, sizeof yubico);
    assert_int_equal (perso_piv_fascn ("999", "9999", "999999", fascn), -1);
    assert_int_equal (perso_piv_fascn ("99a9", "9999", "999999", fascn), -1);
    uint8_t guid [16], read_back [16];
    for (int i = 0; i < 16; i++)
        guid [i] = (uint8_t) (i + 1);
    perso_buf_t chuid;
    perso_buf_init (&chuid);
    perso_piv_chuid (yubico, guid, "20300101", &chuid);
    assert_false (chuid.failed);
    assert_int_equal (chuid.size, 2 + 25 + 2 + 16 + 2 + 8 + 2 + 2);
    assert_int_equal (perso_piv_chuid_guid (chuid.data, chuid.size, read_back), 1);
    assert_memory_equal (read_back, guid, 16);
    perso_buf_free (&chuid);
    const uint8_t zero_guid [] = { 0x34, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    assert_int_equal (perso_piv_chuid_guid (zero_guid, sizeof zero_guid, read_back), 0);
    const uint8_t short_guid [] = { 0x34, 0x02, 1, 2 };
    assert_int_equal (perso_piv_chuid_guid (short_guid, sizeof short_guid, read_back), -1);
    perso_buf_t object;
    perso_buf_init (&object);
    perso_piv_cert_object ((const uint8_t *) "\x30\x00", 2, &object);
    assert_int_equal (object.size, 9);
    assert_memory_equal (object.data, "\x70\x02\x30\x00\x71\x01\x00\xFE\x00", 9);
    perso_buf_free (&object);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_select_get_data_and_their_bad_answers),
        cmocka_unit_test (test_long_answers_are_fetched_and_bounded),
        cmocka_unit_test (test_put_data_is_chained_in_parts_of_255),
        cmocka_unit_test (test_import_key_commands),
        cmocka_unit_test (test_generate_checks_the_public_key),
        cmocka_unit_test (test_sign_accepts_only_a_der_signature),
        cmocka_unit_test (test_management_key_mutual_authentication),
        cmocka_unit_test (test_pin_commands_pad_with_ff),
        cmocka_unit_test (test_fascn_and_chuid),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
