/*  revocation_lockout: failures and locks of the phone channel (see
    revocation_lockout.h).
*/
#include "revocation_lockout.h"
#include "revocation_input.h"
#include "tessera/v1/revocation.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
revocation_phone_status (revocation_state_t *state, tsr_db_t *db, const char *person_id,
                         revocation_phone_status_t *out)
{
    memset (out, 0, sizeof *out);
    char window [24], lock_s [24];
    snprintf (window, sizeof window, "%ld", state->phone_window_s);
    snprintf (lock_s, sizeof lock_s, "%ld", state->phone_lock_s);
    const char *values [] = { person_id, window, lock_s };
    PGresult *res = tsr_db_query (db,
        "WITH p AS (SELECT"
        "  (SELECT max(attempted_at) FROM phone_attempts WHERE person_id = $1 AND passed)"
        "    AS last_pass,"
        "  (SELECT max(attempted_at) FROM phone_attempts WHERE person_id = $1 AND locked)"
        "    + $3::bigint * interval '1 second' AS lock_end)"
        " SELECT (SELECT count(*) FROM phone_attempts a WHERE a.person_id = $1 AND NOT a.passed"
        "         AND a.attempted_at > greatest(p.last_pass,"
        "                                       CASE WHEN p.lock_end <= now() THEN p.lock_end END,"
        "                                       now() - $2::bigint * interval '1 second')),"
        "        coalesce(p.lock_end > now(), false),"
        "        coalesce(extract(epoch FROM p.lock_end)::bigint, 0)"
        " FROM p", 3, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    out->failed_attempts = (uint32_t) strtoul (PQgetvalue (res, 0, 0), NULL, 10);
    out->locked = PQgetvalue (res, 0, 1) [0] == 't';
    out->locked_until_unix = out->locked ? strtoll (PQgetvalue (res, 0, 2), NULL, 10) : 0;
    PQclear (res);
    return 0;
}

int
revocation_phone_serialise (tsr_db_t *db, const char *person_id)
{
    const char *values [] = { person_id };
    PGresult *res = tsr_db_query (db,
        "SELECT pg_advisory_xact_lock(hashtextextended('revocation.phone/' || $1, 0))", 1,
        values);
    PQclear (res);
    return res ? 0 : -1;
}

int
revocation_phone_attempt (revocation_state_t *state, tsr_db_t *db,
                          const revocation_attempt_t *attempt, revocation_phone_status_t *after,
                          bool *locked_now)
{
    *locked_now = false;
    revocation_phone_status_t before;
    if (revocation_phone_status (state, db, attempt->person_id, &before))
        return -1;
    bool lock = !attempt->passed
             && before.failed_attempts + 1 >= (uint32_t) state->phone_max_failures;
    char asked [12];
    snprintf (asked, sizeof asked, "%u", attempt->questions_asked);
    const char *values [] = { attempt->challenge_id, attempt->person_id,
                              attempt->holder_person_id, attempt->operator_id,
                              attempt->operator_key, asked, attempt->passed ? "true" : "false",
                              lock ? "true" : "false" };
    PGresult *res = tsr_db_query (db,
        "INSERT INTO phone_attempts (challenge_id, person_id, holder_person_id, operator_id,"
        " operator_key, questions_asked, passed, locked)"
        " VALUES ($1, $2, $3, $4, $5, $6::smallint, $7::boolean, $8::boolean)", 8, values);
    PQclear (res);
    if (!res || revocation_phone_status (state, db, attempt->person_id, after))
        return -1;
    *locked_now = lock;
    return 0;
}

tsr_status_t
revocation_handle_phone_status (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__GetPhoneChannelStatusRequest *request =
        (Tessera__V1__GetPhoneChannelStatusRequest *) tsr_call_unpack (
            call, &tessera__v1__get_phone_channel_status_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status;
    revocation_phone_status_t phone;
    if (!revocation_id_valid (request->person_id))
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT,
                                "person_id must be 1 to %d of [A-Za-z0-9._:-]", REVOCATION_ID_MAX);
    else
    if (revocation_phone_status (call->state, call->db, request->person_id, &phone))
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE,
                                "cannot read the phone attempts");
    else {
        Tessera__V1__PhoneChannelStatus reply = TESSERA__V1__PHONE_CHANNEL_STATUS__INIT;
        reply.person_id = request->person_id;
        reply.failed_attempts = phone.failed_attempts;
        reply.locked_until_unix = phone.locked_until_unix;
        status = tsr_call_reply (call, &reply.base, phone.locked ? "phone channel locked"
                                                                 : "phone channel open");
    }
    tessera__v1__get_phone_channel_status_request__free_unpacked (request, NULL);
    return status;
}
