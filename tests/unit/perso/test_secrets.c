/*  Unit tests for perso_secrets: the diversification documented in
    docs/perso.md (recomputed here with OpenSSL's HMAC), PINs, activation
    codes and their normalisation and hashing, UUIDs, the master key file.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perso_secrets.h"

static int
s_setup (void **state)
{
    (void) state;
    return sodium_init () < 0 ? -1 : 0;
}

static void
test_diversified_keys_follow_the_documented_derivation (void **state)
{
    (void) state;
    uint8_t master [32], uuid [16], key [PERSO_MGMT_KEY_SIZE], mac [32], message [64];
    for (int i = 0; i < 32; i++)
        master [i] = (uint8_t) i;
    assert_int_equal (perso_uuid_parse ("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0", uuid), 0);
    assert_int_equal (perso_diversify_management_key (master, sizeof master, uuid, key), 0);
    const char *label = "tessera/perso/management-key/v1";
    memcpy (message, label, strlen (label));
    memcpy (message + strlen (label), uuid, 16);
    unsigned int mac_size = 0;
    HMAC (EVP_sha256 (), master, sizeof master, message, strlen (label) + 16, mac, &mac_size);
    assert_memory_equal (key, mac, PERSO_MGMT_KEY_SIZE);
    char puk [PERSO_PIN_DIGITS + 1];
    assert_int_equal (perso_diversify_puk (master, sizeof master, uuid, puk), 0);
    assert_int_equal (strlen (puk), 8);
    label = "tessera/perso/puk/v1";
    memcpy (message, label, strlen (label));
    memcpy (message + strlen (label), uuid, 16);
    HMAC (EVP_sha256 (), master, sizeof master, message, strlen (label) + 16, mac, &mac_size);
    unsigned long long number = 0;
    for (int i = 0; i < 8; i++)
        number = (number << 8) | mac [i];
    char expected [16];
    snprintf (expected, sizeof expected, "%08llu", number % 100000000ULL);
    assert_string_equal (puk, expected);
    //  Another card, another key.
    uint8_t other_uuid [16], other_key [PERSO_MGMT_KEY_SIZE];
    memcpy (other_uuid, uuid, 16);
    other_uuid [15] ^= 1;
    perso_diversify_management_key (master, sizeof master, other_uuid, other_key);
    assert_memory_not_equal (key, other_key, sizeof key);
}

static void
test_pins_and_codes (void **state)
{
    (void) state;
    char pin [PERSO_PIN_DIGITS + 1], code [PERSO_CODE_TEXT_SIZE];
    char normalised [PERSO_CODE_CHARS + 1], again [PERSO_CODE_CHARS + 1];
    perso_random_pin (pin);
    assert_int_equal (strlen (pin), 8);
    for (int i = 0; i < 8; i++)
        assert_true (pin [i] >= '0' && pin [i] <= '9');
    perso_random_code (code);
    assert_int_equal (strlen (code), 14);
    assert_true (code [4] == '-' && code [9] == '-');
    assert_null (strpbrk (code, "01ILO"));
    assert_true (perso_code_normalise (code, normalised));
    char loose [40];
    snprintf (loose, sizeof loose, " %.4s %.4s-%.4s ", code, code + 5, code + 10);
    for (char *p = loose; *p; p++)
        *p = (char) (*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    assert_true (perso_code_normalise (loose, again));
    assert_string_equal (normalised, again);
    assert_false (perso_code_normalise ("ABCD-EFGH-JKM", again));       //  11
    assert_false (perso_code_normalise ("ABCD-EFGH-JKMNP", again));     //  13
    assert_false (perso_code_normalise ("ABCD-EFGH-JKM0", again));      //  not in the alphabet
    assert_false (perso_code_normalise (NULL, again));
    char hash [PERSO_HASH_SIZE];
    assert_int_equal (perso_code_hash (normalised, hash), 0);
    assert_int_equal (strncmp (hash, "$argon2id$", 10), 0);
    assert_true (perso_code_verify (hash, normalised));
    normalised [0] = normalised [0] == 'A' ? 'B' : 'A';
    assert_false (perso_code_verify (hash, normalised));
    assert_false (perso_code_verify ("", normalised));
}

static void
test_sealed_secrets_open_with_mails_key_only (void **state)
{
    (void) state;
    uint8_t public_key [crypto_box_PUBLICKEYBYTES], secret_key [crypto_box_SECRETKEYBYTES];
    crypto_box_keypair (public_key, secret_key);
    uint8_t *sealed = NULL;
    size_t size = 0;
    assert_int_equal (perso_seal (public_key, "12345678", 8, &sealed, &size), 0);
    assert_int_equal (size, 8 + PERSO_SEAL_OVERHEAD);
    char opened [9] = "";
    assert_int_equal (crypto_box_seal_open ((uint8_t *) opened, sealed, size, public_key,
                                            secret_key), 0);
    assert_memory_equal (opened, "12345678", 8);
    free (sealed);
}

static void
test_uuids_and_master_key_files (void **state)
{
    (void) state;
    uint8_t uuid [16];
    char text [37];
    perso_uuid_random (uuid);
    perso_uuid_format (uuid, text);
    assert_int_equal (text [14], '4');
    uint8_t back [16];
    assert_int_equal (perso_uuid_parse (text, back), 0);
    assert_memory_equal (back, uuid, 16);
    assert_int_equal (perso_uuid_parse ("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f", back), -1);
    assert_int_equal (perso_uuid_parse ("0f1e2d3c+4b5a-4978-8695-a4b3c2d1e0f0", back), -1);
    assert_int_equal (perso_uuid_parse ("0g1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0", back), -1);
    char path [] = "/tmp/perso-master-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    const char *good = "  000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    assert_int_equal (write (fd, good, strlen (good)), (ssize_t) strlen (good));
    close (fd);
    uint8_t key [PERSO_MASTER_KEY_MAX];
    size_t key_size = 0;
    char err [256];
    assert_int_equal (perso_master_key_load (path, key, &key_size, err, sizeof err), 0);
    assert_int_equal (key_size, 32);
    assert_int_equal (key [31], 0x1f);
    FILE *file = fopen (path, "w");
    fputs ("0001020304", file);                 //  too short
    fclose (file);
    assert_int_equal (perso_master_key_load (path, key, &key_size, err, sizeof err), -1);
    unlink (path);
    assert_int_equal (perso_master_key_load (path, key, &key_size, err, sizeof err), -1);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_diversified_keys_follow_the_documented_derivation),
        cmocka_unit_test (test_pins_and_codes),
        cmocka_unit_test (test_sealed_secrets_open_with_mails_key_only),
        cmocka_unit_test (test_uuids_and_master_key_files),
    };
    return cmocka_run_group_tests (tests, s_setup, NULL);
}
