/*  ca_issue: builds certificates and has them signed.

    Every end-entity certificate is built here from the profile, checked
    against it by ca_profile_check, and only then signed: no other path
    signs a certificate. CA certificates (root and issuing) are built at
    the ceremony by ca_issue_ca_certificate.

    Serials: 16 bytes from OpenSSL's CSPRNG (RAND_bytes), the top bit
    cleared so the INTEGER is positive and the first byte non-zero so it
    stays 16 bytes long; uniqueness is the database's primary key.
*/
#ifndef CA_ISSUE_H
#define CA_ISSUE_H

#include <openssl/x509.h>
#include <stdint.h>
#include "ca_profile.h"

#define CA_SERIAL_SIZE 16

//  16 random bytes, first byte in 0x01..0x7F.
int ca_issue_random_serial (uint8_t serial [CA_SERIAL_SIZE]);

//  The digest a key signs with: SHA-384 for P-384 and RSA >= 4096, SHA-256
//  otherwise.
const EVP_MD *ca_issue_digest_for (EVP_PKEY *key);

//  Builds, checks and signs an end-entity certificate for subject_key (a
//  SubjectPublicKeyInfo, as ca_csr_check gives it: its bytes are copied).
//  validity_days 0 takes the profile's default; notAfter never passes the
//  issuer's. Returns the signed certificate, or NULL with err.
X509 *ca_issue_certificate (X509 *issuer_cert, EVP_PKEY *issuer_key,
                            const X509_PUBKEY *subject_key, X509_NAME *subject,
                            const ca_profile_t *profile, int level,
                            const ca_profile_config_t *config, const char *email,
                            int validity_days, char *err, size_t err_size);

//  Builds and signs a CA certificate: self-signed root when issuer_cert is
//  NULL (signed by signer_key, which is the root's own key), otherwise an
//  issuing CA signed by signer_key.
X509 *ca_issue_ca_certificate (X509 *issuer_cert, EVP_PKEY *signer_key, EVP_PKEY *subject_key,
                               X509_NAME *subject, int validity_days,
                               char *err, size_t err_size);

//  Lower-case hex of bytes; out holds 2 * size + 1.
void ca_hex (const uint8_t *bytes, size_t size, char *out);
//  SHA-256 of a certificate's DER, lower-case hex.
int ca_certificate_sha256 (X509 *cert, char hex [65]);

#endif
