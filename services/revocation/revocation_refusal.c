/*  revocation_refusal: refusals in a transaction of their own (see
    revocation_refusal.h).
*/
#include "revocation_refusal.h"
#include "revocation_records.h"
#include "revocation_state.h"
#include "tessera/log.h"

#include <stdio.h>

tsr_status_t
revocation_refuse (tsr_call_t *call, tsr_status_t status, const char *why, const char *subject,
                   tsr_json_t **json_p, const char *message)
{
    revocation_state_t *state = call->state;
    const char *trace_id = call->request->trace_id;
    tsr_json_t *json = *json_p ? *json_p : tsr_json_new ();
    *json_p = NULL;
    tsr_json_str (json, "method", call->request->method);
    tsr_json_str (json, "request_id", call->request->request_id);
    tsr_json_str (json, "why", why);
    tsr_json_str (json, "status", tsr_status_name (status));
    char err [512] = "";
    int rc = -1;
    pthread_mutex_lock (&state->side_lock);
    if (!state->side_db)
        state->side_db = tsr_db_new (state->dsn, state->schema, err, sizeof err);
    tsr_db_t *db = state->side_db;
    if (db && tsr_db_begin (db) == 0
    &&  revocation_audit (db, call->caller_key, "revocation.refused", subject, trace_id,
                          &json) == 0
    &&  tsr_db_commit (db) == 0)
        rc = 0;
    if (rc && db)
        tsr_db_rollback (db);
    if (rc)
        tsr_log_error (trace_id, "revocation.refusal_not_recorded", "why", why,
                       "reason", db ? tsr_db_error (db) : err, NULL);
    pthread_mutex_unlock (&state->side_lock);
    tsr_json_destroy (&json);
    tsr_log_warn (trace_id, "revocation.refused", "caller", call->caller_key, "method",
                  call->request->method, "why", why, "subject", subject, NULL);
    return tsr_call_fail (call, status, "%s", message);
}
