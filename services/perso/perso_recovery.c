/*  perso_recovery: RequestKeyRecovery and ApproveKeyRecovery (see
    perso_recovery.h).
*/
#include "perso_caller.h"
#include "perso_input.h"
#include "perso_records.h"
#include "perso_recovery.h"
#include "tessera/envelope.h"
#include "tessera/log.h"
#include "tessera/roles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_DENIED TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND

tsr_status_t
perso_request_key_recovery_check (tsr_call_t *call,
                                  const Tessera__V1__RequestKeyRecoveryRequest *in)
{
    if (!perso_id_valid (in->person_id))
        return tsr_call_fail (call, S_INVALID, "person_id must be 1 to 64 of [A-Za-z0-9._:-]");
    if (!perso_optional_id_valid (in->key_id))
        return tsr_call_fail (call, S_INVALID, "key_id must be empty or 1 to 64 of [A-Za-z0-9._:-]");
    if (in->purpose != TESSERA__V1__KEY_RECOVERY_PURPOSE__KEY_RECOVERY_PURPOSE_HOLDER
    &&  in->purpose != TESSERA__V1__KEY_RECOVERY_PURPOSE__KEY_RECOVERY_PURPOSE_LEGAL)
        return tsr_call_fail (call, S_INVALID, "purpose must be HOLDER (lost card) or LEGAL "
                              "(legal procedure)");
    if (!perso_text_valid (in->reason, 1, PERSO_RECOVERY_REASON_MAX))
        return tsr_call_fail (call, S_INVALID, "reason must be 1 to %d characters without "
                              "control characters", PERSO_RECOVERY_REASON_MAX);
    if (!perso_text_valid (in->reference, 1, PERSO_RECOVERY_REFERENCE_MAX))
        return tsr_call_fail (call, S_INVALID, "reference (the loss report, the court order ...) "
                              "must be 1 to %d characters", PERSO_RECOVERY_REFERENCE_MAX);
    return S_OK;
}

tsr_status_t
perso_handle_request_key_recovery (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__RequestKeyRecoveryRequest *in = (Tessera__V1__RequestKeyRecoveryRequest *)
        tsr_call_unpack (call, &tessera__v1__request_key_recovery_request__descriptor, &status);
    if (!in)
        return status;
    char operator_id [PERSO_ID_MAX + 1], recovery_id [TSR_ID_HEX_SIZE], purpose [8];
    PGresult *res = NULL;
    if ((status = perso_request_key_recovery_check (call, in)) != S_OK
    ||  (status = perso_caller_operator (call, operator_id)) != S_OK)
        goto done;
    const char *keys [] = { in->person_id, in->key_id };
    res = tsr_db_query (call->db,
        "SELECT count(*) FROM escrowed_keys WHERE person_id = $1 AND state = 2"
        " AND retain_until > now() AND ($2 = '' OR key_id = $2)", 2, keys);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the escrowed keys");
        goto done;
    }
    if (strcmp (PQgetvalue (res, 0, 0), "0") == 0) {
        status = tsr_call_fail (call, S_NOT_FOUND, *in->key_id
                                ? "holder %s has no escrowed key %s within its archive period"
                                : "holder %s has no escrowed key within its archive period%s",
                                in->person_id, in->key_id);
        goto done;
    }
    PQclear (res);
    tsr_random_id (recovery_id);
    snprintf (purpose, sizeof purpose, "%d", (int) in->purpose);
    const char *values [] = { recovery_id, in->person_id, in->key_id, purpose, in->reason,
                              in->reference, call->caller_key, operator_id };
    res = tsr_db_query (call->db,
        "INSERT INTO key_recoveries (recovery_id, person_id, key_id, purpose, reason, reference,"
        " requested_by_key, requested_by_operator_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        8, values);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "person_id", in->person_id);
    tsr_json_str (json, "key_id", in->key_id);
    tsr_json_int (json, "purpose", in->purpose);
    tsr_json_str (json, "reason", in->reason);
    tsr_json_str (json, "reference", in->reference);
    tsr_json_str (json, "operator_id", operator_id);
    if (!res || perso_audit (call->db, call->caller_key, "perso.key_recovery_requested",
                             recovery_id, call->request->trace_id, &json)) {
        tsr_json_destroy (&json);
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the key recovery");
        goto done;
    }
    tsr_log_info (call->request->trace_id, "perso.key_recovery_requested", "recovery_id",
                  recovery_id, "person_id", in->person_id, NULL);
    status = perso_recovery_reply (call, recovery_id,
                                   "key recovery requested: two recovery officers must approve");
done:
    PQclear (res);
    tessera__v1__request_key_recovery_request__free_unpacked (in, NULL);
    return status;
}

//  A refusal kept in the audit trail although the call changes nothing.
static tsr_status_t
s_refuse (tsr_call_t *call, const char *recovery_id, const char *operator_id,
          tsr_status_t status, const char *why)
{
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "operator_id", operator_id);
    tsr_json_str (json, "reason", why);
    perso_refusal_record (call, "perso.key_recovery_approval_refused", recovery_id, &json);
    return tsr_call_fail (call, status, "%s", why);
}

tsr_status_t
perso_handle_approve_key_recovery (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ApproveKeyRecoveryRequest *in = (Tessera__V1__ApproveKeyRecoveryRequest *)
        tsr_call_unpack (call, &tessera__v1__approve_key_recovery_request__descriptor, &status);
    if (!in)
        return status;
    char operator_id [PERSO_ID_MAX + 1] = "";
    PGresult *res = NULL;
    if (!perso_id_valid (in->recovery_id)) {
        status = tsr_call_fail (call, S_INVALID, "recovery_id must be 1 to 64 of [A-Za-z0-9._:-]");
        goto done;
    }
    if ((status = perso_caller_operator (call, operator_id)) != S_OK)
        goto done;
    //  Four eyes outside the registration process: enrollment refuses the
    //  role to an operator, and this check holds even for a record that
    //  got both some other way.
    if (call->caller_roles & TSR_ROLES_OPERATOR) {
        status = s_refuse (call, in->recovery_id, operator_id, S_DENIED,
                           "a recovery officer who holds an operator role may not approve a "
                           "key recovery");
        goto done;
    }
    const char *values [] = { in->recovery_id };
    res = tsr_db_query (call->db,
        "SELECT state, requested_by_key, (SELECT count(*) FROM key_recovery_approvals a"
        "  WHERE a.recovery_id = r.recovery_id) FROM key_recoveries r"
        " WHERE recovery_id = $1 FOR UPDATE", 1, values);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the key recoveries");
        goto done;
    }
    if (PQntuples (res) != 1) {
        status = tsr_call_fail (call, S_NOT_FOUND, "no key recovery %s", in->recovery_id);
        goto done;
    }
    if (strcmp (PQgetvalue (res, 0, 0), "1") != 0) {
        status = tsr_call_fail (call, S_PRECONDITION, "key recovery %s is approved already",
                                in->recovery_id);
        goto done;
    }
    if (strcmp (PQgetvalue (res, 0, 1), call->caller_key) == 0) {
        status = s_refuse (call, in->recovery_id, operator_id, S_DENIED,
                           "the requester of a key recovery may not approve it");
        goto done;
    }
    long approvals = strtol (PQgetvalue (res, 0, 2), NULL, 10) + 1;
    PQclear (res);
    const char *approval [] = { in->recovery_id, call->caller_key, operator_id };
    res = tsr_db_query (call->db, "SAVEPOINT approval", 0, NULL);
    PQclear (res);
    res = tsr_db_query (call->db,
        "INSERT INTO key_recovery_approvals (recovery_id, approver_key, operator_id)"
        " VALUES ($1, $2, $3)", 3, approval);
    if (!res) {
        bool twice = strcmp (tsr_db_sqlstate (call->db), "23505") == 0;
        res = tsr_db_query (call->db, "ROLLBACK TO SAVEPOINT approval", 0, NULL);
        status = twice
            ? tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_ALREADY_EXISTS,
                             "you approved key recovery %s already: a second officer must",
                             in->recovery_id)
            : tsr_call_fail (call, S_UNAVAILABLE, "cannot record the approval");
        goto done;
    }
    PQclear (res);
    res = NULL;
    if (approvals >= PERSO_RECOVERY_APPROVALS) {
        res = tsr_db_query (call->db,
            "UPDATE key_recoveries SET state = 2 WHERE recovery_id = $1", 1, values);
        if (!res) {
            status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the approval");
            goto done;
        }
    }
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "operator_id", operator_id);
    tsr_json_int (json, "approvals", approvals);
    if (perso_audit (call->db, call->caller_key, "perso.key_recovery_approved", in->recovery_id,
                     call->request->trace_id, &json)) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the approval");
        goto done;
    }
    status = perso_recovery_reply (call, in->recovery_id,
                                   approvals >= PERSO_RECOVERY_APPROVALS
                                   ? "approved by two officers: the requester may deliver it"
                                   : "approved once: a second recovery officer must approve");
done:
    PQclear (res);
    tessera__v1__approve_key_recovery_request__free_unpacked (in, NULL);
    return status;
}
