/*  mail_signer: the S/MIME identity and its renewal (see mail_signer.h).
*/
#include "mail_signer.h"
#include "mail_signer_files.h"
#include "tessera/log.h"
#include "tessera/v1/ca.pb-c.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_CARD_REQUEST_PREFIX "mail-signer-"

struct _mail_signer_t {
    mail_signer_config_t config;
    char key_path [1024];
    char next_key_path [1024];
    char certs_path [1024];
    char *key_dir, *common_name, *organization, *email;
    tsr_peer_t *ca;
    pthread_mutex_t lock;           //  guards the three below
    EVP_PKEY *key;
    X509 *cert;
    STACK_OF (X509) *chain;
    pthread_mutex_t refresh_lock;   //  one refresh at a time
    zactor_t *actor;
    int retry_ms, check_ms;
};

mail_signer_t *
mail_signer_new (const mail_signer_config_t *config, tsr_peer_t *ca, char *err, size_t err_size)
{
    if (mail_signer_dir (config->key_dir, err, err_size))
        return NULL;
    mail_signer_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    pthread_mutex_init (&self->refresh_lock, NULL);
    self->ca = ca;
    self->key_dir = strdup (config->key_dir);
    self->common_name = strdup (config->common_name);
    self->organization = strdup (config->organization);
    self->email = strdup (config->email);
    if (!self->key_dir || !self->common_name || !self->organization || !self->email) {
        snprintf (err, err_size, "out of memory");
        mail_signer_destroy (&self);
        return NULL;
    }
    self->config = (mail_signer_config_t) {
        .key_dir = self->key_dir, .common_name = self->common_name,
        .organization = self->organization, .email = self->email, .level = config->level,
        .renew_days = config->renew_days,
    };
    snprintf (self->key_path, sizeof self->key_path, "%s/signer.key", self->key_dir);
    snprintf (self->next_key_path, sizeof self->next_key_path, "%s/signer-next.key",
              self->key_dir);
    snprintf (self->certs_path, sizeof self->certs_path, "%s/signer.crt", self->key_dir);
    return self;
}

void
mail_signer_destroy (mail_signer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mail_signer_t *self = *self_p;
    mail_signer_stop (self);
    EVP_PKEY_free (self->key);
    X509_free (self->cert);
    sk_X509_pop_free (self->chain, X509_free);
    free (self->key_dir);
    free (self->common_name);
    free (self->organization);
    free (self->email);
    pthread_mutex_destroy (&self->lock);
    pthread_mutex_destroy (&self->refresh_lock);
    free (self);
    *self_p = NULL;
}

//  Seconds the certificate has left (negative once expired).
static int64_t
s_seconds_left (X509 *cert)
{
    int days = 0, seconds = 0;
    if (!ASN1_TIME_diff (&days, &seconds, NULL, X509_get0_notAfter (cert)))
        return -1;
    return (int64_t) days * 86400 + seconds;
}

//  Takes key, cert and chain as the signer's (ownership passes).
static void
s_install (mail_signer_t *self, EVP_PKEY *key, X509 *cert, STACK_OF (X509) *chain)
{
    pthread_mutex_lock (&self->lock);
    EVP_PKEY_free (self->key);
    X509_free (self->cert);
    sk_X509_pop_free (self->chain, X509_free);
    self->key = key;
    self->cert = cert;
    self->chain = chain;
    pthread_mutex_unlock (&self->lock);
}

//  What is on disk: a key with a certificate that matches it and has not
//  expired is installed. 2 when it is also good beyond the renewal
//  margin, 1 when it is due for renewal, 0 when nothing usable is there.
static int
s_load (mail_signer_t *self, int64_t margin_s)
{
    EVP_PKEY *key = mail_signer_key_load (self->key_path);
    STACK_OF (X509) *certs = key ? mail_signer_certs_load (self->certs_path) : NULL;
    X509 *leaf = certs ? sk_X509_shift (certs) : NULL;
    int64_t left = leaf ? s_seconds_left (leaf) : -1;
    bool usable = leaf && X509_check_private_key (leaf, key) == 1 && left > 0;
    ERR_clear_error ();
    if (!usable) {
        EVP_PKEY_free (key);
        X509_free (leaf);
        sk_X509_pop_free (certs, X509_free);
        return 0;
    }
    s_install (self, key, leaf, certs);
    return left > margin_s ? 2 : 1;
}

//  ca's certificate for key: IssueCertificate then GetCaCertificates.
static int
s_issue (mail_signer_t *self, EVP_PKEY *key, X509 **leaf_p, STACK_OF (X509) **chain_p,
         char *err, size_t err_size)
{
    *leaf_p = NULL;
    *chain_p = NULL;
    char spki [65], card_request_id [80], message [200] = "";
    unsigned char *csr = NULL;
    int csr_size = 0;
    if (mail_signer_spki_sha256 (key, spki) || mail_signer_csr (key, self->common_name, &csr,
                                                                &csr_size)) {
        snprintf (err, err_size, "cannot make the certificate request");
        return -1;
    }
    snprintf (card_request_id, sizeof card_request_id, S_CARD_REQUEST_PREFIX "%.40s", spki);
    Tessera__V1__Subject subject = TESSERA__V1__SUBJECT__INIT;
    subject.common_name = self->common_name;
    subject.organization = self->organization;
    subject.email = self->email;
    Tessera__V1__IssueCertificateRequest request = TESSERA__V1__ISSUE_CERTIFICATE_REQUEST__INIT;
    request.card_request_id = card_request_id;
    request.holder_id = "mail";
    request.csr_der.data = csr;
    request.csr_der.len = (size_t) csr_size;
    request.use = TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_MAIL_SIGNER;
    request.level = (Tessera__V1__PolicyLevel) self->config.level;
    request.subject = &subject;
    Tessera__V1__IssueCertificateReply *issued = NULL;
    tsr_status_t status = tsr_peer_call (self->ca, "IssueCertificate", &request.base,
                                         &tessera__v1__issue_certificate_reply__descriptor, NULL,
                                         NULL, (ProtobufCMessage **) &issued, message,
                                         sizeof message);
    OPENSSL_free (csr);
    if (status != TESSERA__V1__STATUS__STATUS_OK || !issued->certificate) {
        snprintf (err, err_size, "ca refused the signer certificate (%s: %s)",
                  tsr_status_name (status), message);
        if (issued)
            tessera__v1__issue_certificate_reply__free_unpacked (issued, NULL);
        return -1;
    }
    const unsigned char *der = issued->certificate->certificate_der.data;
    *leaf_p = d2i_X509 (NULL, &der, (long) issued->certificate->certificate_der.len);
    tessera__v1__issue_certificate_reply__free_unpacked (issued, NULL);
    if (!*leaf_p || X509_check_private_key (*leaf_p, key) != 1) {
        snprintf (err, err_size, "ca's certificate does not decode or is not for our key");
        X509_free (*leaf_p);
        *leaf_p = NULL;
        ERR_clear_error ();
        return -1;
    }
    Tessera__V1__GetCaCertificatesRequest chain_request = TESSERA__V1__GET_CA_CERTIFICATES_REQUEST__INIT;
    Tessera__V1__GetCaCertificatesReply *chain = NULL;
    status = tsr_peer_call (self->ca, "GetCaCertificates", &chain_request.base,
                            &tessera__v1__get_ca_certificates_reply__descriptor, NULL, NULL,
                            (ProtobufCMessage **) &chain, message, sizeof message);
    *chain_p = status == TESSERA__V1__STATUS__STATUS_OK ? sk_X509_new_null () : NULL;
    for (size_t i = 0; *chain_p && i < chain->n_chain_der; i++) {
        const unsigned char *p = chain->chain_der [i].data;
        X509 *ca_cert = d2i_X509 (NULL, &p, (long) chain->chain_der [i].len);
        if (!ca_cert || !sk_X509_push (*chain_p, ca_cert)) {
            X509_free (ca_cert);
            sk_X509_pop_free (*chain_p, X509_free);
            *chain_p = NULL;
        }
    }
    if (chain)
        tessera__v1__get_ca_certificates_reply__free_unpacked (chain, NULL);
    if (!*chain_p || sk_X509_num (*chain_p) == 0) {
        snprintf (err, err_size, "cannot read tessera's CA chain (%s)", message);
        X509_free (*leaf_p);
        *leaf_p = NULL;
        sk_X509_pop_free (*chain_p, X509_free);
        *chain_p = NULL;
        return -1;
    }
    return 0;
}

int
mail_signer_refresh (mail_signer_t *self, char *err, size_t err_size)
{
    int64_t margin_s = (int64_t) self->config.renew_days * 86400;
    pthread_mutex_lock (&self->refresh_lock);
    pthread_mutex_lock (&self->lock);
    bool fresh = self->cert && s_seconds_left (self->cert) > margin_s;
    pthread_mutex_unlock (&self->lock);
    int rc = 0;
    if (fresh || s_load (self, margin_s) == 2)
        goto done;
    //  A key waiting for its certificate (a crash or a refusal since it
    //  was made) is asked for again, so ca sees the same request.
    const char *path = mail_signer_ready (self) ? self->next_key_path : self->key_path;
    EVP_PKEY *key = mail_signer_key_load (path);
    if (!key && !(key = mail_signer_key_new (path, err, err_size))) {
        rc = -1;
        goto done;
    }
    X509 *leaf = NULL;
    STACK_OF (X509) *chain = NULL;
    if (s_issue (self, key, &leaf, &chain, err, err_size)
    ||  (path == self->next_key_path && rename (self->next_key_path, self->key_path))
    ||  mail_signer_certs_save (self->certs_path, leaf, chain, err, err_size)) {
        EVP_PKEY_free (key);
        X509_free (leaf);
        sk_X509_pop_free (chain, X509_free);
        rc = -1;
        goto done;
    }
    char serial [80] = "";
    BIGNUM *number = ASN1_INTEGER_to_BN (X509_get0_serialNumber (leaf), NULL);
    char *hex = number ? BN_bn2hex (number) : NULL;
    snprintf (serial, sizeof serial, "%s", hex ? hex : "?");
    OPENSSL_free (hex);
    BN_free (number);
    s_install (self, key, leaf, chain);
    tsr_log_info (NULL, "mail.signer_certified", "serial", serial, "key", self->key_path, NULL);
done:
    pthread_mutex_unlock (&self->refresh_lock);
    return rc;
}

bool
mail_signer_ready (mail_signer_t *self)
{
    pthread_mutex_lock (&self->lock);
    bool ready = self->cert != NULL;
    pthread_mutex_unlock (&self->lock);
    return ready;
}

int
mail_signer_acquire (mail_signer_t *self, EVP_PKEY **key, X509 **cert, STACK_OF (X509) **chain)
{
    *key = NULL;
    *cert = NULL;
    *chain = NULL;
    pthread_mutex_lock (&self->lock);
    if (self->cert && s_seconds_left (self->cert) > 0) {
        EVP_PKEY_up_ref (self->key);
        X509_up_ref (self->cert);
        *key = self->key;
        *cert = self->cert;
        *chain = X509_chain_up_ref (self->chain);
    }
    pthread_mutex_unlock (&self->lock);
    return *cert ? 0 : -1;
}

static void
s_actor (zsock_t *pipe, void *arg)
{
    mail_signer_t *self = arg;
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    int64_t last_warning = 0;
    while (poller) {
        int wait_ms = mail_signer_ready (self) ? self->check_ms : self->retry_ms;
        zsock_t *which = zpoller_wait (poller, wait_ms);
        if (which == pipe || zpoller_terminated (poller))
            break;
        char err [256] = "";
        if (mail_signer_refresh (self, err, sizeof err)
        &&  (last_warning == 0 || zclock_mono () - last_warning > 60000)) {
            last_warning = zclock_mono ();
            tsr_log_warn (NULL, "mail.signer_pending", "reason", err, NULL);
        }
    }
    zpoller_destroy (&poller);
    OPENSSL_thread_stop ();
}

int
mail_signer_start (mail_signer_t *self, int retry_ms, int check_ms)
{
    self->retry_ms = retry_ms;
    self->check_ms = check_ms;
    self->actor = zactor_new (s_actor, self);
    return self->actor ? 0 : -1;
}

void
mail_signer_stop (mail_signer_t *self)
{
    zactor_destroy (&self->actor);
}
