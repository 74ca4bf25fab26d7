/*  ca_issue: certificate construction and signing (see ca_issue.h).
*/
#include "ca_issue.h"
#include "ca_csr.h"

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <time.h>

void
ca_hex (const uint8_t *bytes, size_t size, char *out)
{
    static const char digits [] = "0123456789abcdef";
    for (size_t i = 0; i < size; i++) {
        out [2 * i] = digits [bytes [i] >> 4];
        out [2 * i + 1] = digits [bytes [i] & 15];
    }
    out [2 * size] = 0;
}

int
ca_certificate_sha256 (X509 *cert, char hex [65])
{
    uint8_t digest [32];
    unsigned int size = 0;
    if (!X509_digest (cert, EVP_sha256 (), digest, &size) || size != 32)
        return -1;
    ca_hex (digest, 32, hex);
    return 0;
}

int
ca_issue_random_serial (uint8_t serial [CA_SERIAL_SIZE])
{
    do {
        if (RAND_bytes (serial, CA_SERIAL_SIZE) != 1)
            return -1;
        serial [0] &= 0x7F;
    } while (serial [0] == 0);
    return 0;
}

const EVP_MD *
ca_issue_digest_for (EVP_PKEY *key)
{
    if (EVP_PKEY_is_a (key, "EC"))
        return EVP_PKEY_get_bits (key) >= 384 ? EVP_sha384 () : EVP_sha256 ();
    return EVP_PKEY_get_bits (key) >= 4096 ? EVP_sha384 () : EVP_sha256 ();
}

//  Version 3, a fresh serial, the subject and the validity, with notAfter
//  capped by the issuer's. issuer_cert NULL: self-issued. No key yet.
static X509 *
s_skeleton (X509 *issuer_cert, X509_NAME *subject, int validity_days, char *err, size_t err_size)
{
    uint8_t serial_bytes [CA_SERIAL_SIZE];
    X509 *cert = X509_new ();
    BIGNUM *serial = NULL;
    if (!cert || ca_issue_random_serial (serial_bytes)
    ||  !(serial = BN_bin2bn (serial_bytes, CA_SERIAL_SIZE, NULL))
    ||  !BN_to_ASN1_INTEGER (serial, X509_get_serialNumber (cert))
    ||  !X509_set_version (cert, X509_VERSION_3)
    ||  !X509_set_subject_name (cert, subject)
    ||  !X509_set_issuer_name (cert, issuer_cert ? X509_get_subject_name (issuer_cert) : subject)) {
        snprintf (err, err_size, "cannot build the certificate");
        goto fail;
    }
    time_t now = time (NULL);
    if (!X509_time_adj_ex (X509_getm_notBefore (cert), 0, 0, &now)
    ||  !X509_time_adj_ex (X509_getm_notAfter (cert), validity_days, 0, &now)) {
        snprintf (err, err_size, "cannot set the validity");
        goto fail;
    }
    if (issuer_cert
    &&  ASN1_TIME_compare (X509_get0_notAfter (cert), X509_get0_notAfter (issuer_cert)) > 0
    &&  !X509_set1_notAfter (cert, X509_get0_notAfter (issuer_cert))) {
        snprintf (err, err_size, "cannot set the validity");
        goto fail;
    }
    BN_free (serial);
    return cert;
fail:
    BN_free (serial);
    X509_free (cert);
    return NULL;
}

//  The certificate's SubjectPublicKeyInfo: the same algorithm, parameters
//  (none, NULL, a curve's OID or other DER) and key bits as spki's, copied
//  field by field; ca_profile_check then judges the key. X509_set_pubkey
//  would run OpenSSL 3.0's encoder then decoder on the key, a quarter of
//  the ca's CPU per issuance. The copy has no decoded key:
//  ca_profile_check decodes the certificate's own bytes.
static int
s_set_spki (X509 *cert, const X509_PUBKEY *spki, char *err, size_t err_size)
{
    const unsigned char *bits = NULL;
    int bits_size = 0;
    X509_ALGOR *algorithm = NULL;
    if (!X509_PUBKEY_get0_param (NULL, &bits, &bits_size, &algorithm, spki)
    ||  ca_csr_spki_copy (X509_get_X509_PUBKEY (cert), algorithm, bits, bits_size)) {
        snprintf (err, err_size, "cannot set the certificate's public key");
        return -1;
    }
    return 0;
}

static int
s_sign (X509 *cert, EVP_PKEY *key, char *err, size_t err_size)
{
    if (X509_sign (cert, key, ca_issue_digest_for (key)) <= 0) {
        snprintf (err, err_size, "the CA key did not sign");
        return -1;
    }
    return 0;
}

X509 *
ca_issue_certificate (X509 *issuer_cert, EVP_PKEY *issuer_key,
                      const X509_PUBKEY *subject_key, X509_NAME *subject,
                      const ca_profile_t *profile, int level,
                      const ca_profile_config_t *config, const char *email,
                      int validity_days, char *err, size_t err_size)
{
    if (validity_days == 0)
        validity_days = profile->default_days;
    if (validity_days < 1 || validity_days > profile->max_days) {
        snprintf (err, err_size, "validity of %d days; the %s profile allows 1 to %d",
                  validity_days, profile->name, profile->max_days);
        return NULL;
    }
    X509 *cert = s_skeleton (issuer_cert, subject, validity_days, err, err_size);
    if (!cert
    ||  s_set_spki (cert, subject_key, err, err_size)
    ||  ca_profile_apply (cert, issuer_cert, profile, level, config, email, err, err_size)
    ||  ca_profile_check (cert, issuer_cert, profile, level, config, err, err_size)
    ||  s_sign (cert, issuer_key, err, err_size)) {
        X509_free (cert);
        return NULL;
    }
    return cert;
}

X509 *
ca_issue_ca_certificate (X509 *issuer_cert, EVP_PKEY *signer_key, EVP_PKEY *subject_key,
                         X509_NAME *subject, int validity_days, char *err, size_t err_size)
{
    if (validity_days < 1 || validity_days > CA_CA_MAX_DAYS) {
        snprintf (err, err_size, "CA validity of %d days; 1 to %d are allowed", validity_days,
                  CA_CA_MAX_DAYS);
        return NULL;
    }
    X509 *cert = s_skeleton (issuer_cert, subject, validity_days, err, err_size);
    if (cert && !X509_set_pubkey (cert, subject_key)) {
        snprintf (err, err_size, "cannot set the certificate's public key");
        X509_free (cert);
        return NULL;
    }
    if (!cert
    ||  ca_profile_apply_ca (cert, issuer_cert, issuer_cert != NULL, err, err_size)
    ||  s_sign (cert, signer_key, err, err_size)) {
        X509_free (cert);
        return NULL;
    }
    return cert;
}
