/*  publisher_http_ocsp: OCSP over HTTP (RFC 6960 appendix A): the POST
    body or the GET path in, an OCSPResponse out (see publisher_http.h).

    Each request borrows the current signer (the responder may be renewed
    meanwhile) and, at its first lookup, a database connection; both are
    given back before the answer is queued.
*/
#include "publisher_http_internal.h"
#include "publisher_ocsp.h"
#include "publisher_status.h"
#include "publisher_util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_OCSP_RESPONSE "application/ocsp-response"

typedef struct {
    publisher_dbpool_t *pool;
    tsr_db_t *db;
    uint64_t seen_seq;              //  the oldest cursor any lookup read with its status
} s_lookup_t;

static int
s_lookup (void *arg, const char *issuer_sha256, const char *serial_hex,
          publisher_cert_status_t *status)
{
    s_lookup_t *lookup = arg;
    if (!lookup->db)
        lookup->db = publisher_dbpool_acquire (lookup->pool);
    int rc = lookup->db ? publisher_status_lookup (lookup->db, issuer_sha256, serial_hex, status)
                        : -1;
    if (rc == 0 && status->seen_seq < lookup->seen_seq)
        lookup->seen_seq = status->seen_seq;
    return rc;
}

//  The latest ca event applied (set before its transaction commits): a
//  kept answer read before it is not served.
static uint64_t
s_applied_seq (publisher_state_t *state)
{
    pthread_mutex_lock (&state->lock);
    uint64_t seq = state->ca_event_seq;
    pthread_mutex_unlock (&state->lock);
    return seq;
}

static void
s_count (publisher_state_t *state, const publisher_ocsp_answer_t *answer)
{
    static const char *errors [] = { "successful", "malformed", "internal", "try_later", "", "",
                                     "unauthorized" };
    atomic_fetch_add (&state->ocsp_requests, 1);
    if (answer->outcome == PUBLISHER_OCSP_MALFORMED)
        atomic_fetch_add (&state->ocsp_malformed, 1);
    if (answer->outcome == PUBLISHER_OCSP_SUCCESSFUL) {
        tsr_counter_inc (state->metrics.ocsp_responses, "good", answer->good);
        tsr_counter_inc (state->metrics.ocsp_responses, "revoked", answer->revoked);
        tsr_counter_inc (state->metrics.ocsp_responses, "unknown", answer->unknown);
    }
    else
    if ((int) answer->outcome >= 0 && answer->outcome <= PUBLISHER_OCSP_UNAUTHORIZED)
        tsr_counter_inc (state->metrics.ocsp_responses, errors [answer->outcome], 1);
}

//  Queues the answer. A successful GET answer without a nonce is the same
//  for everyone until its nextUpdate: caches may keep it (RFC 5019 6.2).
static enum MHD_Result
s_send (publisher_state_t *state, struct MHD_Connection *connection,
        const publisher_ocsp_answer_t *answer, bool get)
{
    s_count (state, answer);
    if (!answer->der)
        return MHD_NO;
    if (!get || answer->nonce || answer->outcome != PUBLISHER_OCSP_SUCCESSFUL)
        return publisher_http_reply (connection, MHD_HTTP_OK, S_OCSP_RESPONSE, answer->der,
                                     answer->size, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store", NULL);
    int64_t now = (int64_t) time (NULL);
    long max_age = state->max_age_s;
    if (answer->next_update - now < max_age)
        max_age = answer->next_update > now ? (long) (answer->next_update - now) : 0;
    char cache_control [80], last_modified [32], expires [32], digest [65], etag [32];
    snprintf (cache_control, sizeof cache_control,
              "public, no-transform, must-revalidate, max-age=%ld", max_age);
    publisher_http_date (answer->this_update, last_modified);
    publisher_http_date (answer->next_update, expires);
    publisher_sha256_hex (answer->der, answer->size, digest);
    snprintf (etag, sizeof etag, "\"%.24s\"", digest);
    return publisher_http_reply (connection, MHD_HTTP_OK, S_OCSP_RESPONSE, answer->der,
                                 answer->size, MHD_HTTP_HEADER_CACHE_CONTROL, cache_control,
                                 MHD_HTTP_HEADER_LAST_MODIFIED, last_modified,
                                 MHD_HTTP_HEADER_EXPIRES, expires, MHD_HTTP_HEADER_ETAG, etag,
                                 NULL);
}

static enum MHD_Result
s_answer (publisher_http_t *self, struct MHD_Connection *connection, const uint8_t *der,
          size_t size, bool get)
{
    publisher_state_t *state = self->state;
    int64_t now = (int64_t) time (NULL);
    publisher_ocsp_answer_t answer;
    if (publisher_ocsp_cache_get (self->ocsp_cache, der, size, s_applied_seq (state), now,
                                  &answer)) {
        enum MHD_Result rc = s_send (state, connection, &answer, get);
        publisher_ocsp_answer_release (&answer);
        return rc;
    }
    publisher_signer_ref_t ref;
    bool signer = publisher_responder_acquire (state->responder, &ref) == 0;
    s_lookup_t lookup = { .pool = state->dbpool, .db = NULL, .seen_seq = UINT64_MAX };
    publisher_ocsp_respond (signer ? &ref.signer : NULL, s_lookup, &lookup, der, size, now,
                            state->ocsp_next_update_s, &answer);
    publisher_dbpool_release (state->dbpool, lookup.db);
    if (signer)
        publisher_responder_release (&ref);
    if (lookup.seen_seq != UINT64_MAX && lookup.seen_seq > 0)
        publisher_ocsp_cache_put (self->ocsp_cache, der, size, lookup.seen_seq, &answer);
    enum MHD_Result rc = s_send (state, connection, &answer, get);
    publisher_ocsp_answer_release (&answer);
    return rc;
}

static enum MHD_Result
s_error (publisher_http_t *self, struct MHD_Connection *connection,
         publisher_ocsp_outcome_t outcome)
{
    publisher_ocsp_answer_t answer;
    publisher_ocsp_error (outcome, &answer);
    enum MHD_Result rc = s_send (self->state, connection, &answer, false);
    publisher_ocsp_answer_release (&answer);
    return rc;
}

bool
publisher_http_ocsp_refuse_early (publisher_http_t *self, struct MHD_Connection *connection,
                                  publisher_http_upload_t *upload)
{
    tsr_counter_inc (self->state->metrics.http_requests, "ocsp", 1);
    const char *length = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!length || strtoull (length, NULL, 10) <= PUBLISHER_HTTP_DRAIN_MAX)
        return false;
    upload->answered = true;
    s_error (self, connection, PUBLISHER_OCSP_MALFORMED);
    return true;
}

enum MHD_Result
publisher_http_ocsp_post (publisher_http_t *self, struct MHD_Connection *connection,
                          publisher_http_upload_t *upload, const char *data, size_t *data_size)
{
    if (*data_size) {
        size_t size = *data_size;
        *data_size = 0;
        if (upload->answered)
            return MHD_YES;
        upload->seen += size;
        if (!upload->too_large && upload->size + size <= PUBLISHER_OCSP_REQUEST_MAX) {
            uint8_t *body = realloc (upload->body, upload->size + size);
            if (!body)
                return MHD_NO;
            memcpy (body + upload->size, data, size);
            upload->body = body;
            upload->size += size;
        }
        else {
            //  Too large: the rest is read and dropped, so the client gets
            //  its answer instead of a reset connection.
            upload->too_large = true;
            free (upload->body);
            upload->body = NULL;
            upload->size = 0;
        }
        if (upload->seen > PUBLISHER_HTTP_DRAIN_MAX) {
            upload->answered = true;
            return s_error (self, connection, PUBLISHER_OCSP_MALFORMED);
        }
        return MHD_YES;
    }
    if (upload->answered)
        return MHD_YES;
    upload->answered = true;
    if (upload->too_large || upload->size == 0)
        return s_error (self, connection, PUBLISHER_OCSP_MALFORMED);
    return s_answer (self, connection, upload->body, upload->size, false);
}

enum MHD_Result
publisher_http_ocsp_get (publisher_http_t *self, struct MHD_Connection *connection,
                         const char *encoded)
{
    tsr_counter_inc (self->state->metrics.http_requests, "ocsp", 1);
    uint8_t *der = NULL;
    size_t size = 0;
    if (publisher_ocsp_decode_get (encoded, &der, &size))
        return s_error (self, connection, PUBLISHER_OCSP_MALFORMED);
    enum MHD_Result rc = s_answer (self, connection, der, size, true);
    free (der);
    return rc;
}
