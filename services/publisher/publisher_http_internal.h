/*  publisher_http_internal: what the public endpoint's two files share
    (publisher_http.c routes and serves CRLs and certificates;
    publisher_http_ocsp.c reads OCSP requests and answers them).
*/
#ifndef PUBLISHER_HTTP_INTERNAL_H
#define PUBLISHER_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "publisher_http.h"
#include "publisher_ocsp_cache.h"

//  A POST body is kept up to the OCSP request bound; past it, it is read
//  and dropped up to this much, then the connection is closed.
#define PUBLISHER_HTTP_DRAIN_MAX (4 * 1024 * 1024)

struct _publisher_http_t {
    struct MHD_Daemon *daemon;
    publisher_state_t *state;
    uint16_t port;
    publisher_ocsp_cache_t *ocsp_cache;     //  signed answers per request
};

//  One POST /ocsp being read.
typedef struct {
    uint8_t *body;
    size_t size;                    //  kept
    size_t seen;                    //  received
    bool too_large;
    bool answered;
} publisher_http_upload_t;

//  Queues a response with a copy of body and the headers (name, value
//  pairs ending with NULL).
enum MHD_Result publisher_http_reply (struct MHD_Connection *connection, unsigned int status,
                                      const char *content_type, const void *body, size_t size,
                                      ...) __attribute__ ((sentinel));

//  POST /ocsp: takes a piece of the body (upload_data_size > 0) or, at
//  the end, answers.
enum MHD_Result publisher_http_ocsp_post (publisher_http_t *self, struct MHD_Connection *connection,
                                          publisher_http_upload_t *upload, const char *data,
                                          size_t *data_size);

//  At the headers of POST /ocsp: answers at once (malformedRequest) when
//  the announced body is beyond any bound. true when it answered.
bool publisher_http_ocsp_refuse_early (publisher_http_t *self, struct MHD_Connection *connection,
                                       publisher_http_upload_t *upload);

//  GET /ocsp/<base64>.
enum MHD_Result publisher_http_ocsp_get (publisher_http_t *self, struct MHD_Connection *connection,
                                         const char *encoded);

#endif
