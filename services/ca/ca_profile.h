/*  ca_profile: the certificate profiles, one per policy level and use, and
    the check every to-be-signed certificate passes before the CA signs it.

    The table is the single home of the profile rules (key usage, extended
    key usage, maximum lifetime, policy OID per level). ca_profile_apply
    writes a profile's extensions into a certificate; ca_profile_check reads
    a built certificate back, independently of how it was built, and refuses
    anything the profile does not allow.

    Values (use, level) are those of CertificateUse and PolicyLevel in
    proto/tessera/v1/ca.proto.
*/
#ifndef CA_PROFILE_H
#define CA_PROFILE_H

#include <openssl/x509.h>
#include <stdbool.h>
#include "tessera/config.h"

#define CA_USE_AUTHENTICATION 1
#define CA_USE_SIGNATURE 2
#define CA_USE_OCSP_RESPONDER 3
#define CA_USE_MAIL_SIGNER 4
#define CA_USE_ENCRYPTION 5

#define CA_HOLDER_MAX_DAYS 1095     //  3 years (RGS): holders' certificates
#define CA_CA_MAX_DAYS 3653         //  10 years: CA certificates
#define CA_URL_MAX 256
#define CA_OID_MAX 64

typedef struct {
    const char *name;           //  "authentication", "signature", ...
    int use;
    bool holder;                //  a card holder's certificate (subject from a person)
    const char *key_usage;      //  OpenSSL conf form, "critical," added
    unsigned key_usage_bits;    //  X509v3_KU_* expected exactly
    //  For an EC subject key when the usage depends on the key type
    //  (encryption: keyEncipherment for RSA, keyAgreement for EC); NULL
    //  when the usage is the same for every key.
    const char *key_usage_ec;
    unsigned key_usage_bits_ec;
    int eku_nid;                //  NID_undef when none
    bool ocsp_nocheck;
    int max_days;
    int default_days;
    //  The key pair is generated off-card and escrowed (encryption only):
    //  IssueCertificate must say key_escrowed, and an rfc822Name is required.
    bool escrowed;
} ca_profile_t;

//  From configuration (docs/configuration.md): policy OIDs per level and
//  the URLs written into end-entity certificates.
typedef struct {
    char policy_oid [4][CA_OID_MAX];    //  index 1..3 = level
    char crl_url [CA_URL_MAX];
    char ocsp_url [CA_URL_MAX];
    char ca_issuers_url [CA_URL_MAX];
} ca_profile_config_t;

//  The profile of (use, level), or NULL when there is none.
const ca_profile_t *ca_profile_find (int use, int level);

//  The keyUsage text and bits of profile for a subject key, EC or not
//  (see key_usage_ec).
void ca_profile_key_usage (const ca_profile_t *profile, bool ec_key, const char **text,
                           unsigned *bits);

//  A SubjectPublicKeyInfo by ca_profile_check_key's rules; *ec when it is
//  an EC key. EC and RSA keys are judged by their fields and not decoded
//  (a named curve P-256/P-384 and a point of its size; NULL parameters and
//  an RSAPublicKey of 2048 to 8192 bits): ca_issue copies a CSR's bytes into
//  the certificate, and OpenSSL 3.0's decoder set-up would be a fifth of an
//  issuance's CPU. Any other key is decoded (the one decoded with spki, if
//  it was) and refused by ca_profile_check_key with its type named.
//  ca_csr_check and ca_profile_check both use it. 0, or -1 with err.
int ca_profile_check_spki (const X509_PUBKEY *spki, bool *ec, char *err, size_t err_size);

//  Signature and authentication keys are never escrowed; encryption keys
//  always are. Refuses key_escrowed on a profile that is not escrowed, and
//  its absence on one that is. Returns 0 or -1 with err.
int ca_profile_check_escrow (const ca_profile_t *profile, bool key_escrowed,
                             char *err, size_t err_size);

//  Fills config with the documented defaults (test OIDs under 2.999, the
//  example arc; localhost URLs), then with TSR_CA_POLICY_OID_1..3,
//  TSR_CA_CRL_URL, TSR_CA_OCSP_URL, TSR_CA_ISSUERS_URL when set. Refuses
//  an OID that is not dotted decimal or a URL that is not http(s) with
//  safe characters. Returns 0 or -1 with err.
int ca_profile_config_load (ca_profile_config_t *config, tsr_config_t *source,
                            char *err, size_t err_size);

//  Adds the profile's extensions to cert (whose issuer and public key are
//  set): basicConstraints, keyUsage (critical), EKU, certificatePolicies,
//  SKI, AKI, CRL distribution point, AIA, ocsp-nocheck, and an rfc822Name
//  subjectAltName when email is not empty. Returns 0 or -1.
int ca_profile_apply (X509 *cert, X509 *issuer, const ca_profile_t *profile, int level,
                      const ca_profile_config_t *config, const char *email,
                      char *err, size_t err_size);

//  Reads cert back and checks it against the profile: version 3, serial
//  positive and 16 bytes, lifetime within the profile's maximum and within
//  the issuer's, keyUsage critical and exactly the profile's, EKU, not a
//  CA, the level's policy OID, subject C=FR as PrintableString, public key
//  RSA >= 2048 or EC P-256/P-384, an rfc822Name for an escrowed
//  (encryption) profile. Returns 0 or -1 with err.
int ca_profile_check (X509 *cert, X509 *issuer, const ca_profile_t *profile, int level,
                      const ca_profile_config_t *config, char *err, size_t err_size);

//  Extensions of a CA certificate: basicConstraints critical CA:TRUE (with
//  pathlen:0 for an issuing CA), keyUsage critical keyCertSign+cRLSign,
//  SKI, AKI (issuer NULL: self-signed).
int ca_profile_apply_ca (X509 *cert, X509 *issuer, bool issuing, char *err, size_t err_size);

//  RSA >= 2048 or EC on P-256/P-384; other keys get a reason in err.
int ca_profile_check_key (EVP_PKEY *key, char *err, size_t err_size);

#endif
