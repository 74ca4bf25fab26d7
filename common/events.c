/*  tsr_events: outbox append and ListEvents (see events.h). The relay is in
    event_relay.c.
*/
#include "tessera/events.h"
#include "events_internal.h"
#include "tessera/bus.h"
#include "tessera/trace.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_type_valid (const char *type)
{
    size_t len = type ? strlen (type) : 0;
    if (len == 0 || len > TSR_EVENT_TYPE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((type [i] >= 'a' && type [i] <= 'z') || (type [i] >= '0' && type [i] <= '9')
              || type [i] == '.' || type [i] == '_'))
            return 0;
    return 1;
}

//  One statement, one round trip: the counter's row lock (held until the
//  transaction ends, so that seq grows in commit order) is taken as late as
//  the caller appends.
static const char s_append_sql [] =
    "WITH next AS (UPDATE outbox_counter SET last_seq = last_seq + 1 WHERE id"
    " RETURNING last_seq),"
    " added AS (INSERT INTO outbox (seq, type, subject, trace_id, payload)"
    " SELECT last_seq, $1::text, $2::text, $3::text, $4::bytea FROM next RETURNING seq)"
    " SELECT seq, pg_notify ('tsr_outbox_' || $5::text, seq::text) FROM added";

//  The append's values; false when the event cannot be appended.
static bool
s_values (tsr_db_t *db, const char *type, const char *subject, const char **trace_id,
          const uint8_t *payload, size_t payload_size, const char *values [5])
{
    if (!s_type_valid (type) || !tsr_db_in_transaction (db) || payload_size > INT32_MAX)
        return false;
    //  The event carries the trace id of the work that caused it, so the
    //  services following it log under the same one.
    *trace_id = tsr_trace_or_current (*trace_id);
    values [0] = type;
    values [1] = subject ? subject : "";
    values [2] = *trace_id ? *trace_id : "";
    values [3] = payload ? (const char *) payload : "";
    values [4] = tsr_db_schema (db);
    return true;
}

int
tsr_events_append (tsr_db_t *db, const char *type, const char *subject,
                   const char *trace_id, const uint8_t *payload, size_t payload_size,
                   uint64_t *seq)
{
    const char *values [5];
    if (!s_values (db, type, subject, &trace_id, payload, payload_size, values))
        return -1;
    int lengths [] = { 0, 0, 0, (int) payload_size, 0 };
    int formats [] = { 0, 0, 0, 1, 0 };
    PGresult *res = tsr_db_prepared_ex (db, s_append_sql, 5, values, lengths, formats, 0);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    if (seq)
        *seq = strtoull (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    return 0;
}

//  Events carry protobuf messages: packing each into its own buffer is done
//  here once, for every service's handlers.
int
tsr_events_append_message (tsr_db_t *db, const char *type, const char *subject,
                           const char *trace_id, const ProtobufCMessage *message,
                           uint64_t *seq)
{
    if (!message)
        return tsr_events_append (db, type, subject, trace_id, NULL, 0, seq);
    size_t size = 0;
    uint8_t *payload = tsr_message_pack (message, &size);
    if (!payload)
        return -1;
    int rc = tsr_events_append (db, type, subject, trace_id, payload, size, seq);
    free (payload);
    return rc;
}

int
tsr_events_append_at_commit (tsr_db_t *db, const char *type, const char *subject,
                             const char *trace_id, const uint8_t *payload, size_t payload_size)
{
    const char *values [5];
    if (!s_values (db, type, subject, &trace_id, payload, payload_size, values))
        return -1;
    int lengths [] = { 0, 0, 0, (int) payload_size, 0 };
    int formats [] = { 0, 0, 0, 1, 0 };
    return tsr_db_at_commit (db, s_append_sql, 5, values, lengths, formats);
}

int
tsr_events_from_rows (PGresult *res, const char *service, Tessera__V1__Event ***events_p,
                      size_t *count_p)
{
    int rows = PQntuples (res);
    Tessera__V1__Event **events = calloc ((size_t) rows + 1, sizeof *events);
    if (!events)
        return -1;
    for (int r = 0; r < rows; r++) {
        Tessera__V1__Event *event = calloc (1, sizeof *event);
        if (!event) {
            tsr_events_free (events, (size_t) r);
            return -1;
        }
        tessera__v1__event__init (event);
        events [r] = event;
        event->service = strdup (service);
        event->seq = strtoull (PQgetvalue (res, r, 0), NULL, 10);
        event->type = strdup (PQgetvalue (res, r, 1));
        event->subject = strdup (PQgetvalue (res, r, 2));
        event->trace_id = strdup (PQgetvalue (res, r, 3));
        size_t payload_size = 0;
        event->payload.data = PQunescapeBytea ((const unsigned char *) PQgetvalue (res, r, 4),
                                               &payload_size);
        event->payload.len = payload_size;
        event->occurred_at_unix_ms = strtoll (PQgetvalue (res, r, 5), NULL, 10);
        if (!event->service || !event->type || !event->subject || !event->trace_id
        ||  !event->payload.data) {
            tsr_events_free (events, (size_t) r + 1);
            return -1;
        }
    }
    *events_p = events;
    *count_p = (size_t) rows;
    return 0;
}

void
tsr_events_free (Tessera__V1__Event **events, size_t count)
{
    for (size_t i = 0; events && i < count; i++) {
        Tessera__V1__Event *event = events [i];
        if (!event)
            continue;
        free (event->service);
        free (event->type);
        free (event->subject);
        free (event->trace_id);
        PQfreemem (event->payload.data);
        free (event);
    }
    free (events);
}

int
tsr_events_list (tsr_db_t *db, const char *service, uint64_t after_seq, uint32_t limit,
                 uint8_t **reply, size_t *reply_size)
{
    if (limit == 0 || limit > TSR_EVENTS_LIST_MAX)
        limit = TSR_EVENTS_LIST_MAX;
    char after_text [24], limit_text [16];
    snprintf (after_text, sizeof after_text, "%" PRIu64, after_seq);
    snprintf (limit_text, sizeof limit_text, "%" PRIu32, limit);
    const char *values [] = { after_text, limit_text };
    PGresult *res = tsr_db_query (db, TSR_EVENTS_SELECT " WHERE seq > $1 ORDER BY seq LIMIT $2",
                                  2, values);
    PGresult *last = res ? tsr_db_query (db, "SELECT last_seq FROM outbox_counter WHERE id",
                                         0, NULL) : NULL;
    int rc = -1;
    Tessera__V1__Event **events = NULL;
    size_t count = 0;
    if (!res || !last || PQntuples (last) != 1
    ||  tsr_events_from_rows (res, service, &events, &count))
        goto done;
    Tessera__V1__ListEventsReply message = TESSERA__V1__LIST_EVENTS_REPLY__INIT;
    message.events = events;
    message.n_events = count;
    message.last_seq = strtoull (PQgetvalue (last, 0, 0), NULL, 10);
    *reply_size = tessera__v1__list_events_reply__get_packed_size (&message);
    *reply = malloc (*reply_size ? *reply_size : 1);
    if (!*reply)
        goto done;
    tessera__v1__list_events_reply__pack (&message, *reply);
    rc = 0;
done:
    tsr_events_free (events, count);
    PQclear (res);
    PQclear (last);
    return rc;
}
