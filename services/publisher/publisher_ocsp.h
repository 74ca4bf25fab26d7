/*  publisher_ocsp: RFC 6960 OCSP answers, from request DER to response DER.

    Pure: no database, no network, no clock of its own. The caller gives
    the signer (the issuing CA it answers for, the delegated responder
    certificate and its key), a status lookup and the time; the module
    decodes the request, checks it, asks the lookup for each certificate and
    signs a basic response (SHA-256, the responder certificate included,
    responderID by name). Used by the HTTP endpoint, the unit tests and the
    fuzz target alike.

    Answers, by what the request is:
    - not one DER OCSPRequest filling the body, no or more than
      PUBLISHER_OCSP_CERTS_MAX certificates, or a nonce outside 1..32 octets
      (RFC 8954): malformedRequest;
    - a CertID for another issuer, or one hashed with a digest OpenSSL does
      not know: unauthorized (this responder is not authoritative);
    - no signer yet (the responder certificate is not issued): tryLater;
    - the status store cannot answer: tryLater;
    - otherwise successful, one SingleResponse per CertID: good, revoked
      (revocationTime and the reason, unless unspecified), certificateHold
      for a certificate on hold, unknown for a serial never seen. thisUpdate
      is now, nextUpdate now + next_update_s (never past the responder
      certificate's notAfter). The request's nonce is echoed.
*/
#ifndef PUBLISHER_OCSP_H
#define PUBLISHER_OCSP_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PUBLISHER_OCSP_REQUEST_MAX (64 * 1024)
#define PUBLISHER_OCSP_CERTS_MAX 16
#define PUBLISHER_OCSP_NONCE_MAX 32
#define PUBLISHER_SERIAL_HEX_MAX 40

typedef enum {
    PUBLISHER_CERT_UNKNOWN = 0,
    PUBLISHER_CERT_GOOD = 1,        //  the values of CertificateState
    PUBLISHER_CERT_REVOKED = 2,
    PUBLISHER_CERT_ON_HOLD = 3,
} publisher_cert_state_t;

typedef struct {
    publisher_cert_state_t state;
    int rfc_reason;                 //  RFC 5280 CRLReason code, -1 when none
    int64_t revoked_at;             //  unix seconds
    uint64_t seen_seq;              //  the ca event cursor the lookup read with it (the
                                    //  cache's freshness; 0 when the store does not say)
} publisher_cert_status_t;

//  Fills *status for serial_hex (lower-case hex of the serial's magnitude)
//  of the issuer; state UNKNOWN when never seen. Returns 0, or -1 when the
//  store cannot answer now.
typedef int (publisher_status_lookup_fn) (void *arg, const char *issuer_sha256,
                                          const char *serial_hex,
                                          publisher_cert_status_t *status);

//  What the responder signs with (all borrowed).
typedef struct {
    X509 *issuer;                   //  the issuing CA answered for
    const char *issuer_sha256;      //  hex SHA-256 of its DER
    X509 *responder;                //  id-kp-OCSPSigning, issued by issuer
    EVP_PKEY *key;                  //  the responder certificate's key
} publisher_ocsp_signer_t;

typedef enum {
    PUBLISHER_OCSP_SUCCESSFUL = 0,
    PUBLISHER_OCSP_MALFORMED = 1,   //  the OCSPResponseStatus values
    PUBLISHER_OCSP_INTERNAL = 2,
    PUBLISHER_OCSP_TRY_LATER = 3,
    PUBLISHER_OCSP_UNAUTHORIZED = 6,
} publisher_ocsp_outcome_t;

typedef struct {
    uint8_t *der;                   //  the OCSPResponse (malloc), NULL only out of memory
    size_t size;
    publisher_ocsp_outcome_t outcome;
    bool nonce;                     //  the request had a nonce (echoed)
    int64_t this_update;            //  successful answers: the window they hold for
    int64_t next_update;
    unsigned good, revoked, unknown;
} publisher_ocsp_answer_t;

//  Answers request (request_size bytes of DER). signer NULL: tryLater.
//  Fills answer; release it with publisher_ocsp_answer_release.
void publisher_ocsp_respond (const publisher_ocsp_signer_t *signer,
                             publisher_status_lookup_fn *lookup, void *lookup_arg,
                             const uint8_t *request, size_t request_size, int64_t now,
                             long next_update_s, publisher_ocsp_answer_t *answer);

//  An unsigned error response (malformedRequest, internalError, tryLater,
//  unauthorized) into answer.
void publisher_ocsp_error (publisher_ocsp_outcome_t outcome, publisher_ocsp_answer_t *answer);

void publisher_ocsp_answer_release (publisher_ocsp_answer_t *answer);

//  The GET form (RFC 6960 A.1): text is what follows "/ocsp/" in the path,
//  base64 of the DER, possibly still URL-encoded (%2B %2F %3D), with '+'
//  possibly turned into ' ' by a lax client. Returns the DER (malloc, at
//  most PUBLISHER_OCSP_REQUEST_MAX bytes) in *der, or -1 when text is not
//  such base64.
int publisher_ocsp_decode_get (const char *text, uint8_t **der, size_t *der_size);

//  Lower-case hex of a positive serial's magnitude (what the ca stores),
//  or -1 (negative, zero, or longer than 20 octets).
int publisher_serial_hex (const ASN1_INTEGER *serial, char out [PUBLISHER_SERIAL_HEX_MAX + 1]);

#endif
