/*  validation_refusal: refusals in a transaction of their own (see
    validation_refusal.h).
*/
#include "validation_refusal.h"
#include "validation_lockout.h"
#include "validation_records.h"
#include "validation_state.h"
#include "tessera/log.h"

#include <stdio.h>

int
validation_refusal_record (tsr_call_t *call, const char *action, const char *subject,
                           tsr_json_t **json_p, const char *failed_account_id,
                           const char *client_address, const char *user_agent)
{
    validation_state_t *state = call->state;
    const char *trace_id = call->request->trace_id;
    char err [512] = "";
    int rc = -1;
    pthread_mutex_lock (&state->side_lock);
    if (!state->side_db)
        state->side_db = tsr_db_new (state->dsn, state->schema, err, sizeof err);
    tsr_db_t *db = state->side_db;
    if (db && tsr_db_begin (db) == 0
    &&  (!failed_account_id
         || validation_lockout_fail (state, db, failed_account_id, call->caller_key, trace_id,
                                     action, client_address, user_agent) == 0)
    &&  validation_audit (db, call->caller_key, action, subject, trace_id, json_p) == 0
    &&  tsr_db_commit (db) == 0)
        rc = 0;
    if (rc && db)
        tsr_db_rollback (db);
    if (rc)
        tsr_log_error (trace_id, "validation.refusal_not_recorded", "action", action,
                       "reason", db ? tsr_db_error (db) : err, NULL);
    pthread_mutex_unlock (&state->side_lock);
    tsr_json_destroy (json_p);
    return rc;
}
