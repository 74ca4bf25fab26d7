/*  perso_records: audit, events, helpers (see perso_records.h).
*/
#include "perso_records.h"
#include "tessera/audit.h"
#include "tessera/events.h"

#include <stdlib.h>

int
perso_audit (tsr_db_t *db, const char *actor, const char *action, const char *subject,
             const char *trace_id, tsr_json_t **json_p)
{
    return tsr_audit_append_json (db, actor, action, subject, trace_id, json_p);
}

int
perso_emit (tsr_db_t *db, const char *type, const char *subject, const char *trace_id,
            const ProtobufCMessage *message)
{
    return tsr_events_append_message (db, type, subject, trace_id, message, NULL);
}

void
perso_hex (const uint8_t *bytes, size_t size, char *hex)
{
    static const char digits [] = "0123456789abcdef";
    for (size_t i = 0; i < size; i++) {
        hex [2 * i] = digits [bytes [i] >> 4];
        hex [2 * i + 1] = digits [bytes [i] & 0x0F];
    }
    hex [2 * size] = 0;
}

int
perso_exec (tsr_db_t *db, const char *sql)
{
    PGresult *res = tsr_db_query (db, sql, 0, NULL);
    PQclear (res);
    return res ? 0 : -1;
}
