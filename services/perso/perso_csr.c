/*  perso_csr: PKCS#10 signed by someone else (see perso_csr.h).
*/
#include "perso_csr.h"

#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

//  DigestInfo prefix for SHA-256 (RFC 8017 9.2 note 1).
static const uint8_t s_sha256_prefix [] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    0x05, 0x00, 0x04, 0x20 };

int
perso_csr_pkcs1_block (const uint8_t digest [32], uint8_t *block, size_t block_size)
{
    size_t t_size = sizeof s_sha256_prefix + 32;
    if (block_size < t_size + 11)
        return -1;
    size_t pad = block_size - t_size - 3;
    block [0] = 0x00;
    block [1] = 0x01;
    memset (block + 2, 0xFF, pad);
    block [2 + pad] = 0x00;
    memcpy (block + 3 + pad, s_sha256_prefix, sizeof s_sha256_prefix);
    memcpy (block + 3 + pad + sizeof s_sha256_prefix, digest, 32);
    return 0;
}

int
perso_csr_sign_software (void *signer, const uint8_t *input, size_t input_size, uint8_t *sig,
                         size_t *sig_size, char *err, size_t err_size)
{
    EVP_PKEY *key = signer;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new (key, NULL);
    bool rsa = EVP_PKEY_is_a (key, "RSA");
    size_t size = PERSO_CSR_SIGNATURE_MAX;
    int ok = ctx && EVP_PKEY_sign_init (ctx) > 0;
    //  RSA: the block is already padded, so no padding here (raw RSA).
    if (ok && rsa)
        ok = EVP_PKEY_CTX_set_rsa_padding (ctx, RSA_NO_PADDING) > 0;
    ok = ok && EVP_PKEY_sign (ctx, sig, &size, input, input_size) > 0;
    EVP_PKEY_CTX_free (ctx);
    if (!ok) {
        snprintf (err, err_size, "software signature failed");
        return -1;
    }
    *sig_size = size;
    return 0;
}

static X509_ALGOR *
s_algorithm (bool rsa)
{
    X509_ALGOR *algorithm = X509_ALGOR_new ();
    if (algorithm
    &&  !X509_ALGOR_set0 (algorithm, OBJ_nid2obj (rsa ? NID_sha256WithRSAEncryption
                                                      : NID_ecdsa_with_SHA256),
                          rsa ? V_ASN1_NULL : V_ASN1_UNDEF, NULL)) {
        X509_ALGOR_free (algorithm);
        algorithm = NULL;
    }
    return algorithm;
}

int
perso_csr_build (EVP_PKEY *key, const char *common_name, perso_csr_sign_fn *sign, void *signer,
                 uint8_t **der_p, size_t *der_size, char *err, size_t err_size)
{
    *der_p = NULL;
    *der_size = 0;
    bool rsa = EVP_PKEY_is_a (key, "RSA");
    if (!rsa && !EVP_PKEY_is_a (key, "EC")) {
        snprintf (err, err_size, "CSR: key is neither RSA nor EC");
        return -1;
    }
    X509_REQ *request = X509_REQ_new ();
    X509_NAME *name = X509_NAME_new ();
    X509_ALGOR *algorithm = s_algorithm (rsa);
    ASN1_BIT_STRING *signature = NULL;
    unsigned char *tbs = NULL, *der = NULL;
    uint8_t digest [32], input [PERSO_CSR_INPUT_MAX], sig [PERSO_CSR_SIGNATURE_MAX];
    size_t input_size = 0, sig_size = 0;
    int rc = -1;
    if (!request || !name || !algorithm
    ||  !X509_REQ_set_version (request, X509_REQ_VERSION_1)
    ||  !X509_NAME_add_entry_by_NID (name, NID_commonName, MBSTRING_UTF8,
                                     (const unsigned char *) common_name, -1, -1, 0)
    ||  !X509_REQ_set_subject_name (request, name)
    ||  !X509_REQ_set_pubkey (request, key)) {
        snprintf (err, err_size, "CSR: cannot assemble the request");
        goto done;
    }
    int tbs_size = i2d_re_X509_REQ_tbs (request, &tbs);
    if (tbs_size <= 0 || !EVP_Digest (tbs, (size_t) tbs_size, digest, NULL, EVP_sha256 (), NULL)) {
        snprintf (err, err_size, "CSR: cannot encode the part to sign");
        goto done;
    }
    if (rsa) {
        input_size = (size_t) EVP_PKEY_get_size (key);
        if (input_size > sizeof input || perso_csr_pkcs1_block (digest, input, input_size)) {
            snprintf (err, err_size, "CSR: RSA key of unexpected size");
            goto done;
        }
    }
    else {
        memcpy (input, digest, sizeof digest);
        input_size = sizeof digest;
    }
    if (sign (signer, input, input_size, sig, &sig_size, err, err_size))
        goto done;
    signature = ASN1_BIT_STRING_new ();
    if (!signature || sig_size == 0 || sig_size > sizeof sig
    ||  !ASN1_BIT_STRING_set (signature, sig, (int) sig_size)) {
        snprintf (err, err_size, "CSR: no usable signature");
        goto done;
    }
    //  A signature has no unused bits; say so, or the encoder counts the
    //  trailing zero bits of its last byte.
    signature->flags &= ~(long) 0x07;
    signature->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    if (!X509_REQ_set1_signature_algo (request, algorithm)) {
        snprintf (err, err_size, "CSR: cannot set the signature algorithm");
        goto done;
    }
    X509_REQ_set0_signature (request, signature);
    signature = NULL;
    int der_len = i2d_X509_REQ (request, &der);
    if (der_len <= 0) {
        snprintf (err, err_size, "CSR: cannot encode the request");
        goto done;
    }
    //  Read back what we send, and check its signature with the card's key.
    const unsigned char *cursor = der;
    X509_REQ *check = d2i_X509_REQ (NULL, &cursor, der_len);
    bool verified = check && cursor == der + der_len && X509_REQ_verify (check, key) == 1;
    X509_REQ_free (check);
    if (!verified) {
        snprintf (err, err_size, "CSR: the signature does not verify with the card's public key");
        goto done;
    }
    *der_p = der;
    *der_size = (size_t) der_len;
    der = NULL;
    rc = 0;
done:
    OPENSSL_free (der);
    OPENSSL_free (tbs);
    ASN1_BIT_STRING_free (signature);
    X509_ALGOR_free (algorithm);
    X509_NAME_free (name);
    X509_REQ_free (request);
    OPENSSL_cleanse (input, sizeof input);
    return rc;
}
