/*  enrollment_calls: shared by the registry's handlers (see
    enrollment_calls.h).
*/
#include "enrollment_calls.h"

#include "tessera/audit.h"
#include "tessera/events.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tsr_status_t
enrollment_caller_operator (tsr_call_t *call, char id [ENROLLMENT_OPERATOR_ID_MAX])
{
    const char *values [] = { call->caller_key };
    PGresult *res = tsr_db_query (call->db,
        "SELECT operator_id FROM operators WHERE public_key = $1", 1, values);
    tsr_status_t status = ENROLLMENT_OK;
    if (!res)
        status = enrollment_db_failed (call, "read the operators");
    else
    if (PQntuples (res) != 1 || PQgetlength (res, 0, 0) >= ENROLLMENT_OPERATOR_ID_MAX)
        status = tsr_call_fail (call, ENROLLMENT_DENIED, "the caller's key is not an operator's");
    else
        snprintf (id, ENROLLMENT_OPERATOR_ID_MAX, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    return status;
}

int
enrollment_operator_exists (tsr_db_t *db, const char *id)
{
    const char *values [] = { id };
    PGresult *res = tsr_db_query (db, "SELECT 1 FROM operators WHERE operator_id = $1", 1, values);
    if (!res)
        return -1;
    int exists = PQntuples (res) > 0;
    PQclear (res);
    return exists;
}

int
enrollment_record (tsr_db_t *db, const char *actor, const char *trace_id, const char *action,
                   const char *subject, const char *details, const char *event_type,
                   const ProtobufCMessage *payload)
{
    if (tsr_audit_append (db, actor, action, subject, trace_id, details))
        return -1;
    return tsr_events_append_message (db, event_type, subject, trace_id, payload, NULL);
}

tsr_status_t
enrollment_db_failed (tsr_call_t *call, const char *what)
{
    return tsr_call_fail (call, ENROLLMENT_UNAVAILABLE, "cannot %s", what);
}
