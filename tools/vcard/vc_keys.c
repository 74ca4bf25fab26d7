/*  vc_keys: key generation, private-key operations and the management key
    cipher (see vc_keys.h).
*/
#include "vc_keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <string.h>

EVP_PKEY *
vc_key_generate (uint8_t alg)
{
    switch (alg) {
        case VC_ALG_RSA2048:
            return EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 2048);
        case VC_ALG_ECCP256:
            return EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
        case VC_ALG_ECCP384:
            return EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-384");
        default:
            return NULL;
    }
}

bool
vc_key_matches_alg (EVP_PKEY *key, uint8_t alg)
{
    if (!key)
        return false;
    switch (alg) {
        case VC_ALG_RSA2048:
            return EVP_PKEY_is_a (key, "RSA") && EVP_PKEY_get_bits (key) == 2048;
        case VC_ALG_ECCP256:
            return EVP_PKEY_is_a (key, "EC") && EVP_PKEY_get_bits (key) == 256;
        case VC_ALG_ECCP384:
            return EVP_PKEY_is_a (key, "EC") && EVP_PKEY_get_bits (key) == 384;
        default:
            return false;
    }
}

size_t
vc_key_input_len (uint8_t alg)
{
    switch (alg) {
        case VC_ALG_RSA2048: return 256;
        case VC_ALG_ECCP256: return 32;
        case VC_ALG_ECCP384: return 48;
        default:             return 0;
    }
}

//  Appends tag, length and the big-endian bytes of a BIGNUM.
static int
s_put_bn (vc_buf_t *out, uint32_t tag, const BIGNUM *bn)
{
    int bytes = BN_num_bytes (bn);
    if (bytes <= 0 || bytes > 1024)
        return -1;
    uint8_t value [1024];
    if (BN_bn2bin (bn, value) != bytes)
        return -1;
    vc_buf_put_tl (out, tag, (size_t) bytes);
    vc_buf_put (out, value, (size_t) bytes);
    return out->failed ? -1 : 0;
}

int
vc_key_public_template (EVP_PKEY *key, uint8_t alg, vc_buf_t *out)
{
    if (!vc_key_matches_alg (key, alg))
        return -1;
    int rc = -1;
    vc_buf_t inner;
    vc_buf_init (&inner, 2048);
    BIGNUM *n = NULL, *e = NULL;
    if (alg == VC_ALG_RSA2048) {
        if (!EVP_PKEY_get_bn_param (key, OSSL_PKEY_PARAM_RSA_N, &n)
        ||  !EVP_PKEY_get_bn_param (key, OSSL_PKEY_PARAM_RSA_E, &e))
            goto done;
        if (s_put_bn (&inner, 0x81, n) || s_put_bn (&inner, 0x82, e))
            goto done;
    }
    else {
        uint8_t point [133];
        size_t point_len = 0;
        if (!EVP_PKEY_get_octet_string_param (key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                              point, sizeof point, &point_len))
            goto done;
        vc_buf_put_tl (&inner, 0x86, point_len);
        vc_buf_put (&inner, point, point_len);
    }
    if (inner.failed)
        goto done;
    vc_buf_put_tl (out, 0x7F49, inner.len);
    vc_buf_put (out, inner.data, inner.len);
    rc = out->failed ? -1 : 0;
done:
    BN_free (n);
    BN_free (e);
    vc_buf_reset (&inner);
    return rc;
}

int
vc_key_private_op (EVP_PKEY *key, uint8_t alg, const uint8_t *input, size_t input_len,
                   vc_buf_t *out)
{
    size_t want = vc_key_input_len (alg);
    if (!vc_key_matches_alg (key, alg) || want == 0 || !input)
        return -1;
    bool rsa = alg == VC_ALG_RSA2048;
    if (rsa ? input_len != want : (input_len == 0 || input_len > want))
        return -1;
    int rc = -1;
    uint8_t result [512];
    size_t result_len = sizeof result;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey (NULL, key, NULL);
    if (!ctx)
        return -1;
    if (rsa) {
        //  The host sends the whole block (PKCS#1 v1.5 or PSS padding
        //  already applied, or a ciphertext): a bare private-key operation.
        if (EVP_PKEY_decrypt_init (ctx) <= 0
        ||  EVP_PKEY_CTX_set_rsa_padding (ctx, RSA_NO_PADDING) <= 0
        ||  EVP_PKEY_decrypt (ctx, result, &result_len, input, input_len) <= 0)
            goto done;
        //  Left-pad to the modulus length: the host expects 256 bytes.
        if (result_len < want) {
            memmove (result + (want - result_len), result, result_len);
            memset (result, 0, want - result_len);
            result_len = want;
        }
    }
    else {
        if (EVP_PKEY_sign_init (ctx) <= 0
        ||  EVP_PKEY_sign (ctx, result, &result_len, input, input_len) <= 0)
            goto done;
    }
    vc_buf_put (out, result, result_len);
    rc = out->failed ? -1 : 0;
done:
    OPENSSL_cleanse (result, sizeof result);
    EVP_PKEY_CTX_free (ctx);
    return rc;
}

int
vc_key_ecdh (EVP_PKEY *key, uint8_t alg, const uint8_t *point, size_t point_len,
             vc_buf_t *out)
{
    if (alg != VC_ALG_ECCP256 && alg != VC_ALG_ECCP384)
        return -1;
    if (!vc_key_matches_alg (key, alg) || !point || point_len != 1 + 2 * vc_key_input_len (alg))
        return -1;
    int rc = -1;
    uint8_t secret [64];
    size_t secret_len = sizeof secret;
    EVP_PKEY *peer = EVP_PKEY_new ();
    EVP_PKEY_CTX *ctx = NULL;
    if (!peer || !EVP_PKEY_copy_parameters (peer, key)
    ||  !EVP_PKEY_set1_encoded_public_key (peer, point, point_len))
        goto done;
    ctx = EVP_PKEY_CTX_new_from_pkey (NULL, key, NULL);
    if (!ctx || EVP_PKEY_derive_init (ctx) <= 0 || EVP_PKEY_derive_set_peer (ctx, peer) <= 0
    ||  EVP_PKEY_derive (ctx, secret, &secret_len) <= 0)
        goto done;
    vc_buf_put (out, secret, secret_len);
    rc = out->failed ? -1 : 0;
done:
    OPENSSL_cleanse (secret, sizeof secret);
    EVP_PKEY_CTX_free (ctx);
    EVP_PKEY_free (peer);
    return rc;
}

size_t
vc_mgmt_key_len (uint8_t alg)
{
    switch (alg) {
        case VC_ALG_3DES:   return 24;
        case VC_ALG_AES128: return 16;
        case VC_ALG_AES192: return 24;
        case VC_ALG_AES256: return 32;
        default:            return 0;
    }
}

size_t
vc_mgmt_block_len (uint8_t alg)
{
    if (alg == VC_ALG_3DES)
        return 8;
    return vc_mgmt_key_len (alg) ? 16 : 0;
}

static const char *
s_cipher_name (uint8_t alg)
{
    switch (alg) {
        case VC_ALG_3DES:   return "DES-EDE3-ECB";
        case VC_ALG_AES128: return "AES-128-ECB";
        case VC_ALG_AES192: return "AES-192-ECB";
        case VC_ALG_AES256: return "AES-256-ECB";
        default:            return NULL;
    }
}

int
vc_mgmt_crypt (uint8_t alg, const uint8_t *key, bool encrypt, const uint8_t *in, uint8_t *out)
{
    const char *name = s_cipher_name (alg);
    if (!name || !key || !in || !out)
        return -1;
    int rc = -1;
    int out_len = 0, final_len = 0;
    int block = (int) vc_mgmt_block_len (alg);
    EVP_CIPHER *cipher = EVP_CIPHER_fetch (NULL, name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
    if (!cipher || !ctx
    ||  !EVP_CipherInit_ex2 (ctx, cipher, key, NULL, encrypt ? 1 : 0, NULL)
    ||  !EVP_CIPHER_CTX_set_padding (ctx, 0)
    ||  !EVP_CipherUpdate (ctx, out, &out_len, in, block)
    ||  !EVP_CipherFinal_ex (ctx, out + out_len, &final_len)
    ||  out_len + final_len != block)
        goto done;
    rc = 0;
done:
    EVP_CIPHER_CTX_free (ctx);
    EVP_CIPHER_free (cipher);
    return rc;
}

int
vc_key_to_der (EVP_PKEY *key, vc_buf_t *out)
{
    uint8_t *der = NULL;
    int der_len = i2d_PrivateKey (key, &der);
    if (der_len <= 0)
        return -1;
    vc_buf_put (out, der, (size_t) der_len);
    OPENSSL_clear_free (der, (size_t) der_len);
    return out->failed ? -1 : 0;
}

EVP_PKEY *
vc_key_from_der (const uint8_t *der, size_t der_len)
{
    if (!der || der_len == 0 || der_len > 0x7FFFFFFF)
        return NULL;
    const unsigned char *at = der;
    EVP_PKEY *key = d2i_AutoPrivateKey (NULL, &at, (long) der_len);
    if (key && at != der + der_len) {
        EVP_PKEY_free (key);
        return NULL;
    }
    return key;
}
