/*  publisher_ocsp_cache: signed OCSP answers kept for the requests that
    asked for them, so that a repeated request costs neither a database
    lookup nor a signature (RFC 5019's pre-produced responses).

    Only answers that are the same for everyone are kept: successful,
    without a nonce, and with no unknown certificate. The key is the
    request's DER itself (up to PUBLISHER_OCSP_CACHE_KEY_MAX bytes), in a
    fixed table of slots (a new answer takes its slot's place), each slot
    with its own lock: memory stays bounded whatever the requests.

    An answer is served until the sooner of its thisUpdate plus the cache's
    lifetime and its nextUpdate, and only while no status change came after
    it: each answer carries the ca event cursor that the status lookup read
    in the same snapshot (seen_seq), and the caller passes the latest event
    the publisher has applied (min_seq, set before that event's transaction
    commits). An answer read before a revocation committed has a seen_seq
    below the revocation's event, so it is never served once the revocation
    is applied.
*/
#ifndef PUBLISHER_OCSP_CACHE_H
#define PUBLISHER_OCSP_CACHE_H

#include "publisher_ocsp.h"

#define PUBLISHER_OCSP_CACHE_KEY_MAX 1024

typedef struct _publisher_ocsp_cache_t publisher_ocsp_cache_t;

//  slots: 1 to 1 << 20; lifetime_s: 1 to 86400. NULL out of memory or
//  out of bounds.
publisher_ocsp_cache_t *publisher_ocsp_cache_new (size_t slots, long lifetime_s);
void publisher_ocsp_cache_destroy (publisher_ocsp_cache_t **self_p);

//  true when an answer for request is kept, still fresh at now and seen at
//  or after min_seq: *answer is a copy (release it as usual).
bool publisher_ocsp_cache_get (publisher_ocsp_cache_t *self, const uint8_t *request,
                               size_t size, uint64_t min_seq, int64_t now,
                               publisher_ocsp_answer_t *answer);

//  Keeps a copy of answer for request when it may be kept (see above).
void publisher_ocsp_cache_put (publisher_ocsp_cache_t *self, const uint8_t *request,
                               size_t size, uint64_t seen_seq,
                               const publisher_ocsp_answer_t *answer);

#endif
