/*  publisher_publish: one publication of the current issuer's CRLs.

    For each CRL: read how far the ca's events are applied (every status
    change up to there is committed at the ca, so the CRL covers it), ask
    the ca to sign (SignCrl, with the delta's base), check what came back
    (our issuer's name and signature, the number the reply says, a number
    above every one published before, the delta's base), then record it in
    one transaction with its "crl.published" event and audit record, and
    serve it: the moment it enters the HTTP cache, right after the commit,
    is its publication time.

    A delta's base is the oldest full CRL still within its nextUpdate, so
    any valid full CRL a relying party holds can take the delta. A full
    publication is always followed by a delta, so the freshest CRL is never
    older than the full one.

    Run by the scheduler thread only (one publication at a time).
*/
#ifndef PUBLISHER_PUBLISH_H
#define PUBLISHER_PUBLISH_H

#include "publisher_state.h"
#include "publisher_store.h"
#include "tessera/envelope.h"

//  Publishes a full CRL (when full) then a delta (when delta) for the
//  issuer. actor: who asked (a CURVE key; the publisher's own for the
//  schedule). pending_since_ms: the oldest revocation the full CRL covers
//  (0: none), for the revocation delay metric. rows receives what was
//  published (*count of them, at most 2). Returns STATUS_OK, or the
//  failure's status with message.
tsr_status_t publisher_publish (publisher_state_t *state, tsr_db_t *db, const char *issuer_sha256,
                                X509 *issuer, int trigger, bool full, bool delta,
                                const char *actor, const char *trace_id, int64_t pending_since_ms,
                                publisher_crl_row_t rows [2], size_t *count, char *message,
                                size_t message_size);

//  Serves the latest full and delta CRLs the database holds for the issuer
//  (at start, before any publication of this process). 0, or -1.
int publisher_publish_load (publisher_state_t *state, tsr_db_t *db, const char *issuer_sha256);

//  The name of a CrlTrigger, for logs and metrics.
const char *publisher_trigger_name (int trigger);

#endif
