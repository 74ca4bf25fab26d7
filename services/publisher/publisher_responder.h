/*  publisher_responder: the delegated OCSP responder's key and certificate.

    The key is an EC P-256 key the publisher makes itself and keeps in
    DIR/ocsp-responder.key (unencrypted PKCS#8 PEM, mode 0600 in a 0700
    folder; a key file readable by group or others is refused). Its
    certificate comes from the ca (IssueCertificate, use OCSP_RESPONDER:
    id-kp-OCSPSigning, ocsp-nocheck) and is kept beside it in
    DIR/ocsp-responder.pem. The request names the card request
    "ocsp-<first 32 hex digits of the key's SPKI SHA-256>" and the holder
    "publisher", so asking again for the same key returns the same
    certificate: a crash between writing the key and the certificate is
    mended by asking again.

    Renewal makes a new key: past the renewal time (renew_days before
    notAfter but not before half the lifetime, or at two thirds of the
    lifetime when renew_days is 0), or when the certificate does not match
    the key or the current issuing CA, a new certificate is requested; the
    files are replaced (write, then rename) only once it is in hand and
    checked.

    Thread-safe: the HTTP threads take a reference to the current signer
    (issuer, certificate, key) while the scheduler may swap it.
*/
#ifndef PUBLISHER_RESPONDER_H
#define PUBLISHER_RESPONDER_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>
#include "tessera/peer.h"
#include "tessera/v1/ca.pb-c.h"
#include "publisher_ocsp.h"

typedef struct _publisher_responder_t publisher_responder_t;

typedef struct {
    const char *directory;          //  created 0700 when missing
    const char *common_name;        //  the certificate's CN
    int level;                      //  RGS level 1..3 (the profile)
    long validity_days;             //  0: the ca's profile default
    long renew_days;                //  before notAfter (0: at two thirds of the lifetime)
} publisher_responder_config_t;

//  Loads the key (made and written when missing) and the certificate when
//  there is one. NULL with the reason in err (a key file that cannot be
//  read, or that others may read).
publisher_responder_t *publisher_responder_new (const publisher_responder_config_t *config,
                                                char *err, size_t err_size);
void publisher_responder_destroy (publisher_responder_t **self_p);

//  The issuing CA answered for (up-referenced; sha256 is its hex digest).
int publisher_responder_set_issuer (publisher_responder_t *self, X509 *issuer,
                                    const char *issuer_sha256);

//  True when a certificate must be requested now (none, not for this key or
//  issuer, or past its renewal time); why says which.
bool publisher_responder_due (publisher_responder_t *self, int64_t now, char *why,
                              size_t why_size);

//  Asks the ca for a certificate (a new key when the current one is
//  certified already) and installs it. 0, or -1 with the reason in err.
int publisher_responder_renew (publisher_responder_t *self, tsr_peer_t *ca,
                               const char *trace_id, char *err, size_t err_size);

//  A reference to the current signer, or -1 when there is none yet.
typedef struct {
    publisher_ocsp_signer_t signer;
    char issuer_sha256 [65];
} publisher_signer_ref_t;

int publisher_responder_acquire (publisher_responder_t *self, publisher_signer_ref_t *ref);
void publisher_responder_release (publisher_signer_ref_t *ref);

//  For the status reply and the metrics: 0 and the fields when a
//  certificate is installed, -1 otherwise.
typedef struct {
    char serial_hex [PUBLISHER_SERIAL_HEX_MAX + 1];
    char sha256 [65];
    int64_t not_after;
    int64_t renew_after;
} publisher_responder_info_t;

int publisher_responder_info (publisher_responder_t *self, publisher_responder_info_t *info);

#endif
