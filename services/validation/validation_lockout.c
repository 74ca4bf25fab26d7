/*  validation_lockout: failure counting and locks (see validation_lockout.h).
*/
#include "validation_lockout.h"
#include "validation_records.h"
#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>

int
validation_lockout_fail (validation_state_t *state, tsr_db_t *db, const char *account_id,
                         const char *actor, const char *trace_id, const char *why,
                         const char *client_address, const char *user_agent)
{
    char max [16], lockout [24];
    snprintf (max, sizeof max, "%ld", state->login_max_failures);
    snprintf (lockout, sizeof lockout, "%ld", state->lockout_s);
    const char *values [] = { account_id, max, lockout };
    PGresult *res = tsr_db_query (db,
        "UPDATE holder_accounts SET failed_logins = failed_logins + 1,"
        " locked_until = CASE WHEN failed_logins + 1 >= $2::int"
        "                THEN now() + $3::bigint * interval '1 second' ELSE locked_until END"
        " WHERE account_id = $1"
        " RETURNING failed_logins, failed_logins >= $2::int,"
        " coalesce(extract(epoch FROM locked_until)::bigint, 0)", 3, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    long failures = strtol (PQgetvalue (res, 0, 0), NULL, 10);
    bool locked = PQgetvalue (res, 0, 1) [0] == 't';
    int64_t locked_until = strtoll (PQgetvalue (res, 0, 2), NULL, 10);
    PQclear (res);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "reason", why);
    tsr_json_int (json, "failed_logins", failures);
    tsr_json_str (json, "client_address", client_address);
    tsr_json_str (json, "user_agent", user_agent);
    if (validation_audit (db, actor, "validation.login_failed", account_id, trace_id, &json))
        return -1;
    if (!locked)
        return 0;
    json = tsr_json_new ();
    tsr_json_int (json, "failed_logins", failures);
    tsr_json_int (json, "locked_until_unix", locked_until);
    if (validation_audit (db, actor, "validation.account_locked", account_id, trace_id, &json)
    ||  validation_emit_account (db, "account.locked", trace_id, account_id))
        return -1;
    tsr_log_warn (trace_id, "validation.account_locked", "account_id", account_id, NULL);
    return 0;
}

int
validation_lockout_clear_expired (tsr_db_t *db, const char *account_id)
{
    const char *values [] = { account_id };
    PGresult *res = tsr_db_query (db,
        "UPDATE holder_accounts SET failed_logins = 0, locked_until = NULL"
        " WHERE account_id = $1 AND locked_until <= now()", 1, values);
    int rc = res ? 0 : -1;
    PQclear (res);
    return rc;
}
