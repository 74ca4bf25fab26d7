/*  revocation_apply: approved requests revoked in ca (see
    revocation_apply.h).
*/
#include "revocation_apply.h"
#include "revocation_archive.h"
#include "revocation_records.h"
#include "tessera/log.h"
#include "tessera/v1/ca.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK

int
revocation_apply_load (tsr_db_t *db, const char *revocation_id, int reason,
                       revocation_apply_t *apply)
{
    memset (apply, 0, sizeof *apply);
    snprintf (apply->revocation_id, sizeof apply->revocation_id, "%s", revocation_id);
    apply->reason = reason;
    const char *values [] = { revocation_id };
    PGresult *res = tsr_db_query (db,
        "SELECT serial_hex FROM revocation_serials WHERE revocation_id = $1"
        " AND applied_at IS NULL ORDER BY position", 1, values);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples (res) && apply->count < REVOCATION_SERIALS_MAX; i++)
        snprintf (apply->serials [apply->count++], REVOCATION_SERIAL_HEX_MAX + 1, "%s",
                  PQgetvalue (res, i, 0));
    PQclear (res);
    return 0;
}

//  After ca refused: is the certificate revoked (or on hold, for a hold)
//  already?
static bool
s_revoked_already (revocation_state_t *state, const char *serial_hex, int reason,
                   const char *trace_id)
{
    Tessera__V1__GetStatusRequest request = TESSERA__V1__GET_STATUS_REQUEST__INIT;
    request.serial_hex = (char *) serial_hex;
    Tessera__V1__CertificateStatus *status = NULL;
    char message [160];
    if (tsr_peer_call (state->ca, "GetStatus", &request.base,
                       &tessera__v1__certificate_status__descriptor, NULL, trace_id,
                       (ProtobufCMessage **) &status, message, sizeof message) != S_OK)
        return false;
    bool done = status->state == TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_REVOKED
             || (status->state == TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_ON_HOLD
                 && reason == TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_CERTIFICATE_HOLD);
    tessera__v1__certificate_status__free_unpacked (status, NULL);
    return done;
}

void
revocation_apply_ask (revocation_state_t *state, revocation_apply_t *apply, const char *trace_id)
{
    apply->message [0] = 0;
    //  Every certificate is tried, so one that ca refuses does not hold back
    //  the others; message keeps the last refusal.
    for (size_t i = 0; i < apply->count; i++) {
        const char *serial_hex = apply->serials [i];
        Tessera__V1__RevokeCertificateRequest request =
            TESSERA__V1__REVOKE_CERTIFICATE_REQUEST__INIT;
        request.serial_hex = (char *) serial_hex;
        request.reason = (Tessera__V1__RevocationReason) apply->reason;
        request.revocation_request_id = apply->revocation_id;
        char request_id [TSR_REQUEST_ID_MAX + 1];
        snprintf (request_id, sizeof request_id, "apply-%s-%s", apply->revocation_id, serial_hex);
        Tessera__V1__CertificateStatus *status = NULL;
        char reply_message [160] = "";
        tsr_status_t code = tsr_peer_call (
            state->ca, "RevokeCertificate", &request.base,
            &tessera__v1__certificate_status__descriptor, request_id, trace_id,
            (ProtobufCMessage **) &status, reply_message, sizeof reply_message);
        apply->outcomes [i] = NULL;
        if (code == S_OK) {
            tessera__v1__certificate_status__free_unpacked (status, NULL);
            apply->outcomes [i] = "revoked";
        }
        else
        if (code == TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
        &&  s_revoked_already (state, serial_hex, apply->reason, trace_id))
            apply->outcomes [i] = "revoked already";
        else
            snprintf (apply->message, sizeof apply->message, "ca: %s for %s: %.120s",
                      tsr_status_name (code), serial_hex, reply_message);
    }
}

//  One certificate done: its row and an audit row.
static int
s_record_one (tsr_db_t *db, const revocation_apply_t *apply, size_t index, const char *actor,
              const char *trace_id)
{
    const char *values [] = { apply->revocation_id, apply->serials [index],
                              apply->outcomes [index] };
    PGresult *res = tsr_db_query (db,
        "UPDATE revocation_serials SET applied_at = now(), ca_outcome = $3"
        " WHERE revocation_id = $1 AND serial_hex = $2", 3, values);
    PQclear (res);
    if (!res)
        return -1;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "revocation_id", apply->revocation_id);
    tsr_json_int (json, "reason", apply->reason);
    tsr_json_str (json, "ca_outcome", apply->outcomes [index]);
    return revocation_audit (db, actor, "revocation.certificate_revoked", apply->serials [index],
                             trace_id, &json);
}

int
revocation_apply_record (revocation_state_t *state, tsr_db_t *db, const revocation_apply_t *apply,
                         const char *actor, const char *trace_id)
{
    const char *id = apply->revocation_id;
    bool waiting = false;
    for (size_t i = 0; i < apply->count; i++) {
        if (!apply->outcomes [i])
            waiting = true;
        else
        if (s_record_one (db, apply, i, actor, trace_id))
            return -1;
    }
    const char *values [] = { id, apply->message };
    if (waiting) {
        PGresult *res = tsr_db_query (db, "UPDATE revocations SET last_apply_error = $2"
                                          " WHERE revocation_id = $1", 2, values);
        PQclear (res);
        tsr_log_warn (trace_id, "revocation.apply_waiting", "revocation_id", id, "reason",
                      apply->message, NULL);
        return res ? 0 : -1;
    }
    PGresult *res = tsr_db_query (db,
        "UPDATE revocations SET state = 3, applied_at = date_trunc('second', now()),"
        " last_apply_error = '' WHERE revocation_id = $1 AND state = 2", 1, values);
    bool updated = res && strcmp (PQcmdTuples (res), "1") == 0;
    PQclear (res);
    if (!updated
    ||  revocation_audit (db, actor, "revocation.applied", id, trace_id, NULL)
    ||  revocation_emit_change (db, "revocation.applied", trace_id, id)
    ||  revocation_archive (db, id, actor, trace_id))
        return -1;
    tsr_counter_inc (state->applied_counter, NULL, 1);
    tsr_log_info (trace_id, "revocation.applied", "revocation_id", id, NULL);
    return 1;
}
