/*  Shared by events.c and event_relay.c: reading outbox rows into Event
    messages. Not part of the public API.
*/
#ifndef TSR_EVENTS_INTERNAL_H
#define TSR_EVENTS_INTERNAL_H

#include "tessera/events.h"

#define TSR_EVENTS_SELECT \
    "SELECT seq, type, subject, trace_id, payload," \
    " (extract(epoch FROM occurred_at) * 1000)::bigint FROM outbox"

int tsr_events_from_rows (PGresult *res, const char *service, Tessera__V1__Event ***events,
                          size_t *count);
void tsr_events_free (Tessera__V1__Event **events, size_t count);

#endif
