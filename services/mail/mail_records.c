/*  mail_records: audit, events, callers (see mail_records.h).
*/
#include "mail_records.h"
#include "mail_directory.h"
#include "mail_state.h"
#include "tessera/audit.h"
#include "tessera/events.h"
#include "tessera/roles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
mail_audit (tsr_db_t *db, const char *actor, const char *action, const char *subject,
            const char *trace_id, tsr_json_t **json_p)
{
    return tsr_audit_append_json (db, actor, action, subject, trace_id, json_p);
}

int
mail_emit (tsr_db_t *db, const char *type, const char *subject, const char *trace_id,
           const ProtobufCMessage *event)
{
    return tsr_events_append_message (db, type, subject, trace_id, event, NULL);
}

tsr_status_t
mail_caller_operator (tsr_call_t *call, char operator_id [MAIL_ID_MAX + 1])
{
    mail_state_t *state = call->state;
    if (!(call->caller_roles & ~TSR_ROLE_SERVICE)) {
        snprintf (operator_id, MAIL_ID_MAX + 1, "%s", call->caller_key);
        return TESSERA__V1__STATUS__STATUS_OK;
    }
    Tessera__V1__Operator *operator = NULL;
    char message [160] = "";
    tsr_status_t status = mail_directory_operator_by_key (
        state->enrollment, call->request->trace_id, call->caller_key, &operator, message,
        sizeof message);
    if (status == TESSERA__V1__STATUS__STATUS_NOT_FOUND)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED,
                              "your key is not an operator known to enrollment");
    if (status != TESSERA__V1__STATUS__STATUS_OK)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE,
                              "cannot identify the caller at enrollment (%.120s); retry",
                              message);
    const char *id = *operator->operator_id ? operator->operator_id : call->caller_key;
    if (strlen (id) > MAIL_ID_MAX)
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE,
                                "enrollment's operator id is too long");
    else
        snprintf (operator_id, MAIL_ID_MAX + 1, "%s", id);
    tessera__v1__operator__free_unpacked (operator, NULL);
    return status;
}

tsr_status_t
mail_peer_status (tsr_status_t status)
{
    return status == TESSERA__V1__STATUS__STATUS_NOT_FOUND
        || status == TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
        ? TESSERA__V1__STATUS__STATUS_NOT_FOUND : TESSERA__V1__STATUS__STATUS_UNAVAILABLE;
}

int64_t
mail_row_int (PGresult *res, int row, int column)
{
    return PQgetisnull (res, row, column) ? 0 : strtoll (PQgetvalue (res, row, column), NULL, 10);
}

bool
mail_row_bool (PGresult *res, int row, int column)
{
    return PQgetvalue (res, row, column) [0] == 't';
}
