/*  ca_profile: the profile table, the extensions it writes, and the check
    of a to-be-signed certificate against it (see ca_profile.h).
*/
#include "ca_profile.h"

#include <ctype.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#define S_SERIAL_BYTES 16

//  One row per use; the level only changes the policy OID. Only the
//  encryption profile is escrowed: a signature or authentication key
//  stays on the card alone (RGS).
static const ca_profile_t s_profiles [] = {
    { "authentication", CA_USE_AUTHENTICATION, true, "digitalSignature",
      KU_DIGITAL_SIGNATURE, NULL, 0, NID_client_auth, false, CA_HOLDER_MAX_DAYS,
      CA_HOLDER_MAX_DAYS, false },
    { "signature", CA_USE_SIGNATURE, true, "nonRepudiation",
      KU_NON_REPUDIATION, NULL, 0, NID_undef, false, CA_HOLDER_MAX_DAYS, CA_HOLDER_MAX_DAYS,
      false },
    { "ocsp-responder", CA_USE_OCSP_RESPONDER, false, "digitalSignature",
      KU_DIGITAL_SIGNATURE, NULL, 0, NID_OCSP_sign, true, 366, 90, false },
    { "mail-signer", CA_USE_MAIL_SIGNER, false, "digitalSignature,nonRepudiation",
      KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION, NULL, 0, NID_email_protect, false, 825, 365,
      false },
    { "encryption", CA_USE_ENCRYPTION, true, "keyEncipherment", KU_KEY_ENCIPHERMENT,
      "keyAgreement", KU_KEY_AGREEMENT, NID_email_protect, false, CA_HOLDER_MAX_DAYS,
      CA_HOLDER_MAX_DAYS, true },
};

const ca_profile_t *
ca_profile_find (int use, int level)
{
    if (level < 1 || level > 3)
        return NULL;
    for (size_t i = 0; i < sizeof s_profiles / sizeof s_profiles [0]; i++)
        if (s_profiles [i].use == use)
            return &s_profiles [i];
    return NULL;
}

void
ca_profile_key_usage (const ca_profile_t *profile, bool ec_key, const char **text, unsigned *bits)
{
    bool ec = profile->key_usage_ec && ec_key;
    *text = ec ? profile->key_usage_ec : profile->key_usage;
    *bits = ec ? profile->key_usage_bits_ec : profile->key_usage_bits;
}

int
ca_profile_check_escrow (const ca_profile_t *profile, bool key_escrowed,
                         char *err, size_t err_size)
{
    if (key_escrowed && !profile->escrowed) {
        snprintf (err, err_size, "profile check: a %s key is never escrowed; only encryption keys are",
                  profile->name);
        return -1;
    }
    if (!key_escrowed && profile->escrowed) {
        snprintf (err, err_size, "profile check: an %s key must be escrowed before it is certified",
                  profile->name);
        return -1;
    }
    return 0;
}

static bool
s_oid_valid (const char *oid)
{
    size_t len = strlen (oid);
    if (len < 3 || len >= CA_OID_MAX || !isdigit ((unsigned char) oid [0])
    ||  !isdigit ((unsigned char) oid [len - 1]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isdigit ((unsigned char) oid [i])
        &&  !(oid [i] == '.' && oid [i + 1] != '.'))
            return false;
    //  Canonical form only ("2.999.1.01" would be written as 2.999.1.1 and
    //  then fail the check of every certificate at its level).
    ASN1_OBJECT *object = OBJ_txt2obj (oid, 1);
    char canonical [CA_OID_MAX];
    bool same = object && OBJ_obj2txt (canonical, sizeof canonical, object, 1) > 0
             && strcmp (canonical, oid) == 0;
    ASN1_OBJECT_free (object);
    return same;
}

//  URLs go into OpenSSL's extension configuration syntax, so only the
//  characters of a plain http(s) URL are taken: no comma, space or quote.
static bool
s_url_valid (const char *url)
{
    size_t len = strlen (url);
    if (len >= CA_URL_MAX
    ||  (strncmp (url, "http://", 7) != 0 && strncmp (url, "https://", 8) != 0))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum ((unsigned char) url [i]) && !strchr ("-._~:/?#[]@!$&()*+;=%", url [i]))
            return false;
    return true;
}

static int
s_take (tsr_config_t *source, const char *key, const char *fallback, char *out, size_t size,
        bool (*valid) (const char *), char *err, size_t err_size)
{
    const char *value = tsr_config_get (source, key, fallback);
    if (!valid (value) || strlen (value) >= size) {
        snprintf (err, err_size, "%s is not valid", key);
        return -1;
    }
    snprintf (out, size, "%s", value);
    return 0;
}

int
ca_profile_config_load (ca_profile_config_t *config, tsr_config_t *source,
                        char *err, size_t err_size)
{
    memset (config, 0, sizeof *config);
    static const char *oid_keys [] = { NULL, "TSR_CA_POLICY_OID_1", "TSR_CA_POLICY_OID_2",
                                       "TSR_CA_POLICY_OID_3" };
    static const char *oid_defaults [] = { NULL, "2.999.1.1", "2.999.1.2", "2.999.1.3" };
    for (int level = 1; level <= 3; level++)
        if (s_take (source, oid_keys [level], oid_defaults [level], config->policy_oid [level],
                    CA_OID_MAX, s_oid_valid, err, err_size))
            return -1;
    if (s_take (source, "TSR_CA_CRL_URL", "http://127.0.0.1:8207/crl/issuing.crl",
                config->crl_url, CA_URL_MAX, s_url_valid, err, err_size)
    ||  s_take (source, "TSR_CA_OCSP_URL", "http://127.0.0.1:8207/ocsp",
                config->ocsp_url, CA_URL_MAX, s_url_valid, err, err_size)
    ||  s_take (source, "TSR_CA_ISSUERS_URL", "http://127.0.0.1:8207/ca/issuing.crt",
                config->ca_issuers_url, CA_URL_MAX, s_url_valid, err, err_size))
        return -1;
    return 0;
}

static int
s_add (X509 *cert, X509V3_CTX *ctx, int nid, const char *value, char *err, size_t err_size)
{
    X509_EXTENSION *extension = X509V3_EXT_nconf_nid (NULL, ctx, nid, value);
    if (!extension || !X509_add_ext (cert, extension, -1)) {
        X509_EXTENSION_free (extension);
        snprintf (err, err_size, "cannot add extension %s", OBJ_nid2sn (nid));
        return -1;
    }
    X509_EXTENSION_free (extension);
    return 0;
}

//  certificatePolicies with the level's OID alone, no qualifier.
static int
s_add_policy (X509 *cert, const char *oid, char *err, size_t err_size)
{
    CERTIFICATEPOLICIES *policies = CERTIFICATEPOLICIES_new ();
    POLICYINFO *info = POLICYINFO_new ();
    int ok = 0;
    if (policies && info) {
        ASN1_OBJECT_free (info->policyid);
        info->policyid = OBJ_txt2obj (oid, 1);
        if (info->policyid && sk_POLICYINFO_push (policies, info) > 0) {
            info = NULL;
            ok = X509_add1_ext_i2d (cert, NID_certificate_policies, policies, 0, 0) == 1;
        }
    }
    POLICYINFO_free (info);
    CERTIFICATEPOLICIES_free (policies);
    if (!ok)
        snprintf (err, err_size, "cannot add extension certificatePolicies");
    return ok ? 0 : -1;
}

int
ca_profile_apply_ca (X509 *cert, X509 *issuer, bool issuing, char *err, size_t err_size)
{
    X509V3_CTX ctx;
    X509V3_set_ctx (&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
    if (s_add (cert, &ctx, NID_basic_constraints,
               issuing ? "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE", err, err_size)
    ||  s_add (cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign", err, err_size)
    ||  s_add (cert, &ctx, NID_subject_key_identifier, "hash", err, err_size))
        return -1;
    if (issuer && s_add (cert, &ctx, NID_authority_key_identifier, "keyid:always",
                         err, err_size))
        return -1;
    //  The issuing CA asserts anyPolicy, so a relying party that requires
    //  an explicit policy accepts the level OID of the certificates below.
    if (issuing && s_add_policy (cert, "2.5.29.32.0", err, err_size))
        return -1;
    return 0;
}

//  Whether the certificate's key is EC, by its SubjectPublicKeyInfo's
//  algorithm (the key itself need not be decoded).
static bool
s_key_is_ec (X509 *cert)
{
    ASN1_OBJECT *algorithm = NULL;
    return X509_PUBKEY_get0_param (&algorithm, NULL, NULL, NULL, X509_get_X509_PUBKEY (cert))
           && OBJ_obj2nid (algorithm) == NID_X9_62_id_ecPublicKey;
}

//  An EC SubjectPublicKeyInfo by ca_profile_check_key's rules, from its
//  fields: a named curve, P-256 or P-384, and a point of that curve's size.
static int
s_check_ec_spki (X509_ALGOR *algor, const unsigned char *point, int point_size,
                 char *err, size_t err_size)
{
    int type = V_ASN1_UNDEF;
    const void *curve = NULL;
    X509_ALGOR_get0 (NULL, &type, &curve, algor);
    if (type != V_ASN1_OBJECT) {
        snprintf (err, err_size, "EC key with explicit curve parameters; a named curve is "
                  "required");
        return -1;
    }
    int nid = OBJ_obj2nid (curve);
    int coordinate = nid == NID_X9_62_prime256v1 ? 32 : nid == NID_secp384r1 ? 48 : 0;
    if (!coordinate) {
        snprintf (err, err_size, "EC curve %s is not accepted; use P-256 or P-384",
                  nid != NID_undef ? OBJ_nid2sn (nid) : "unknown");
        return -1;
    }
    bool uncompressed = point_size == 1 + 2 * coordinate && point [0] == 4;
    bool compressed = point_size == 1 + coordinate && (point [0] == 2 || point [0] == 3);
    if (!uncompressed && !compressed) {
        snprintf (err, err_size, "EC public key of %d bytes is not a point of its curve",
                  point_size);
        return -1;
    }
    return 0;
}

//  An rsaEncryption SubjectPublicKeyInfo by ca_profile_check_key's rules,
//  from its fields: NULL parameters, and an RSAPublicKey (SEQUENCE of the
//  two INTEGERs n and e) whose modulus has 2048 to 8192 bits.
static int
s_check_rsa_spki (X509_ALGOR *algor, const unsigned char *der, int der_size,
                  char *err, size_t err_size)
{
    int type = V_ASN1_UNDEF;
    X509_ALGOR_get0 (NULL, &type, NULL, algor);
    if (type != V_ASN1_NULL) {
        snprintf (err, err_size, "RSA key: the algorithm's parameters must be NULL");
        return -1;
    }
    const unsigned char *cursor = der;
    ASN1_SEQUENCE_ANY *fields = d2i_ASN1_SEQUENCE_ANY (NULL, &cursor, der_size);
    ASN1_TYPE *n = fields && sk_ASN1_TYPE_num (fields) == 2 ? sk_ASN1_TYPE_value (fields, 0) : NULL;
    ASN1_TYPE *e = n ? sk_ASN1_TYPE_value (fields, 1) : NULL;
    BIGNUM *modulus = NULL;
    int rc = -1;
    if (!n || !e || cursor != der + der_size || n->type != V_ASN1_INTEGER
    ||  e->type != V_ASN1_INTEGER || !(modulus = ASN1_INTEGER_to_BN (n->value.integer, NULL)))
        snprintf (err, err_size, "RSA public key is not an RSAPublicKey");
    else
    if (BN_num_bits (modulus) < 2048)
        snprintf (err, err_size, "RSA key of %d bits; at least 2048 are required",
                  BN_num_bits (modulus));
    else
    if (BN_num_bits (modulus) > 8192)
        snprintf (err, err_size, "RSA key over 8192 bits");
    else
        rc = 0;
    BN_free (modulus);
    sk_ASN1_TYPE_pop_free (fields, ASN1_TYPE_free);
    return rc;
}

int
ca_profile_check_spki (const X509_PUBKEY *spki, bool *ec, char *err, size_t err_size)
{
    ASN1_OBJECT *algorithm = NULL;
    const unsigned char *bits = NULL;
    int bits_size = 0;
    X509_ALGOR *algor = NULL;
    *ec = false;
    if (!spki || !X509_PUBKEY_get0_param (&algorithm, &bits, &bits_size, &algor, spki) || !algor
    ||  bits_size < 1) {
        snprintf (err, err_size, "the public key cannot be read");
        return -1;
    }
    if (OBJ_obj2nid (algorithm) == NID_X9_62_id_ecPublicKey) {
        *ec = true;
        return s_check_ec_spki (algor, bits, bits_size, err, err_size);
    }
    if (OBJ_obj2nid (algorithm) == NID_rsaEncryption)
        return s_check_rsa_spki (algor, bits, bits_size, err, err_size);
    ERR_set_mark ();
    EVP_PKEY *key = X509_PUBKEY_get0 (spki);
    ERR_pop_to_mark ();
    EVP_PKEY *decoded = NULL;
    if (!key) {
        unsigned char *der = NULL;
        int size = i2d_X509_PUBKEY (spki, &der);
        const unsigned char *cursor = der;
        if (size > 0)
            key = decoded = d2i_PUBKEY (NULL, &cursor, size);
        OPENSSL_free (der);
    }
    int rc = -1;
    if (!key)
        snprintf (err, err_size, "the public key cannot be read");
    else
        rc = ca_profile_check_key (key, err, err_size);
    EVP_PKEY_free (decoded);
    return rc;
}

int
ca_profile_apply (X509 *cert, X509 *issuer, const ca_profile_t *profile, int level,
                  const ca_profile_config_t *config, const char *email,
                  char *err, size_t err_size)
{
    if (level < 1 || level > 3) {
        snprintf (err, err_size, "level must be 1 to 3");
        return -1;
    }
    char value [2 * CA_URL_MAX + 64];
    X509V3_CTX ctx;
    X509V3_set_ctx (&ctx, issuer, cert, NULL, NULL, 0);
    const char *key_usage = NULL;
    unsigned key_usage_bits = 0;
    ca_profile_key_usage (profile, s_key_is_ec (cert), &key_usage, &key_usage_bits);
    if (profile->escrowed && !(email && *email)) {
        snprintf (err, err_size, "the %s profile needs the holder's e-mail address", profile->name);
        return -1;
    }
    snprintf (value, sizeof value, "critical,%s", key_usage);
    if (s_add (cert, &ctx, NID_basic_constraints, "CA:FALSE", err, err_size)
    ||  s_add (cert, &ctx, NID_key_usage, value, err, err_size)
    ||  s_add (cert, &ctx, NID_subject_key_identifier, "hash", err, err_size)
    ||  s_add (cert, &ctx, NID_authority_key_identifier, "keyid:always", err, err_size))
        return -1;
    if (profile->eku_nid != NID_undef
    &&  s_add (cert, &ctx, NID_ext_key_usage, OBJ_nid2sn (profile->eku_nid), err, err_size))
        return -1;
    if (s_add_policy (cert, config->policy_oid [level], err, err_size))
        return -1;
    if (profile->ocsp_nocheck) {
        if (s_add (cert, &ctx, NID_id_pkix_OCSP_noCheck, "ignored", err, err_size))
            return -1;
    }
    else {
        snprintf (value, sizeof value, "URI:%s", config->crl_url);
        if (s_add (cert, &ctx, NID_crl_distribution_points, value, err, err_size))
            return -1;
        snprintf (value, sizeof value, "caIssuers;URI:%s,OCSP;URI:%s",
                  config->ca_issuers_url, config->ocsp_url);
        if (s_add (cert, &ctx, NID_info_access, value, err, err_size))
            return -1;
    }
    if (email && *email) {
        //  The address is checked by the caller (ca_subject); build the
        //  name directly so nothing in it is read as configuration syntax.
        GENERAL_NAMES *names = GENERAL_NAMES_new ();
        GENERAL_NAME *name = GENERAL_NAME_new ();
        ASN1_IA5STRING *text = ASN1_IA5STRING_new ();
        int ok = names && name && text && ASN1_STRING_set (text, email, (int) strlen (email));
        if (ok) {
            GENERAL_NAME_set0_value (name, GEN_EMAIL, text);
            text = NULL;
            ok = sk_GENERAL_NAME_push (names, name) > 0;
            if (ok)
                name = NULL;
        }
        ok = ok && X509_add1_ext_i2d (cert, NID_subject_alt_name, names, 0, 0) == 1;
        ASN1_IA5STRING_free (text);
        GENERAL_NAME_free (name);
        GENERAL_NAMES_free (names);
        if (!ok) {
            snprintf (err, err_size, "cannot add extension subjectAltName");
            return -1;
        }
    }
    return 0;
}

int
ca_profile_check_key (EVP_PKEY *key, char *err, size_t err_size)
{
    if (EVP_PKEY_is_a (key, "RSA")) {
        if (EVP_PKEY_get_bits (key) < 2048) {
            snprintf (err, err_size, "RSA key of %d bits; at least 2048 are required",
                      EVP_PKEY_get_bits (key));
            return -1;
        }
        if (EVP_PKEY_get_bits (key) > 8192) {
            snprintf (err, err_size, "RSA key over 8192 bits");
            return -1;
        }
        return 0;
    }
    if (EVP_PKEY_is_a (key, "EC")) {
        char curve [64] = "";
        size_t curve_len = 0;
        if (!EVP_PKEY_get_utf8_string_param (key, "group", curve, sizeof curve, &curve_len)) {
            snprintf (err, err_size, "EC key without a named curve");
            return -1;
        }
        if (strcmp (curve, "prime256v1") != 0 && strcmp (curve, "secp384r1") != 0) {
            snprintf (err, err_size, "EC curve %s is not accepted; use P-256 or P-384", curve);
            return -1;
        }
        //  RFC 5480: the curve is named, never spelt out (OpenSSL reports
        //  a name for explicit parameters that match a known curve).
        char encoding [32] = "";
        size_t encoding_len = 0;
        if (!EVP_PKEY_get_utf8_string_param (key, "encoding", encoding, sizeof encoding,
                                             &encoding_len)
        ||  strcmp (encoding, "named_curve") != 0) {
            snprintf (err, err_size, "EC key with explicit curve parameters; a named curve is "
                  "required");
            return -1;
        }
        return 0;
    }
    snprintf (err, err_size, "key type %s is not accepted; use RSA or EC",
              EVP_PKEY_get0_type_name (key) ? EVP_PKEY_get0_type_name (key) : "unknown");
    return -1;
}

static int
s_check_ext_critical (X509 *cert, int nid, bool critical, const char *what,
                      char *err, size_t err_size)
{
    int index = X509_get_ext_by_NID (cert, nid, -1);
    if (index < 0) {
        snprintf (err, err_size, "profile check: %s is missing", what);
        return -1;
    }
    if (X509_get_ext_by_NID (cert, nid, index) >= 0) {
        snprintf (err, err_size, "profile check: %s appears twice", what);
        return -1;
    }
    if ((X509_EXTENSION_get_critical (X509_get_ext (cert, index)) != 0) != critical) {
        snprintf (err, err_size, "profile check: %s must %sbe critical", what,
                  critical ? "" : "not ");
        return -1;
    }
    return 0;
}

static int
s_check_policy (X509 *cert, const char *oid, char *err, size_t err_size)
{
    CERTIFICATEPOLICIES *policies = X509_get_ext_d2i (cert, NID_certificate_policies, NULL, NULL);
    int found = 0;
    for (int i = 0; policies && i < sk_POLICYINFO_num (policies); i++) {
        char text [CA_OID_MAX];
        OBJ_obj2txt (text, sizeof text, sk_POLICYINFO_value (policies, i)->policyid, 1);
        if (strcmp (text, oid) == 0)
            found = 1;
    }
    int count = policies ? sk_POLICYINFO_num (policies) : 0;
    CERTIFICATEPOLICIES_free (policies);
    if (!found || count != 1) {
        snprintf (err, err_size, "profile check: the certificate policy must be %s alone", oid);
        return -1;
    }
    return 0;
}

static int
s_check_subject_country (X509 *cert, char *err, size_t err_size)
{
    X509_NAME *subject = X509_get_subject_name (cert);
    int index = X509_NAME_get_index_by_NID (subject, NID_countryName, -1);
    ASN1_STRING *value = index >= 0
        ? X509_NAME_ENTRY_get_data (X509_NAME_get_entry (subject, index)) : NULL;
    if (!value || ASN1_STRING_type (value) != V_ASN1_PRINTABLESTRING
    ||  ASN1_STRING_length (value) != 2 || memcmp (ASN1_STRING_get0_data (value), "FR", 2) != 0) {
        snprintf (err, err_size, "profile check: subject C must be FR as a PrintableString");
        return -1;
    }
    return 0;
}

static int
s_check_validity (X509 *cert, X509 *issuer, int max_days, char *err, size_t err_size)
{
    int days = 0, seconds = 0;
    if (!ASN1_TIME_diff (&days, &seconds, X509_get0_notBefore (cert), X509_get0_notAfter (cert))
    ||  days < 0 || seconds < 0 || (days == 0 && seconds == 0)) {
        snprintf (err, err_size, "profile check: lifetime is empty or negative (notAfter before notBefore)");
        return -1;
    }
    if (days > max_days || (days == max_days && seconds > 0)) {
        snprintf (err, err_size, "profile check: lifetime over %d days", max_days);
        return -1;
    }
    if (ASN1_TIME_compare (X509_get0_notAfter (cert), X509_get0_notAfter (issuer)) > 0
    ||  ASN1_TIME_compare (X509_get0_notBefore (cert), X509_get0_notBefore (issuer)) < 0) {
        snprintf (err, err_size, "profile check: lifetime outside the issuing CA's");
        return -1;
    }
    return 0;
}

//  Only the extensions a profile writes; a subjectAltName only with
//  rfc822Name entries.
static int
s_check_extension_set (X509 *cert, char *err, size_t err_size)
{
    static const int allowed [] = {
        NID_basic_constraints, NID_key_usage, NID_ext_key_usage, NID_subject_key_identifier,
        NID_authority_key_identifier, NID_certificate_policies, NID_crl_distribution_points,
        NID_info_access, NID_id_pkix_OCSP_noCheck, NID_subject_alt_name,
    };
    for (int i = 0; i < X509_get_ext_count (cert); i++) {
        int nid = OBJ_obj2nid (X509_EXTENSION_get_object (X509_get_ext (cert, i)));
        bool known = false;
        for (size_t j = 0; j < sizeof allowed / sizeof allowed [0]; j++)
            known = known || nid == allowed [j];
        if (!known) {
            snprintf (err, err_size, "profile check: extension %s is not in the profile",
                      nid == NID_undef ? "(unknown)" : OBJ_nid2sn (nid));
            return -1;
        }
    }
    GENERAL_NAMES *names = X509_get_ext_d2i (cert, NID_subject_alt_name, NULL, NULL);
    int bad = 0;
    for (int i = 0; names && i < sk_GENERAL_NAME_num (names); i++)
        if (sk_GENERAL_NAME_value (names, i)->type != GEN_EMAIL)
            bad = 1;
    GENERAL_NAMES_free (names);
    if (bad) {
        snprintf (err, err_size, "profile check: subjectAltName may hold e-mail addresses only");
        return -1;
    }
    return 0;
}

int
ca_profile_check (X509 *cert, X509 *issuer, const ca_profile_t *profile, int level,
                  const ca_profile_config_t *config, char *err, size_t err_size)
{
    if (level < 1 || level > 3) {
        snprintf (err, err_size, "profile check: level must be 1 to 3");
        return -1;
    }
    if (s_check_extension_set (cert, err, err_size))
        return -1;
    if (X509_get_version (cert) != X509_VERSION_3) {
        snprintf (err, err_size, "profile check: not a version 3 certificate");
        return -1;
    }
    const ASN1_INTEGER *serial = X509_get0_serialNumber (cert);
    if (ASN1_STRING_type (serial) != V_ASN1_INTEGER || ASN1_STRING_length (serial) != S_SERIAL_BYTES
    ||  (ASN1_STRING_get0_data (serial) [0] & 0x80)) {
        snprintf (err, err_size, "profile check: serial must be %d bytes and positive",
                  S_SERIAL_BYTES);
        return -1;
    }
    if (X509_NAME_cmp (X509_get_issuer_name (cert), X509_get_subject_name (issuer)) != 0) {
        snprintf (err, err_size, "profile check: issuer name is not the issuing CA's subject");
        return -1;
    }
    bool ec_key = false;
    if (ca_profile_check_spki (X509_get_X509_PUBKEY (cert), &ec_key, err, err_size))
        return -1;
    if (s_check_validity (cert, issuer, profile->max_days, err, err_size)
    ||  s_check_subject_country (cert, err, err_size)
    ||  s_check_ext_critical (cert, NID_key_usage, true, "keyUsage", err, err_size)
    ||  s_check_ext_critical (cert, NID_basic_constraints, false, "basicConstraints",
                              err, err_size)
    ||  s_check_policy (cert, config->policy_oid [level], err, err_size))
        return -1;
    uint32_t flags = X509_get_extension_flags (cert);
    if ((flags & EXFLAG_CA) || (flags & EXFLAG_INVALID)) {
        snprintf (err, err_size, "profile check: an end-entity certificate must not be a CA");
        return -1;
    }
    const char *key_usage = NULL;
    unsigned key_usage_bits = 0;
    ca_profile_key_usage (profile, ec_key, &key_usage, &key_usage_bits);
    if (X509_get_key_usage (cert) != key_usage_bits) {
        snprintf (err, err_size, "profile check: keyUsage must be %s only", key_usage);
        return -1;
    }
    if (profile->escrowed && X509_get_ext_by_NID (cert, NID_subject_alt_name, -1) < 0) {
        snprintf (err, err_size, "profile check: an %s certificate needs an rfc822Name",
                  profile->name);
        return -1;
    }
    uint32_t xku = X509_get_extended_key_usage (cert);
    bool has_eku = X509_get_ext_by_NID (cert, NID_ext_key_usage, -1) >= 0;
    uint32_t expected = profile->eku_nid == NID_client_auth ? XKU_SSL_CLIENT
                      : profile->eku_nid == NID_OCSP_sign ? XKU_OCSP_SIGN
                      : profile->eku_nid == NID_email_protect ? XKU_SMIME : 0;
    if ((profile->eku_nid == NID_undef && has_eku)
    ||  (profile->eku_nid != NID_undef && (!has_eku || xku != expected))) {
        snprintf (err, err_size, "profile check: extended key usage does not match %s",
                  profile->name);
        return -1;
    }
    bool has_nocheck = X509_get_ext_by_NID (cert, NID_id_pkix_OCSP_noCheck, -1) >= 0;
    if (has_nocheck != profile->ocsp_nocheck) {
        snprintf (err, err_size, "profile check: ocsp-nocheck does not match %s", profile->name);
        return -1;
    }
    return 0;
}
