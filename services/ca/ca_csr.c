/*  ca_csr: PKCS#10 checks (see ca_csr.h).

    The request is read with templates of its own that are X509_REQ's field
    for field, except that the SubjectPublicKeyInfo stays two fields (the
    algorithm and the key's BIT STRING): d2i_X509_REQ would decode the key
    through a decoder context that OpenSSL 3.0 builds afresh on every call,
    the half of a CSR check's CPU. Here a P-256 or P-384 key is a copy of
    its curve's parameters (made once) given the point received, which
    EC_POINT_oct2point checks is on the curve; any other key is decoded
    with decoder contexts built once and kept (s_decoders). The signature
    is checked by the same ASN1_item_verify_ex call as X509_REQ_verify's,
    over the CertificationRequestInfo's bytes as received.
*/
#include "ca_csr.h"
#include "ca_profile.h"

#include <openssl/asn1t.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct {
    X509_ALGOR *algorithm;
    ASN1_BIT_STRING *key;
} s_spki_t;

typedef struct {
    ASN1_ENCODING encoding;                 //  the bytes as received, for the signature
    ASN1_INTEGER *version;
    X509_NAME *subject;
    s_spki_t *spki;
    STACK_OF (X509_ATTRIBUTE) *attributes;
} s_info_t;

typedef struct {
    s_info_t *info;
    X509_ALGOR *signature_algorithm;
    ASN1_BIT_STRING *signature;
} s_request_t;

ASN1_SEQUENCE (s_spki_t) = {
    ASN1_SIMPLE (s_spki_t, algorithm, X509_ALGOR),
    ASN1_SIMPLE (s_spki_t, key, ASN1_BIT_STRING)
} static_ASN1_SEQUENCE_END (s_spki_t)

ASN1_SEQUENCE_enc (s_info_t, encoding, NULL) = {
    ASN1_SIMPLE (s_info_t, version, ASN1_INTEGER),
    ASN1_SIMPLE (s_info_t, subject, X509_NAME),
    ASN1_SIMPLE (s_info_t, spki, s_spki_t),
    //  As X509_REQ_INFO: optional, for requests that omit the empty set.
    ASN1_IMP_SET_OF_OPT (s_info_t, attributes, X509_ATTRIBUTE, 0)
} static_ASN1_SEQUENCE_END_ref (s_info_t, s_info_t)

ASN1_SEQUENCE (s_request_t) = {
    ASN1_SIMPLE (s_request_t, info, s_info_t),
    ASN1_SIMPLE (s_request_t, signature_algorithm, X509_ALGOR),
    ASN1_SIMPLE (s_request_t, signature, ASN1_BIT_STRING)
} static_ASN1_SEQUENCE_END (s_request_t)

//  Decoder contexts for a DER SubjectPublicKeyInfo, each lent to one
//  thread at a time; one that finds all of them lent decodes with
//  d2i_PUBKEY (a context of its own).
#define S_DECODERS 8

typedef struct {
    OSSL_DECODER_CTX *context;
    EVP_PKEY *key;                          //  where the context puts what it decodes
    bool lent;
} s_decoder_t;

static s_decoder_t s_decoders [S_DECODERS];
static pthread_mutex_t s_decoders_lock = PTHREAD_MUTEX_INITIALIZER;

static s_decoder_t *
s_decoder_borrow (void)
{
    s_decoder_t *decoder = NULL;
    pthread_mutex_lock (&s_decoders_lock);
    for (int i = 0; i < S_DECODERS && !decoder; i++) {
        if (s_decoders [i].lent)
            continue;
        if (!s_decoders [i].context)
            s_decoders [i].context = OSSL_DECODER_CTX_new_for_pkey (
                &s_decoders [i].key, "DER", "SubjectPublicKeyInfo", NULL, EVP_PKEY_PUBLIC_KEY,
                NULL, NULL);
        if (s_decoders [i].context) {
            decoder = &s_decoders [i];
            decoder->lent = true;
        }
    }
    pthread_mutex_unlock (&s_decoders_lock);
    return decoder;
}

static void
s_decoder_return (s_decoder_t *decoder)
{
    pthread_mutex_lock (&s_decoders_lock);
    decoder->lent = false;
    pthread_mutex_unlock (&s_decoders_lock);
}

//  The parameters of the two curves accepted, P-256 and P-384, made once:
//  building a curve's group is most of what decoding its key costs.
static EVP_PKEY *s_curves [2];
static pthread_once_t s_curves_once = PTHREAD_ONCE_INIT;

static void
s_curves_make (void)
{
    static const char *names [] = { "P-256", "P-384" };
    for (int i = 0; i < 2; i++) {
        EVP_PKEY_CTX *context = EVP_PKEY_CTX_new_from_name (NULL, "EC", NULL);
        if (!context || EVP_PKEY_paramgen_init (context) <= 0
        ||  EVP_PKEY_CTX_set_group_name (context, names [i]) <= 0
        ||  EVP_PKEY_paramgen (context, &s_curves [i]) <= 0)
            s_curves [i] = NULL;            //  then decoded as any other key
        EVP_PKEY_CTX_free (context);
    }
}

//  An EC key on a named curve we keep the parameters of, from its point;
//  NULL for any other key (or a point not on the curve).
static EVP_PKEY *
s_curve_key (const s_spki_t *fields)
{
    const ASN1_OBJECT *algorithm = NULL, *curve = NULL;
    const void *parameter = NULL;
    int parameter_type = -1;
    X509_ALGOR_get0 (&algorithm, &parameter_type, &parameter, fields->algorithm);
    if (OBJ_obj2nid (algorithm) != NID_X9_62_id_ecPublicKey || parameter_type != V_ASN1_OBJECT)
        return NULL;
    curve = parameter;
    int nid = OBJ_obj2nid (curve);
    int which = nid == NID_X9_62_prime256v1 ? 0 : nid == NID_secp384r1 ? 1 : -1;
    pthread_once (&s_curves_once, s_curves_make);
    if (which < 0 || !s_curves [which])
        return NULL;
    EVP_PKEY *key = EVP_PKEY_dup (s_curves [which]);
    if (key && EVP_PKEY_set1_encoded_public_key (key, ASN1_STRING_get0_data (fields->key),
                                                 (size_t) ASN1_STRING_length (fields->key)) != 1) {
        EVP_PKEY_free (key);
        key = NULL;
    }
    return key;
}

//  The key of a DER SubjectPublicKeyInfo, or NULL. Caller frees.
static EVP_PKEY *
s_decode_key (const unsigned char *der, size_t size)
{
    EVP_PKEY *key = NULL;
    ERR_set_mark ();
    s_decoder_t *decoder = s_decoder_borrow ();
    if (decoder) {
        decoder->key = NULL;
        if (OSSL_DECODER_from_data (decoder->context, &der, &size) && size == 0)
            key = decoder->key;
        else
            EVP_PKEY_free (decoder->key);
        decoder->key = NULL;
        s_decoder_return (decoder);
    }
    else {
        const unsigned char *cursor = der;
        key = d2i_PUBKEY (NULL, &cursor, (long) size);
        if (key && cursor != der + size) {
            EVP_PKEY_free (key);
            key = NULL;
        }
    }
    ERR_pop_to_mark ();
    return key;
}

int
ca_csr_spki_copy (X509_PUBKEY *to, const X509_ALGOR *algorithm, const unsigned char *bits,
                  int bits_size)
{
    const ASN1_OBJECT *oid = NULL;
    const void *parameter = NULL;
    int parameter_type = -1;
    if (algorithm && bits_size > 0)
        X509_ALGOR_get0 (&oid, &parameter_type, &parameter, algorithm);
    ASN1_OBJECT *oid_copy = NULL;
    void *parameter_copy = NULL;
    unsigned char *bits_copy = NULL;
    bool copied = false;
    switch (parameter_type) {
        case V_ASN1_UNDEF:
        case V_ASN1_NULL:
            copied = true;
            break;
        case V_ASN1_OBJECT:
            copied = (parameter_copy = OBJ_dup (parameter)) != NULL;
            break;
        case V_ASN1_SEQUENCE:
            copied = (parameter_copy = ASN1_STRING_dup (parameter)) != NULL;
            break;
    }
    if (!copied
    ||  !(oid_copy = OBJ_dup (oid))
    ||  !(bits_copy = OPENSSL_memdup (bits, (size_t) bits_size))
    ||  !X509_PUBKEY_set0_param (to, oid_copy, parameter_type, parameter_copy, bits_copy,
                                 bits_size)) {
        ASN1_OBJECT_free (oid_copy);
        if (parameter_type == V_ASN1_OBJECT)
            ASN1_OBJECT_free (parameter_copy);
        else
            ASN1_STRING_free (parameter_copy);
        OPENSSL_free (bits_copy);
        return -1;
    }
    return 0;
}

ca_csr_result_t
ca_csr_check (const uint8_t *der, size_t size, X509_PUBKEY **public_key,
              char spki_sha256_hex [65], char *err, size_t err_size)
{
    *public_key = NULL;
    if (size > CA_CSR_MAX) {
        snprintf (err, err_size, "CSR of %zu bytes; at most %d are accepted", size, CA_CSR_MAX);
        return CA_CSR_TOO_LARGE;
    }
    if (size == 0) {
        snprintf (err, err_size, "CSR is empty");
        return CA_CSR_UNREADABLE;
    }
    const unsigned char *cursor = der;
    s_request_t *request = (s_request_t *) ASN1_item_d2i (NULL, &cursor, (long) size,
                                                          ASN1_ITEM_rptr (s_request_t));
    if (!request || cursor != der + size) {
        ASN1_item_free ((ASN1_VALUE *) request, ASN1_ITEM_rptr (s_request_t));
        snprintf (err, err_size, "CSR is not a DER PKCS#10 request");
        return CA_CSR_UNREADABLE;
    }
    ca_csr_result_t result = CA_CSR_UNREADABLE;
    unsigned char *spki = NULL;
    EVP_PKEY *key = NULL;
    X509_PUBKEY *sent = NULL;
    const s_spki_t *fields = request->info->spki;
    //  The bytes as sent: a BIT STRING with unused bits would be certified
    //  as another one.
    int spki_size = ASN1_item_i2d ((ASN1_VALUE *) fields, &spki, ASN1_ITEM_rptr (s_spki_t));
    if (spki_size > 0 && (fields->key->flags & 7) == 0) {
        ERR_set_mark ();
        key = s_curve_key (fields);
        ERR_pop_to_mark ();
        if (!key)
            key = s_decode_key (spki, (size_t) spki_size);
    }
    if (!key) {
        snprintf (err, err_size, "CSR public key cannot be read");
        goto done;
    }
    ERR_set_mark ();
    int verified = ASN1_item_verify_ex (ASN1_ITEM_rptr (s_info_t), request->signature_algorithm,
                                        request->signature, request->info, NULL, key, NULL, NULL);
    ERR_pop_to_mark ();
    if (verified != 1) {
        snprintf (err, err_size, "CSR signature does not verify with its public key");
        result = CA_CSR_BAD_SIGNATURE;
        goto done;
    }
    //  The key as decoded, then the fields the certificate will carry as
    //  sent (RFC 4055: an RSA key's parameters are NULL).
    bool ec = false;
    if (!(sent = X509_PUBKEY_new ())
    ||  ca_csr_spki_copy (sent, fields->algorithm, ASN1_STRING_get0_data (fields->key),
                          ASN1_STRING_length (fields->key))) {
        snprintf (err, err_size, "CSR public key cannot be read");
        goto done;
    }
    if (ca_profile_check_key (key, err, err_size)
    ||  ca_profile_check_spki (sent, &ec, err, err_size)) {
        result = CA_CSR_KEY_REFUSED;
        goto done;
    }
    unsigned char digest [32];
    if (!EVP_Digest (spki, (size_t) spki_size, digest, NULL, EVP_sha256 (), NULL)) {
        snprintf (err, err_size, "CSR public key cannot be encoded");
        goto done;
    }
    for (int i = 0; i < 32; i++)
        snprintf (spki_sha256_hex + 2 * i, 3, "%02x", digest [i]);
    *public_key = sent;
    sent = NULL;
    result = CA_CSR_OK;
done:
    X509_PUBKEY_free (sent);
    EVP_PKEY_free (key);
    OPENSSL_free (spki);
    ASN1_item_free ((ASN1_VALUE *) request, ASN1_ITEM_rptr (s_request_t));
    return result;
}
