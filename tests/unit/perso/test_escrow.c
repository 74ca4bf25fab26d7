/*  Unit tests for perso_escrow: an EC and an RSA key sealed for a recovery
    key pair come back equal; the envelope opens with that key pair only,
    and not once any byte of it is changed or it is read for another
    holder or key id; the recovery key file's format.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perso_escrow.h"

static void
s_round_trip (EVP_PKEY *key)
{
    uint8_t public_key [crypto_box_PUBLICKEYBYTES], secret_key [crypto_box_SECRETKEYBYTES];
    uint8_t other_public [crypto_box_PUBLICKEYBYTES], other_secret [crypto_box_SECRETKEYBYTES];
    crypto_box_keypair (public_key, secret_key);
    crypto_box_keypair (other_public, other_secret);
    perso_escrow_envelope_t envelope;
    assert_int_equal (perso_escrow_seal (key, public_key, "holder-1", "key-1", &envelope), 0);
    assert_non_null (envelope.ciphertext);
    assert_true (envelope.ciphertext_size > 32);

    EVP_PKEY *back = perso_escrow_open (&envelope, public_key, secret_key, "holder-1", "key-1");
    assert_non_null (back);
    assert_int_equal (EVP_PKEY_eq (back, key), 1);
    //  Private halves equal too: PKCS#8 round trip, not just the public key.
    assert_int_equal (EVP_PKEY_parameters_eq (back, key), 1);
    EVP_PKEY_free (back);

    //  Another recovery key pair, another holder, another key id.
    assert_null (perso_escrow_open (&envelope, other_public, other_secret, "holder-1", "key-1"));
    assert_null (perso_escrow_open (&envelope, public_key, secret_key, "holder-2", "key-1"));
    assert_null (perso_escrow_open (&envelope, public_key, secret_key, "holder-1", "key-2"));
    assert_null (perso_escrow_open (&envelope, public_key, secret_key, "holder-1key-1", ""));

    //  Any byte changed: ciphertext, nonce, tag, wrapped key.
    uint8_t *parts [] = { envelope.ciphertext, envelope.nonce, envelope.tag, envelope.wrapped_key };
    size_t sizes [] = { envelope.ciphertext_size, sizeof envelope.nonce, sizeof envelope.tag,
                        sizeof envelope.wrapped_key };
    for (size_t i = 0; i < 4; i++)
        for (size_t at = 0; at < sizes [i]; at += sizes [i] / 7 + 1) {
            parts [i][at] ^= 0x01;
            assert_null (perso_escrow_open (&envelope, public_key, secret_key, "holder-1", "key-1"));
            parts [i][at] ^= 0x01;
        }
    //  Cut short.
    envelope.ciphertext_size--;
    assert_null (perso_escrow_open (&envelope, public_key, secret_key, "holder-1", "key-1"));
    envelope.ciphertext_size++;
    back = perso_escrow_open (&envelope, public_key, secret_key, "holder-1", "key-1");
    assert_non_null (back);
    EVP_PKEY_free (back);

    //  Two seals of one key differ (fresh data key and nonce).
    perso_escrow_envelope_t second;
    assert_int_equal (perso_escrow_seal (key, public_key, "holder-1", "key-1", &second), 0);
    assert_memory_not_equal (second.wrapped_key, envelope.wrapped_key, sizeof second.wrapped_key);
    assert_memory_not_equal (second.nonce, envelope.nonce, sizeof second.nonce);
    perso_escrow_envelope_clear (&second);
    perso_escrow_envelope_clear (&envelope);
    assert_null (envelope.ciphertext);
    assert_int_equal (envelope.ciphertext_size, 0);
}

static void
test_seal_and_open_ec (void **state)
{
    (void) state;
    EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    assert_non_null (key);
    s_round_trip (key);
    EVP_PKEY_free (key);
}

static void
test_seal_and_open_rsa (void **state)
{
    (void) state;
    EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 2048);
    assert_non_null (key);
    s_round_trip (key);
    EVP_PKEY_free (key);
}

static void
test_seal_refusals (void **state)
{
    (void) state;
    uint8_t public_key [crypto_box_PUBLICKEYBYTES], secret_key [crypto_box_SECRETKEYBYTES];
    crypto_box_keypair (public_key, secret_key);
    EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    perso_escrow_envelope_t envelope;
    char long_id [PERSO_ESCROW_ID_MAX + 2];
    memset (long_id, 'a', sizeof long_id - 1);
    long_id [sizeof long_id - 1] = 0;
    assert_int_equal (perso_escrow_seal (NULL, public_key, "h", "k", &envelope), -1);
    assert_int_equal (perso_escrow_seal (key, public_key, "", "k", &envelope), -1);
    assert_int_equal (perso_escrow_seal (key, public_key, "h", NULL, &envelope), -1);
    assert_int_equal (perso_escrow_seal (key, public_key, long_id, "k", &envelope), -1);
    assert_null (envelope.ciphertext);
    long_id [PERSO_ESCROW_ID_MAX] = 0;
    assert_int_equal (perso_escrow_seal (key, public_key, long_id, long_id, &envelope), 0);
    EVP_PKEY *back = perso_escrow_open (&envelope, public_key, secret_key, long_id, long_id);
    assert_non_null (back);
    EVP_PKEY_free (back);
    perso_escrow_envelope_clear (&envelope);
    EVP_PKEY_free (key);
}

static void
test_recovery_key_file (void **state)
{
    (void) state;
    char err [160] = "";
    uint8_t public_key [32], secret_key [32], key [32];
    char path [] = "/tmp/tessera-escrow-test-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    const char *hex = "  000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    assert_int_equal (write (fd, hex, strlen (hex)), (ssize_t) strlen (hex));
    close (fd);
    assert_int_equal (perso_escrow_recovery_key_load (path, public_key, secret_key, err,
                                                      sizeof err), 0);
    assert_int_equal (secret_key [0], 0x00);
    assert_int_equal (secret_key [31], 0x1F);
    uint8_t expected [32];
    assert_int_equal (crypto_scalarmult_base (expected, secret_key), 0);
    assert_memory_equal (public_key, expected, 32);
    //  Sealed to the derived public key, opened with the file's pair.
    EVP_PKEY *ec = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    perso_escrow_envelope_t envelope;
    assert_int_equal (perso_escrow_seal (ec, expected, "h", "k", &envelope), 0);
    EVP_PKEY *back = perso_escrow_open (&envelope, public_key, secret_key, "h", "k");
    assert_non_null (back);
    EVP_PKEY_free (back);
    perso_escrow_envelope_clear (&envelope);
    EVP_PKEY_free (ec);

    //  Not hex, short, missing, unset.
    FILE *file = fopen (path, "w");
    fputs ("zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", file);
    fclose (file);
    assert_int_equal (perso_escrow_recovery_key_load (path, public_key, secret_key, err,
                                                      sizeof err), -1);
    assert_non_null (strstr (err, "64 hex"));
    file = fopen (path, "w");
    fputs ("0001", file);
    fclose (file);
    assert_int_equal (perso_escrow_recovery_key_load (path, public_key, secret_key, err,
                                                      sizeof err), -1);
    unlink (path);
    assert_int_equal (perso_escrow_recovery_key_load (path, public_key, secret_key, err,
                                                      sizeof err), -1);
    assert_non_null (strstr (err, "cannot read"));
    assert_int_equal (perso_escrow_recovery_key_load (NULL, public_key, secret_key, err,
                                                      sizeof err), -1);
    assert_non_null (strstr (err, "not set"));
    assert_int_equal (perso_escrow_key_parse ("ab", key, err, sizeof err), -1);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_seal_and_open_ec),
        cmocka_unit_test (test_seal_and_open_rsa),
        cmocka_unit_test (test_seal_refusals),
        cmocka_unit_test (test_recovery_key_file),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
