/*  publisher_scheduler: the publisher's own thread, which does everything
    that needs the ca.

    Each turn (at least once a second, at once when woken):
    1. until the issuing CA is known, asks the ca for it (GetCaCertificates)
       and records it; then serves the CRLs the database already holds;
    2. gets the OCSP responder certificate when there is none or it is due
       for renewal (publisher_responder);
    3. runs an operator's PublishNow, if one waits;
    4. plans (publisher_plan) and publishes what is due (publisher_publish);
    5. updates the view (GetPublicationStatus) and the gauges: readiness,
       staleness, CRL ages, how long a revocation has waited.

    A failure (the ca down or its key inactive) is retried after
    TSR_PUBLISHER_RETRY_S; meanwhile the OCSP endpoint answers tryLater and
    the CRL URLs 503 until there is something to serve.
*/
#ifndef PUBLISHER_SCHEDULE_H
#define PUBLISHER_SCHEDULE_H

#include "publisher_state.h"
#include "publisher_store.h"
#include "tessera/envelope.h"

//  Starts the thread. NULL with the reason in err.
publisher_scheduler_t *publisher_scheduler_new (publisher_state_t *state, char *err,
                                                size_t err_size);
//  Stops the thread (after the turn in progress) and frees.
void publisher_scheduler_destroy (publisher_scheduler_t **self_p);

//  Something changed (a revocation applied, the ca's key activated): take
//  a turn now. Safe from any thread; self may be NULL.
void publisher_scheduler_wake (publisher_scheduler_t *self);

//  Publishes now, outside the schedule (full: a full CRL and its delta;
//  otherwise a delta only), as actor (audited), and waits up to timeout_ms
//  for it. Returns STATUS_OK with the CRLs in rows (*count), or the
//  failure's status with message.
tsr_status_t publisher_scheduler_publish_now (publisher_scheduler_t *self, bool full,
                                              const char *actor, const char *trace_id,
                                              int timeout_ms, publisher_crl_row_t rows [2],
                                              size_t *count, char *message, size_t message_size);

#endif
