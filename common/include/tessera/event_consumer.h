/*  tsr_event_consumer: a service following another service's events, with
    nothing lost.

    An actor with its own database connection and a bus client to the
    source service. It reads the source's events with ListEvents(after =
    its cursor) every poll interval and whenever the source's PUB socket
    says something happened, and hands each event to the subscriber's apply
    function inside one transaction that also advances the cursor (table
    event_cursors, one row per source). An event is applied exactly once:
    a crash before the commit replays it, after the commit skips it. If
    apply fails (returns -1), the transaction is rolled back and the same
    event is tried again at the next poll; the events after it wait (order
    is kept).

    Services declare their subscriptions in tsr_service_definition_t; the
    source is found from TSR_<SOURCE>_ENDPOINT, TSR_<SOURCE>_PUB_ENDPOINT
    and TSR_<SOURCE>_CERT (defaults: tcp://127.0.0.1:71NN, :72NN and
    $TSR_KEYRING_DIR/<source>.cert).
*/
#ifndef TSR_EVENT_CONSUMER_H
#define TSR_EVENT_CONSUMER_H

#include <czmq.h>
#include "tessera/db.h"
#include "tessera/v1/events.pb-c.h"

//  Inside the consumer's transaction: apply the event's effect with db.
//  Returns 0 (done, the cursor moves on), or -1 (try again later).
//  Events of types the subscriber does not care about: return 0.
typedef int (tsr_event_apply_fn) (void *state, tsr_db_t *db, const Tessera__V1__Event *event);

typedef struct {
    const char *source;             //  the service followed, e.g. "validation"
    tsr_event_apply_fn *apply;
} tsr_event_subscription_t;

typedef struct {
    const char *source;
    const char *endpoint;           //  the source's bus endpoint (ListEvents)
    const char *pub_endpoint;       //  its PUB endpoint (wake-ups)
    const char *source_public_key;  //  Z85
    zcert_t *cert;                  //  ours (borrowed)
    const char *dsn;                //  our database
    const char *schema;
    tsr_event_apply_fn *apply;
    void *state;                    //  passed to apply
    int poll_interval_ms;           //  0: 1000
} tsr_event_consumer_args_t;

//  Starts the consumer (args borrowed for its life). NULL on failure.
zactor_t *tsr_event_consumer_new (const tsr_event_consumer_args_t *args);

#endif
