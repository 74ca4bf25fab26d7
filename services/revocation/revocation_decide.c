/*  DecideRevocation: the revocation operator approves or rejects a request
    made by phone or paper form.

    Only a pending request is decided, once (the row is locked for the
    decision; a request decided meanwhile is refused). The reason may be
    changed by the decision (NOT_SET keeps the requested one), under the
    same rules as a request's. A rejection needs a note and is archived at
    once. An approval is applied in ca in the same call (revocation_apply.h)
    and archived; should ca not take it now, it stays approved and the
    timer applies it. Whether the decision came after the deadline is in
    the audit row.
*/
#include "revocation_apply.h"
#include "revocation_archive.h"
#include "revocation_checks.h"
#include "revocation_handlers.h"
#include "revocation_policy.h"
#include "revocation_records.h"
#include "revocation_state.h"
#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

static const char *s_states [] = { "unspecified", "pending", "approved", "applied", "rejected" };

//  Every bound of the request that needs no database.
tsr_status_t
revocation_decide_check (tsr_call_t *call, const Tessera__V1__DecideRevocationRequest *request)
{
    if (!revocation_id_valid (request->revocation_id))
        return tsr_call_fail (call, S_INVALID, "revocation_id must be 1 to %d of "
                              "[A-Za-z0-9._:-]", REVOCATION_ID_MAX);
    const char *refusal = request->reason
        ? revocation_reason_refusal (request->reason, REVOCATION_CHANNEL_PHONE) : NULL;
    if (refusal)
        return tsr_call_fail (call, S_INVALID, "reason %s", refusal);
    if (!revocation_text_valid (request->note, request->approve ? 0 : 1,
                                REVOCATION_STATEMENT_MAX))
        return tsr_call_fail (call, S_INVALID, "note must be %s%d printable characters",
                              request->approve ? "at most " : "given when rejecting: 1 to ",
                              REVOCATION_STATEMENT_MAX);
    return S_OK;
}

//  Locks the request; it must be pending. *requested_reason and *overdue
//  as stored.
static tsr_status_t
s_lock_pending (tsr_call_t *call, const char *revocation_id, int *requested_reason,
                bool *overdue)
{
    const char *values [] = { revocation_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT state, channel, requested_reason, deadline_at < now() FROM revocations"
        " WHERE revocation_id = $1 FOR UPDATE", 1, values);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the revocation requests");
    tsr_status_t status = S_OK;
    if (PQntuples (res) != 1)
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                "revocation_id: no revocation request %s", revocation_id);
    else {
        long state = strtol (PQgetvalue (res, 0, 0), NULL, 10);
        if (state != REVOCATION_STATE_PENDING)
            status = tsr_call_fail (call, S_PRECONDITION, "revocation request %s is %s: a "
                                    "decision is made once", revocation_id,
                                    s_states [state >= 1 && state <= 4 ? state : 0]);
        *requested_reason = (int) strtol (PQgetvalue (res, 0, 2), NULL, 10);
        *overdue = PQgetvalue (res, 0, 3) [0] == 't';
    }
    PQclear (res);
    return status;
}

//  The decision's rows, audit row and event; then the archive (rejected)
//  or what ca answered (approved). *text is the reply's message.
static tsr_status_t
s_record (tsr_call_t *call, const Tessera__V1__DecideRevocationRequest *request,
          const char *operator_id, int requested_reason, int reason, bool overdue,
          const revocation_apply_t *apply, const char **text)
{
    revocation_state_t *state = call->state;
    const char *trace_id = call->request->trace_id;
    char reason_text [12];
    snprintf (reason_text, sizeof reason_text, "%d", reason);
    const char *values [] = { request->revocation_id, request->approve ? "2" : "4", reason_text,
                              operator_id, call->caller_key, request->note };
    PGresult *res = tsr_db_query (call->db,
        "UPDATE revocations SET state = $2::smallint, reason = $3::smallint,"
        " decided_by_operator_id = $4, decided_by_key = $5,"
        " decided_at = date_trunc('second', now()), decision_note = $6"
        " WHERE revocation_id = $1", 6, values);
    PQclear (res);
    const char *action = request->approve ? "revocation.approved" : "revocation.rejected";
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "operator_id", operator_id);
    tsr_json_int (json, "requested_reason", requested_reason);
    tsr_json_int (json, "reason", reason);
    tsr_json_str (json, "note", request->note);
    tsr_json_bool (json, "after_deadline", overdue);
    if (!res
    ||  revocation_audit (call->db, call->caller_key, action, request->revocation_id, trace_id,
                          &json)
    ||  revocation_emit_change (call->db, action, trace_id, request->revocation_id)) {
        tsr_json_destroy (&json);
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the decision");
    }
    tsr_log_info (trace_id, action, "revocation_id", request->revocation_id, "operator_id",
                  operator_id, NULL);
    if (!request->approve) {
        *text = "rejected";
        return revocation_archive (call->db, request->revocation_id, call->caller_key, trace_id)
            ? tsr_call_fail (call, S_UNAVAILABLE, "cannot archive the request") : S_OK;
    }
    int applied = revocation_apply_record (state, call->db, apply, call->caller_key, trace_id);
    if (applied < 0)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the revocation");
    *text = applied ? "approved and revoked"
                    : "approved; ca did not take it yet and it will be applied as soon as ca does";
    return S_OK;
}

tsr_status_t
revocation_handle_decide (tsr_call_t *call)
{
    revocation_state_t *state = call->state;
    tsr_status_t unpack_status;
    Tessera__V1__DecideRevocationRequest *request =
        (Tessera__V1__DecideRevocationRequest *) tsr_call_unpack (
            call, &tessera__v1__decide_revocation_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    char operator_id [REVOCATION_ID_MAX + 1];
    int requested_reason = 0;
    bool overdue = false;
    const char *text = "";
    revocation_apply_t apply;
    memset (&apply, 0, sizeof apply);
    tsr_status_t status;
    if ((status = revocation_decide_check (call, request)) != S_OK
    ||  (status = revocation_caller_operator (call, operator_id)) != S_OK
    ||  (status = s_lock_pending (call, request->revocation_id, &requested_reason, &overdue))
            != S_OK)
        goto done;
    int reason = request->reason ? (int) request->reason : requested_reason;
    //  ca first, before this transaction writes (revocation_apply.h).
    if (request->approve) {
        if (revocation_apply_load (call->db, request->revocation_id, reason, &apply)) {
            status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the revocation requests");
            goto done;
        }
        revocation_apply_ask (state, &apply, call->request->trace_id);
    }
    status = s_record (call, request, operator_id, requested_reason, reason, overdue, &apply,
                       &text);
    if (status == S_OK)
        status = revocation_reply_record (call, request->revocation_id, text);
done:
    tessera__v1__decide_revocation_request__free_unpacked (request, NULL);
    return status;
}
