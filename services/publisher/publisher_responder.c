/*  publisher_responder: the OCSP responder's key file, its certificate
    from the ca, renewal (see publisher_responder.h).
*/
#include "publisher_responder.h"
#include "tessera/files.h"
#include "publisher_util.h"

#include "tessera/log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_KEY_FILE "ocsp-responder.key"
#define S_CERT_FILE "ocsp-responder.pem"
#define S_PATH_MAX 1024

struct _publisher_responder_t {
    pthread_mutex_t lock;
    char key_path [S_PATH_MAX];
    char cert_path [S_PATH_MAX];
    char common_name [128];
    int level;
    long validity_days;
    long renew_days;
    EVP_PKEY *key;                  //  under lock: the current key
    X509 *cert;                     //  its certificate, or NULL
    X509 *issuer;
    char issuer_sha256 [65];
};

static EVP_PKEY *
s_generate_key (void)
{
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id (EVP_PKEY_EC, NULL);
    if (!ctx || EVP_PKEY_keygen_init (ctx) <= 0
    ||  EVP_PKEY_CTX_set_ec_paramgen_curve_nid (ctx, NID_X9_62_prime256v1) <= 0
    ||  EVP_PKEY_keygen (ctx, &key) <= 0)
        key = NULL;
    EVP_PKEY_CTX_free (ctx);
    return key;
}

//  Writes path through path.tmp.<pid> (created 0600) and a rename, so a
//  reader never sees half a file.
static int
s_write_file (const char *path, EVP_PKEY *key, X509 *cert)
{
    char tmp [S_PATH_MAX + 32];
    snprintf (tmp, sizeof tmp, "%s.tmp.%ld", path, (long) getpid ());
    unlink (tmp);
    int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -1;
    FILE *file = fdopen (fd, "w");
    if (!file) {
        close (fd);
        unlink (tmp);
        return -1;
    }
    int ok = key ? PEM_write_PrivateKey (file, key, NULL, NULL, 0, NULL, NULL)
                 : PEM_write_X509 (file, cert);
    ok = fflush (file) == 0 && fsync (fileno (file)) == 0 && ok;
    if (fclose (file) || !ok || rename (tmp, path)) {
        unlink (tmp);
        return -1;
    }
    return 0;
}

static EVP_PKEY *
s_load_key (const char *path, char *err, size_t err_size)
{
    struct stat info;
    if (stat (path, &info)) {
        snprintf (err, err_size, "cannot read %s: %s", path, strerror (errno));
        return NULL;
    }
    if (info.st_mode & 077) {
        snprintf (err, err_size, "the OCSP responder key %s may be read by others: chmod 600 it, "
                  "or remove it to make a new one", path);
        return NULL;
    }
    FILE *file = fopen (path, "r");
    EVP_PKEY *key = file ? PEM_read_PrivateKey (file, NULL, NULL, NULL) : NULL;
    if (file)
        fclose (file);
    if (!key)
        snprintf (err, err_size, "%s is not an unencrypted PEM private key", path);
    return key;
}

static X509 *
s_load_cert (const char *path)
{
    FILE *file = fopen (path, "r");
    X509 *cert = file ? PEM_read_X509 (file, NULL, NULL, NULL) : NULL;
    if (file)
        fclose (file);
    return cert;
}

publisher_responder_t *
publisher_responder_new (const publisher_responder_config_t *config, char *err, size_t err_size)
{
    char why [256];
    if (tsr_make_private_dir (config->directory, why, sizeof why)) {
        snprintf (err, err_size, "TSR_PUBLISHER_OCSP_DIR: %s", why);
        return NULL;
    }
    publisher_responder_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    snprintf (self->key_path, sizeof self->key_path, "%s/%s", config->directory, S_KEY_FILE);
    snprintf (self->cert_path, sizeof self->cert_path, "%s/%s", config->directory, S_CERT_FILE);
    snprintf (self->common_name, sizeof self->common_name, "%s", config->common_name);
    self->level = config->level;
    self->validity_days = config->validity_days;
    self->renew_days = config->renew_days;
    if (access (self->key_path, F_OK) == 0)
        self->key = s_load_key (self->key_path, err, err_size);
    else {
        self->key = s_generate_key ();
        if (!self->key || s_write_file (self->key_path, self->key, NULL)) {
            snprintf (err, err_size, "cannot make the OCSP responder key %s", self->key_path);
            EVP_PKEY_free (self->key);
            self->key = NULL;
        }
        else
            tsr_log_info (NULL, "publisher.responder_key_made", "path", self->key_path, NULL);
    }
    if (!self->key) {
        publisher_responder_destroy (&self);
        return NULL;
    }
    //  A certificate for another key (a crash during renewal) is dropped:
    //  asking again for this key returns its certificate.
    self->cert = s_load_cert (self->cert_path);
    if (self->cert && X509_check_private_key (self->cert, self->key) != 1) {
        X509_free (self->cert);
        self->cert = NULL;
    }
    return self;
}

void
publisher_responder_destroy (publisher_responder_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    publisher_responder_t *self = *self_p;
    EVP_PKEY_free (self->key);
    X509_free (self->cert);
    X509_free (self->issuer);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

int
publisher_responder_set_issuer (publisher_responder_t *self, X509 *issuer,
                                const char *issuer_sha256)
{
    if (!X509_up_ref (issuer))
        return -1;
    pthread_mutex_lock (&self->lock);
    X509_free (self->issuer);
    self->issuer = issuer;
    snprintf (self->issuer_sha256, sizeof self->issuer_sha256, "%s", issuer_sha256);
    pthread_mutex_unlock (&self->lock);
    return 0;
}

//  Under lock. The renewal time of the installed certificate: renew_days
//  before notAfter, but never before half its lifetime (a certificate
//  shorter than renew_days would otherwise be renewed on every turn); at
//  two thirds of its lifetime when renew_days is 0.
static int64_t
s_renew_after (publisher_responder_t *self)
{
    int64_t not_before = publisher_asn1_time_unix (X509_get0_notBefore (self->cert));
    int64_t not_after = publisher_asn1_time_unix (X509_get0_notAfter (self->cert));
    int64_t halfway = not_before + (not_after - not_before) / 2;
    if (self->renew_days > 0) {
        int64_t renew_after = not_after - (int64_t) self->renew_days * 86400;
        return renew_after > halfway ? renew_after : halfway;
    }
    return not_before + (not_after - not_before) * 2 / 3;
}

//  True when cert is one this issuer made for an OCSP responder.
static bool
s_cert_fits (X509 *cert, X509 *issuer)
{
    EVP_PKEY *issuer_key = X509_get0_pubkey (issuer);
    return X509_check_issued (issuer, cert) == X509_V_OK && issuer_key
        && X509_verify (cert, issuer_key) == 1
        && (X509_get_extension_flags (cert) & EXFLAG_XKUSAGE)
        && (X509_get_extended_key_usage (cert) & XKU_OCSP_SIGN);
}

bool
publisher_responder_due (publisher_responder_t *self, int64_t now, char *why, size_t why_size)
{
    pthread_mutex_lock (&self->lock);
    const char *reason = NULL;
    if (!self->issuer)
        reason = NULL;              //  nothing to ask for before the issuer is known
    else
    if (!self->cert)
        reason = "no certificate for the responder key";
    else
    if (!s_cert_fits (self->cert, self->issuer))
        reason = "the responder certificate is not from the current issuing CA";
    else
    if (now >= s_renew_after (self))
        reason = "the responder certificate is due for renewal";
    if (reason)
        snprintf (why, why_size, "%s", reason);
    pthread_mutex_unlock (&self->lock);
    return reason != NULL;
}

//  A CSR for key (the ca reads only its public key and self-signature).
static int
s_csr (EVP_PKEY *key, uint8_t **der, size_t *size)
{
    X509_REQ *request = X509_REQ_new ();
    X509_NAME *name = X509_NAME_new ();
    int ok = request && name
          && X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8,
                                         (const unsigned char *) "ocsp responder", -1, -1, 0)
          && X509_REQ_set_version (request, 0) && X509_REQ_set_subject_name (request, name)
          && X509_REQ_set_pubkey (request, key)
          && X509_REQ_sign (request, key, EVP_sha256 ()) > 0;
    unsigned char *out = NULL;
    int length = ok ? i2d_X509_REQ (request, &out) : -1;
    X509_NAME_free (name);
    X509_REQ_free (request);
    if (length <= 0)
        return -1;
    *der = out;
    *size = (size_t) length;
    return 0;
}

//  "ocsp-" and 32 hex digits of the key's SPKI SHA-256.
static int
s_card_request_id (EVP_PKEY *key, char out [40])
{
    unsigned char *spki = NULL;
    int length = i2d_PUBKEY (key, &spki);
    if (length <= 0)
        return -1;
    char digest [65];
    publisher_sha256_hex (spki, (size_t) length, digest);
    OPENSSL_free (spki);
    snprintf (out, 40, "ocsp-%.32s", digest);
    return 0;
}

//  Asks the ca to certify key. The certificate, checked, or NULL.
static X509 *
s_issue (publisher_responder_t *self, tsr_peer_t *ca, EVP_PKEY *key, X509 *issuer,
         const char *trace_id, char *err, size_t err_size)
{
    char organization [128] = "";
    if (X509_NAME_get_text_by_NID (X509_get_subject_name (issuer), NID_organizationName,
                                   organization, sizeof organization) <= 0)
        snprintf (organization, sizeof organization, "Tessera");
    char card_request_id [40];
    uint8_t *csr = NULL;
    size_t csr_size = 0;
    if (s_card_request_id (key, card_request_id) || s_csr (key, &csr, &csr_size)) {
        snprintf (err, err_size, "cannot make the responder's certificate request");
        return NULL;
    }
    Tessera__V1__Subject subject = TESSERA__V1__SUBJECT__INIT;
    subject.organization = organization;
    subject.common_name = self->common_name;
    Tessera__V1__IssueCertificateRequest request = TESSERA__V1__ISSUE_CERTIFICATE_REQUEST__INIT;
    request.card_request_id = card_request_id;
    request.holder_id = "publisher";
    request.csr_der.data = csr;
    request.csr_der.len = csr_size;
    request.use = TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_OCSP_RESPONDER;
    request.level = (Tessera__V1__PolicyLevel) self->level;
    request.subject = &subject;
    request.validity_days = (uint32_t) self->validity_days;
    Tessera__V1__IssueCertificateReply *reply = NULL;
    char message [256] = "";
    tsr_status_t status = tsr_peer_call (ca, "IssueCertificate", &request.base,
                                         &tessera__v1__issue_certificate_reply__descriptor, NULL,
                                         trace_id, (ProtobufCMessage **) &reply, message,
                                         sizeof message);
    OPENSSL_free (csr);
    X509 *cert = NULL;
    if (status != TESSERA__V1__STATUS__STATUS_OK)
        snprintf (err, err_size, "the ca refused the responder certificate: %s %s",
                  tsr_status_name (status), message);
    else
    if (reply->certificate) {
        const unsigned char *cursor = reply->certificate->certificate_der.data;
        cert = d2i_X509 (NULL, &cursor, (long) reply->certificate->certificate_der.len);
        if (!cert || X509_check_private_key (cert, key) != 1 || !s_cert_fits (cert, issuer)) {
            snprintf (err, err_size, "the ca's responder certificate is not for this key, "
                      "this issuer and OCSP signing");
            X509_free (cert);
            cert = NULL;
        }
    }
    else
        snprintf (err, err_size, "the ca's reply holds no certificate");
    if (reply)
        tessera__v1__issue_certificate_reply__free_unpacked (reply, NULL);
    return cert;
}

int
publisher_responder_renew (publisher_responder_t *self, tsr_peer_t *ca, const char *trace_id,
                           char *err, size_t err_size)
{
    //  The scheduler is the only thread that renews: the lock is held only
    //  to read and to swap, never across the call to the ca.
    pthread_mutex_lock (&self->lock);
    X509 *issuer = self->issuer;
    if (!issuer) {
        pthread_mutex_unlock (&self->lock);
        snprintf (err, err_size, "the issuing CA is not known yet");
        return -1;
    }
    X509_up_ref (issuer);
    //  A certified key is not certified again: renewal rolls the key over.
    bool fresh_key = self->cert && s_cert_fits (self->cert, issuer);
    EVP_PKEY *key = fresh_key ? NULL : self->key;
    if (key)
        EVP_PKEY_up_ref (key);
    pthread_mutex_unlock (&self->lock);
    if (fresh_key)
        key = s_generate_key ();
    X509 *cert = key ? s_issue (self, ca, key, issuer, trace_id, err, err_size) : NULL;
    int rc = -1;
    if (!cert)
        goto done;
    if ((fresh_key && s_write_file (self->key_path, key, NULL))
    ||  s_write_file (self->cert_path, NULL, cert)) {
        snprintf (err, err_size, "cannot write %s", self->cert_path);
        goto done;
    }
    char serial_hex [PUBLISHER_SERIAL_HEX_MAX + 1] = "";
    publisher_serial_hex (X509_get0_serialNumber (cert), serial_hex);
    pthread_mutex_lock (&self->lock);
    EVP_PKEY_free (self->key);
    X509_free (self->cert);
    self->key = key;
    self->cert = cert;
    key = NULL;
    cert = NULL;
    pthread_mutex_unlock (&self->lock);
    tsr_log_info (trace_id, "publisher.responder_certified", "serial", serial_hex,
                  "new_key", fresh_key ? "true" : "false", NULL);
    rc = 0;
done:
    X509_free (cert);
    EVP_PKEY_free (key);
    X509_free (issuer);
    return rc;
}

int
publisher_responder_acquire (publisher_responder_t *self, publisher_signer_ref_t *ref)
{
    memset (ref, 0, sizeof *ref);
    pthread_mutex_lock (&self->lock);
    int rc = -1;
    if (self->cert && self->issuer && X509_up_ref (self->cert)) {
        X509_up_ref (self->issuer);
        EVP_PKEY_up_ref (self->key);
        ref->signer.issuer = self->issuer;
        ref->signer.responder = self->cert;
        ref->signer.key = self->key;
        snprintf (ref->issuer_sha256, sizeof ref->issuer_sha256, "%s", self->issuer_sha256);
        ref->signer.issuer_sha256 = ref->issuer_sha256;
        rc = 0;
    }
    pthread_mutex_unlock (&self->lock);
    return rc;
}

void
publisher_responder_release (publisher_signer_ref_t *ref)
{
    if (!ref)
        return;
    X509_free (ref->signer.issuer);
    X509_free (ref->signer.responder);
    EVP_PKEY_free (ref->signer.key);
    memset (ref, 0, sizeof *ref);
}

int
publisher_responder_info (publisher_responder_t *self, publisher_responder_info_t *info)
{
    memset (info, 0, sizeof *info);
    pthread_mutex_lock (&self->lock);
    int rc = -1;
    if (self->cert) {
        publisher_serial_hex (X509_get0_serialNumber (self->cert), info->serial_hex);
        unsigned char *der = NULL;
        int size = i2d_X509 (self->cert, &der);
        if (size > 0)
            publisher_sha256_hex (der, (size_t) size, info->sha256);
        OPENSSL_free (der);
        info->not_after = publisher_asn1_time_unix (X509_get0_notAfter (self->cert));
        info->renew_after = s_renew_after (self);
        rc = 0;
    }
    pthread_mutex_unlock (&self->lock);
    return rc;
}
