/*  vc_keys: the card's cryptography, on OpenSSL 3.

    Asymmetric keys in the PIV slots: generation (RSA 2048, ECC P-256 and
    P-384), the public key as GENERATE answers it (7F49 template), and the
    private-key operation of GENERAL AUTHENTICATE: a raw RSA operation on
    a block the host has already padded, or ECDSA over a hash the host has
    already computed. ECDH for the key management slot comes for free.

    The card management key (9B): one block of 3DES or AES in ECB without
    padding, which is all the PIV mutual authentication needs.
*/
#ifndef VC_KEYS_H
#define VC_KEYS_H

#include "vc_buf.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  SP 800-78-4 algorithm identifiers.
#define VC_ALG_3DES         0x03
#define VC_ALG_RSA2048      0x07
#define VC_ALG_AES128       0x08
#define VC_ALG_AES192       0x0A
#define VC_ALG_AES256       0x0C
#define VC_ALG_ECCP256      0x11
#define VC_ALG_ECCP384      0x14

#define VC_MGMT_KEY_MAX     32
#define VC_MGMT_BLOCK_MAX   16

//  A new key pair for alg, or NULL (unknown alg, OpenSSL failure).
EVP_PKEY *vc_key_generate (uint8_t alg);
//  True when key is of the kind alg names (type and size).
bool vc_key_matches_alg (EVP_PKEY *key, uint8_t alg);
//  Appends 7F49 L { 81 modulus 82 exponent } or 7F49 L { 86 point }. 0 or -1.
int vc_key_public_template (EVP_PKEY *key, uint8_t alg, vc_buf_t *out);
//  Bytes the host must send to the private-key operation: the modulus
//  length for RSA, the field length for ECC (a shorter hash is accepted).
size_t vc_key_input_len (uint8_t alg);
//  RSA: input^d mod n on exactly vc_key_input_len bytes (the host pads).
//  ECC: ECDSA over a hash of at most the field length, DER-encoded.
//  Appends the result to out. 0, or -1 when the input is unusable.
int vc_key_private_op (EVP_PKEY *key, uint8_t alg, const uint8_t *input, size_t input_len,
                       vc_buf_t *out);
//  ECDH with the peer's uncompressed point; appends the shared secret. 0 or -1.
int vc_key_ecdh (EVP_PKEY *key, uint8_t alg, const uint8_t *point, size_t point_len,
                 vc_buf_t *out);

//  Key length in bytes for a management key algorithm; 0 if not one.
size_t vc_mgmt_key_len (uint8_t alg);
//  Block length: 8 for 3DES, 16 for AES; 0 if not a management algorithm.
size_t vc_mgmt_block_len (uint8_t alg);
//  Encrypts (or decrypts) one block in ECB. 0 or -1.
int vc_mgmt_crypt (uint8_t alg, const uint8_t *key, bool encrypt, const uint8_t *in,
                   uint8_t *out);

//  The key of an IMPORT ASYMMETRIC KEY (Yubico, INS FE) data field for
//  alg: RSA 2048 as CRT parts (tags 01..05, public exponent 65537), ECC
//  P-256/P-384 as the private scalar (tag 06); AA and AB are ignored.
//  NULL when the data is malformed or the parts do not make a key pair
//  (vc_key_import.c).
EVP_PKEY *vc_key_import (uint8_t alg, const uint8_t *data, size_t data_len);

//  Private key to and from DER (PKCS#8 / any format OpenSSL reads back).
int vc_key_to_der (EVP_PKEY *key, vc_buf_t *out);
EVP_PKEY *vc_key_from_der (const uint8_t *der, size_t der_len);

#endif
