/*  Unit tests for perso_csr: a PKCS#10 whose signature another party
    makes verifies when that party signs with the key, for P-256 and RSA
    2048, and is refused when it signs with another key or answers junk.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "perso_csr.h"

static void
s_build_and_check (EVP_PKEY *key)
{
    uint8_t *der = NULL;
    size_t size = 0;
    char err [256] = "";
    assert_int_equal (perso_csr_build (key, "card 9A", perso_csr_sign_software, key, &der, &size,
                                       err, sizeof err), 0);
    const unsigned char *cursor = der;
    X509_REQ *request = d2i_X509_REQ (NULL, &cursor, (long) size);
    assert_non_null (request);
    assert_int_equal (X509_REQ_verify (request, key), 1);
    assert_int_equal (EVP_PKEY_eq (X509_REQ_get0_pubkey (request), key), 1);
    X509_REQ_free (request);
    OPENSSL_free (der);
}

static void
test_p256_and_rsa2048_requests_verify (void **state)
{
    (void) state;
    EVP_PKEY *ec = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 2048);
    s_build_and_check (ec);
    s_build_and_check (rsa);
    EVP_PKEY_free (ec);
    EVP_PKEY_free (rsa);
}

//  A signer that signs with another key.
static int
s_other_key (void *signer, const uint8_t *input, size_t input_size, uint8_t *sig,
             size_t *sig_size, char *err, size_t err_size)
{
    return perso_csr_sign_software (signer, input, input_size, sig, sig_size, err, err_size);
}

static int
s_junk (void *signer, const uint8_t *input, size_t input_size, uint8_t *sig, size_t *sig_size,
        char *err, size_t err_size)
{
    (void) signer;
    (void) input;
    (void) input_size;
    (void) err;
    (void) err_size;
    memset (sig, 0x30, 8);
    *sig_size = 8;
    return 0;
}

static void
test_a_wrong_or_junk_signature_is_refused (void **state)
{
    (void) state;
    EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    EVP_PKEY *other = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    uint8_t *der = NULL;
    size_t size = 0;
    char err [256] = "";
    assert_int_equal (perso_csr_build (key, "x", s_other_key, other, &der, &size, err,
                                       sizeof err), -1);
    assert_null (der);
    assert_non_null (strstr (err, "does not verify"));
    assert_int_equal (perso_csr_build (key, "x", s_junk, NULL, &der, &size, err, sizeof err), -1);
    assert_null (der);
    EVP_PKEY_free (key);
    EVP_PKEY_free (other);
}

static void
test_pkcs1_block_layout (void **state)
{
    (void) state;
    uint8_t digest [32], block [256];
    memset (digest, 0xAB, sizeof digest);
    assert_int_equal (perso_csr_pkcs1_block (digest, block, sizeof block), 0);
    assert_int_equal (block [0], 0x00);
    assert_int_equal (block [1], 0x01);
    assert_int_equal (block [2], 0xFF);
    assert_int_equal (block [256 - 52], 0x00);
    assert_memory_equal (block + 256 - 51, "\x30\x31\x30\x0d\x06\x09\x60\x86\x48", 9);
    assert_memory_equal (block + 224, digest, 32);
    assert_int_equal (perso_csr_pkcs1_block (digest, block, 50), -1);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_p256_and_rsa2048_requests_verify),
        cmocka_unit_test (test_a_wrong_or_junk_signature_is_refused),
        cmocka_unit_test (test_pkcs1_block_layout),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
