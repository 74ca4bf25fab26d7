/*  perso_csr: a PKCS#10 request whose signature another party makes (the
    card, through GENERAL AUTHENTICATE; a software key in the unit tests
    and for PKCS#12).

    The request is assembled with OpenSSL's ASN.1: the public key from the
    card, a subject that only names the card (the CA builds the real one
    from the validated request), the to-be-signed part encoded
    (i2d_re_X509_REQ_tbs) and hashed here, the signer's answer set as the
    signature with its algorithm (ecdsa-with-SHA256 or
    sha256WithRSAEncryption), and the whole checked with X509_REQ_verify
    before it goes anywhere: a card that signs with another key, or
    garbage, never reaches the CA.
*/
#ifndef PERSO_CSR_H
#define PERSO_CSR_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define PERSO_CSR_INPUT_MAX 256
#define PERSO_CSR_SIGNATURE_MAX 512

//  Signs input: for an EC key, the SHA-256 digest (32 bytes); for an RSA
//  key, the 256-byte PKCS#1 v1.5 block to raise to the private exponent.
//  Writes the signature (DER ECDSA, or the raw RSA result) to sig, at most
//  PERSO_CSR_SIGNATURE_MAX bytes. 0, or -1 with err.
typedef int (perso_csr_sign_fn) (void *signer, const uint8_t *input, size_t input_size,
                                 uint8_t *sig, size_t *sig_size, char *err, size_t err_size);

//  The request for key (EC P-256 or RSA 2048), subject CN = common_name.
//  0 and *der_p (caller frees with OPENSSL_free), or -1 with err.
int perso_csr_build (EVP_PKEY *key, const char *common_name, perso_csr_sign_fn *sign,
                     void *signer, uint8_t **der_p, size_t *der_size, char *err, size_t err_size);

//  EMSA-PKCS1-v1_5 with SHA-256 of digest (32 bytes) into a block of
//  block_size bytes. 0, or -1 when block_size is too small.
int perso_csr_pkcs1_block (const uint8_t digest [32], uint8_t *block, size_t block_size);

//  A perso_csr_sign_fn over a software key (signer is the EVP_PKEY).
int perso_csr_sign_software (void *signer, const uint8_t *input, size_t input_size,
                             uint8_t *sig, size_t *sig_size, char *err, size_t err_size);

#endif
