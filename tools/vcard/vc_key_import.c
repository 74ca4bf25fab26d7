/*  vc_key_import: a private key from the data of Yubico's IMPORT
    ASYMMETRIC KEY (INS FE).

    RSA comes as its CRT parts, 01 p, 02 q, 03 dP, 04 dQ, 05 qInv, each at
    most half the modulus (yubico-piv-tool pads them to exactly that);
    the public exponent is not sent, and a YubiKey takes 65537, so the
    card rebuilds n = pq and d from them and checks dP, dQ and qInv
    against p and q. ECC comes as its private scalar, 06, at most the
    field length; the public point is the scalar times the generator. The
    YubiKey policy tags AA (PIN) and AB (touch) are accepted and ignored.
    Every rebuilt key passes OpenSSL's pairwise check before it is kept.
*/
#include "vc_keys.h"
#include "vc_tlv.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <string.h>

#define S_RSA_PARTS 5

//  The value of tag in data when it is 1..max bytes; NULL otherwise.
static BIGNUM *
s_number (const uint8_t *data, size_t data_len, uint8_t tag, size_t max)
{
    vc_tlv_t tlv;
    if (vc_tlv_find (data, data_len, tag, &tlv) || tlv.len == 0 || tlv.len > max)
        return NULL;
    BIGNUM *number = BN_secure_new ();
    if (number && !BN_bin2bn (tlv.value, (int) tlv.len, number)) {
        BN_clear_free (number);
        number = NULL;
    }
    return number;
}

//  Only the tags the key needs, plus AA and AB; each once.
static bool
s_tags_valid (const uint8_t *data, size_t data_len, const uint8_t *tags, size_t count)
{
    if (vc_tlv_check (data, data_len))
        return false;
    unsigned seen [256] = { 0 };
    size_t offset = 0;
    while (offset < data_len) {
        vc_tlv_t tlv;
        if (vc_tlv_next (data, data_len, &offset, &tlv))
            return false;
        bool known = tlv.tag == 0xAA || tlv.tag == 0xAB;
        for (size_t i = 0; i < count; i++)
            known = known || tlv.tag == tags [i];
        if (!known || tlv.tag > 0xFF || seen [tlv.tag]++)
            return false;
    }
    for (size_t i = 0; i < count; i++)
        if (!seen [tags [i]])
            return false;
    return true;
}

static EVP_PKEY *
s_from_params (const char *type, OSSL_PARAM_BLD *builder)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param (builder);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name (NULL, type, NULL);
    EVP_PKEY *key = NULL;
    if (!params || !ctx || EVP_PKEY_fromdata_init (ctx) <= 0
    ||  EVP_PKEY_fromdata (ctx, &key, EVP_PKEY_KEYPAIR, params) <= 0)
        key = NULL;
    EVP_PKEY_CTX_free (ctx);
    OSSL_PARAM_free (params);
    if (!key)
        return NULL;
    ctx = EVP_PKEY_CTX_new_from_pkey (NULL, key, NULL);
    bool ok = ctx && EVP_PKEY_pairwise_check (ctx) == 1;
    EVP_PKEY_CTX_free (ctx);
    if (!ok) {
        EVP_PKEY_free (key);
        return NULL;
    }
    return key;
}

static EVP_PKEY *
s_import_rsa (const uint8_t *data, size_t data_len)
{
    static const uint8_t tags [S_RSA_PARTS] = { 0x01, 0x02, 0x03, 0x04, 0x05 };
    if (!s_tags_valid (data, data_len, tags, S_RSA_PARTS))
        return NULL;
    BIGNUM *part [S_RSA_PARTS] = { NULL };
    BIGNUM *n = BN_new (), *e = BN_new (), *d = BN_secure_new (), *p1 = BN_secure_new ();
    BIGNUM *q1 = BN_secure_new (), *lambda = BN_secure_new (), *gcd = BN_secure_new ();
    BIGNUM *check = BN_secure_new ();
    BN_CTX *bn = BN_CTX_secure_new ();
    OSSL_PARAM_BLD *builder = OSSL_PARAM_BLD_new ();
    EVP_PKEY *key = NULL;
    bool ok = n && e && d && p1 && q1 && lambda && gcd && check && bn && builder;
    for (int i = 0; ok && i < S_RSA_PARTS; i++)
        ok = (part [i] = s_number (data, data_len, tags [i], 128)) != NULL;
    //  p, q: n = pq of exactly 2048 bits; d = e^-1 mod lcm(p-1, q-1).
    ok = ok && BN_set_word (e, RSA_F4) && BN_mul (n, part [0], part [1], bn)
      && BN_num_bits (n) == 2048
      && BN_sub (p1, part [0], BN_value_one ()) && BN_sub (q1, part [1], BN_value_one ())
      && BN_gcd (gcd, p1, q1, bn) && BN_mul (lambda, p1, q1, bn)
      && BN_div (lambda, NULL, lambda, gcd, bn)
      && BN_mod_inverse (d, e, lambda, bn) != NULL;
    //  The card's own CRT parts must be those of (e, p, q).
    ok = ok && BN_mod (check, d, p1, bn) && BN_cmp (check, part [2]) == 0
      && BN_mod (check, d, q1, bn) && BN_cmp (check, part [3]) == 0
      && BN_mod_inverse (check, part [1], part [0], bn) && BN_cmp (check, part [4]) == 0;
    ok = ok && OSSL_PARAM_BLD_push_BN (builder, OSSL_PKEY_PARAM_RSA_N, n)
      && OSSL_PARAM_BLD_push_BN (builder, OSSL_PKEY_PARAM_RSA_E, e)
      && OSSL_PARAM_BLD_push_BN (builder, OSSL_PKEY_PARAM_RSA_D, d)
      && OSSL_PARAM_BLD_push_BN (builder, OSSL_PKEY_PARAM_RSA_FACTOR1, part [0])
      && OSSL_PARAM_BLD_push_BN (builder, OSSL_PKEY_PARAM_RSA_FACTOR2, part [1])
      && OSSL_PARAM_BLD_push_BN (builder, OSSL_PKEY_PARAM_RSA_EXPONENT1, part [2])
      && OSSL_PARAM_BLD_push_BN (builder, OSSL_PKEY_PARAM_RSA_EXPONENT2, part [3])
      && OSSL_PARAM_BLD_push_BN (builder, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, part [4]);
    if (ok)
        key = s_from_params ("RSA", builder);
    for (int i = 0; i < S_RSA_PARTS; i++)
        BN_clear_free (part [i]);
    BN_free (n);
    BN_free (e);
    BN_clear_free (d);
    BN_clear_free (p1);
    BN_clear_free (q1);
    BN_clear_free (lambda);
    BN_clear_free (gcd);
    BN_clear_free (check);
    BN_CTX_free (bn);
    OSSL_PARAM_BLD_free (builder);
    return key;
}

static EVP_PKEY *
s_import_ec (uint8_t alg, const uint8_t *data, size_t data_len)
{
    static const uint8_t tags [1] = { 0x06 };
    if (!s_tags_valid (data, data_len, tags, 1))
        return NULL;
    bool p256 = alg == VC_ALG_ECCP256;
    size_t field_len = p256 ? 32 : 48;
    const char *curve = p256 ? "prime256v1" : "secp384r1";
    EC_GROUP *group = EC_GROUP_new_by_curve_name (p256 ? NID_X9_62_prime256v1 : NID_secp384r1);
    BIGNUM *scalar = s_number (data, data_len, 0x06, field_len);
    EC_POINT *point = group ? EC_POINT_new (group) : NULL;
    BN_CTX *bn = BN_CTX_new ();
    OSSL_PARAM_BLD *builder = OSSL_PARAM_BLD_new ();
    uint8_t public [1 + 2 * 48];
    size_t public_len = 0;
    EVP_PKEY *key = NULL;
    //  0 < scalar < order.
    bool ok = group && scalar && point && bn && builder && !BN_is_zero (scalar)
           && BN_cmp (scalar, EC_GROUP_get0_order (group)) < 0
           && EC_POINT_mul (group, point, scalar, NULL, NULL, bn)
           && (public_len = EC_POINT_point2oct (group, point, POINT_CONVERSION_UNCOMPRESSED,
                                                public, sizeof public, bn)) == 1 + 2 * field_len;
    ok = ok && OSSL_PARAM_BLD_push_utf8_string (builder, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0)
      && OSSL_PARAM_BLD_push_BN (builder, OSSL_PKEY_PARAM_PRIV_KEY, scalar)
      && OSSL_PARAM_BLD_push_octet_string (builder, OSSL_PKEY_PARAM_PUB_KEY, public, public_len);
    if (ok)
        key = s_from_params ("EC", builder);
    BN_clear_free (scalar);
    EC_POINT_free (point);
    EC_GROUP_free (group);
    BN_CTX_free (bn);
    OSSL_PARAM_BLD_free (builder);
    return key;
}

EVP_PKEY *
vc_key_import (uint8_t alg, const uint8_t *data, size_t data_len)
{
    if (alg == VC_ALG_RSA2048)
        return s_import_rsa (data, data_len);
    if (alg == VC_ALG_ECCP256 || alg == VC_ALG_ECCP384)
        return s_import_ec (alg, data, data_len);
    return NULL;
}
