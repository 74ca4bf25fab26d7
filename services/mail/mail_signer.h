/*  mail_signer: the mail service's own S/MIME identity, issued by
    tessera's CA.

    The key is an EC P-256 key made here and kept in TSR_MAIL_KEY_DIR
    (directory 0700, signer.key 0600, PEM PKCS#8); it never leaves the
    process. Its certificate comes from ca's IssueCertificate (use
    CERTIFICATE_USE_MAIL_SIGNER, asked under mail's own service key; the
    card_request_id is "mail-signer-" and the key's SPKI digest, so a retry
    with the same key gets the same certificate), with tessera's chain from
    GetCaCertificates; both are kept in signer.crt (leaf first). At start
    the files are read back; a missing or expiring certificate is asked for
    at once and then again in the background until ca answers (its key may
    not be activated yet). Until then nothing is signed, so nothing is
    sent. TSR_MAIL_SIGNER_RENEW_DAYS before expiry a new key is made and
    certified the same way.
*/
#ifndef MAIL_SIGNER_H
#define MAIL_SIGNER_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include "tessera/peer.h"

typedef struct {
    const char *key_dir;
    const char *common_name;
    const char *organization;
    const char *email;              //  the From address (rfc822Name)
    int level;                      //  RGS level of the profile (1..3)
    int renew_days;
} mail_signer_config_t;

typedef struct _mail_signer_t mail_signer_t;

//  config is copied; ca is borrowed (outlives the signer). Creates the
//  key directory. NULL with the reason in err.
mail_signer_t *mail_signer_new (const mail_signer_config_t *config, tsr_peer_t *ca,
                                char *err, size_t err_size);
void mail_signer_destroy (mail_signer_t **self_p);

//  One attempt at a usable certificate: read from disk, or a key made or
//  reused and certified by ca. 0 when ready, -1 with the reason in err.
int mail_signer_refresh (mail_signer_t *self, char *err, size_t err_size);
bool mail_signer_ready (mail_signer_t *self);
//  The key, certificate and chain for one signature, each with its own
//  reference (free with EVP_PKEY_free, X509_free, sk_X509_pop_free
//  (..., X509_free)). 0, or -1 when not ready.
int mail_signer_acquire (mail_signer_t *self, EVP_PKEY **key, X509 **cert,
                         STACK_OF (X509) **chain);

//  The background attempts: every retry_ms until ready, then every
//  check_ms (renewal). 0, or -1.
int mail_signer_start (mail_signer_t *self, int retry_ms, int check_ms);
void mail_signer_stop (mail_signer_t *self);

#endif
