/*  tsr_events: the transactional outbox of a service schema.

    tsr_events_append adds an event inside the caller's transaction; the
    sequence number comes from a counter row that stays locked until that
    transaction ends, so numbers are gapless and grow in commit order, and a
    rolled-back event takes its number with it. After commit, PostgreSQL's
    NOTIFY (delivered only on commit) wakes the relay, which publishes each
    event on the service's PUB socket as [type][Event] and marks it
    published. Subscribers that missed some call ListEvents(after_seq).
*/
#ifndef TSR_EVENTS_H
#define TSR_EVENTS_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>
#include "tessera/db.h"
#include "tessera/metrics.h"
#include "tessera/v1/events.pb-c.h"

#define TSR_EVENTS_LIST_MAX 1000
#define TSR_EVENT_TYPE_MAX 64

//  Inside an open transaction. type is a dotted name ([a-z0-9._], at most
//  TSR_EVENT_TYPE_MAX). payload may be NULL. trace_id NULL or "": the
//  thread's current one (tessera/trace.h). Returns 0 and the event's seq.
int tsr_events_append (tsr_db_t *db, const char *type, const char *subject,
                       const char *trace_id, const uint8_t *payload, size_t payload_size,
                       uint64_t *seq);
//  The same, sent with the transaction's COMMIT (tsr_db_at_commit): the
//  counter row is locked only through the commit. Its seq is not known
//  before; a failure then rolls the transaction back.
int tsr_events_append_at_commit (tsr_db_t *db, const char *type, const char *subject,
                                 const char *trace_id, const uint8_t *payload,
                                 size_t payload_size);
//  tsr_events_append with message packed as the payload (NULL: no payload);
//  -1 also when out of memory.
int tsr_events_append_message (tsr_db_t *db, const char *type, const char *subject,
                               const char *trace_id, const ProtobufCMessage *message,
                               uint64_t *seq);

//  Events with seq > after_seq, at most limit (capped at TSR_EVENTS_LIST_MAX),
//  as a packed ListEventsReply (caller frees *reply). 0, or -1.
int tsr_events_list (tsr_db_t *db, const char *service, uint64_t after_seq, uint32_t limit,
                     uint8_t **reply, size_t *reply_size);

//  The relay: an actor with its own database connection (LISTEN) and the
//  PUB socket, bound with CURVE as a server using cert (borrowed until the
//  actor is destroyed). zactor_destroy stops it. With metrics, it keeps
//  two gauges, measured once a second: tessera_outbox_backlog_events
//  (events committed but not yet published) and
//  tessera_outbox_oldest_age_seconds (how long the oldest of them has
//  waited; 0 when none).
typedef struct {
    const char *dsn;
    const char *schema;
    const char *service;
    const char *endpoint;
    zcert_t *cert;
    tsr_metrics_t *metrics;         //  may be NULL
} tsr_event_relay_args_t;

//  NULL when the database or the endpoint can not be reached.
zactor_t *tsr_event_relay_new (const tsr_event_relay_args_t *args);

#endif
