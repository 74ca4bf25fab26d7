/*  publisher_http: the public endpoint relying parties use
    (libmicrohttpd, TSR_PUBLISH_ADDRESS:TSR_PUBLISH_PORT, default
    127.0.0.1:8207; common's tsr_http keeps the service's 81NN port for
    /healthz, /readyz and /metrics).

    GET|HEAD /crl/<issuer>.crl        the latest full CRL (application/pkix-crl)
    GET|HEAD /crl/<issuer>-delta.crl  the latest delta CRL
    GET|HEAD /ca/<issuer>.crt         the issuing CA's certificate (application/pkix-cert)
    GET|HEAD /ca/root.crt             its root
    POST     /ocsp                    OCSP (application/ocsp-request, RFC 6960)
    GET      /ocsp/<base64 DER>       OCSP, the GET form (RFC 6960 A.1)

    <issuer> is "issuing" (the current issuing CA) or the first 16 hex
    digits of its certificate's SHA-256. CRLs carry Last-Modified
    (thisUpdate), Expires (nextUpdate), an ETag (If-None-Match gives 304)
    and Cache-Control: public, max-age up to TSR_PUBLISHER_HTTP_MAX_AGE_S
    and never past nextUpdate. Before there is anything to serve: 503 with
    Retry-After.

    An OCSP body over 64 KiB is read and dropped (up to 4 MiB; a larger
    Content-Length is answered at once, a chunked body past it loses its
    connection) and answered malformedRequest; every OCSPResponse, error or
    not, goes with HTTP 200 and application/ocsp-response. A GET answer
    without a nonce may be cached until its nextUpdate (RFC 5019).
*/
#ifndef PUBLISHER_HTTP_H
#define PUBLISHER_HTTP_H

#include <stdint.h>
#include "publisher_state.h"

//  Starts serving (the state is borrowed and must outlive the endpoint).
//  NULL with the reason in err.
publisher_http_t *publisher_http_new (publisher_state_t *state, char *err, size_t err_size);
void publisher_http_destroy (publisher_http_t **self_p);
//  The port bound.
uint16_t publisher_http_port (publisher_http_t *self);

#endif
