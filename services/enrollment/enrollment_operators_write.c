/*  AddOperator, GrantRole, RevokeRole, DisableOperator: the security
    officer's changes to operators (roles in enrollment_operators.c).

    Each checks its whole input before touching the table, then re-reads
    the caller under a share lock: the bus resolved the caller's roles just
    before the transaction began, and two officers disabling each other at
    the same moment must not both succeed. The operator changed is locked
    FOR UPDATE, so a role's compatibility is judged against the roles the
    operator holds when the change commits. No operator changes their own
    record: a second officer grants, revokes and disables.
*/
#include "enrollment_operators.h"
#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

//  The caller's operator id, when the caller is still an enabled security
//  officer; the row stays share-locked until the transaction ends.
static tsr_status_t
s_actor (tsr_call_t *call, char actor_id [ENROLLMENT_OPERATOR_ID_SIZE])
{
    const char *values [] = { call->caller_key };
    PGresult *res = tsr_db_query (call->db,
        "SELECT operator_id, roles, disabled FROM operators WHERE public_key = $1 FOR SHARE",
        1, values);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read operators");
    bool officer = PQntuples (res) == 1 && strcmp (PQgetvalue (res, 0, 2), "f") == 0
                && (strtoul (PQgetvalue (res, 0, 1), NULL, 10) & TSR_ROLE_SECURITY_OFFICER);
    if (officer)
        snprintf (actor_id, ENROLLMENT_OPERATOR_ID_SIZE, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    return officer ? S_OK
                   : tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED,
                                    "the caller is no longer an enabled security-officer");
}

//  The operator a change is about (operator_id already well-formed),
//  locked, after the checks every change shares: a known operator, not the
//  caller, not disabled. *res_p holds the row whenever one was found
//  (caller PQclears).
static tsr_status_t
s_target (tsr_call_t *call, const char *operator_id, const char *what, PGresult **res_p,
          enrollment_operator_t *target)
{
    int found = enrollment_operator_lock (call->db, operator_id, res_p, target);
    if (found < 0)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read operators");
    if (found == 0)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                              "no operator %s", operator_id);
    if (strcmp (target->message.public_key, call->caller_key) == 0)
        return tsr_call_fail (call, S_PRECONDITION,
                              "an operator cannot %s: another security-officer must", what);
    if (target->message.disabled)
        return tsr_call_fail (call, S_PRECONDITION, "operator %s is disabled", operator_id);
    return S_OK;
}

//  Writes the change (sql sets the row and returns ENROLLMENT_OPERATOR_COLUMNS),
//  records it and replies with the operator as it now is.
static tsr_status_t
s_apply (tsr_call_t *call, const char *sql, int param_count, const char *const *values,
         enrollment_operator_change_t *change, const char *text)
{
    PGresult *res = tsr_db_query (call->db, sql, param_count, values);
    tsr_status_t status;
    enrollment_operator_t changed;
    if (!res || PQntuples (res) != 1) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot store the change");
        goto done;
    }
    enrollment_operator_from_row (res, 0, &changed);
    change->trace_id = call->request->trace_id;
    change->actor_key = call->caller_key;
    if (enrollment_operator_record (call->db, &changed, change)) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the change");
        goto done;
    }
    char roles [256], event [64];
    tsr_roles_format (changed.role_mask, roles, sizeof roles);
    snprintf (event, sizeof event, "enrollment.operator_%s", change->change);
    tsr_log_info (call->request->trace_id, event, "operator_id", changed.message.operator_id,
                  "roles", roles, "by", change->actor_id, NULL);
    status = tsr_call_reply (call, &changed.message.base, text);
done:
    PQclear (res);
    return status;
}

//  Everything in an AddOperatorRequest that needs no database.
tsr_status_t
enrollment_operator_add_check (tsr_call_t *call, const Tessera__V1__AddOperatorRequest *request,
                               int level, uint32_t *roles)
{
    char why [256] = "";
    if (!enrollment_operator_text_valid (request->name, ENROLLMENT_OPERATOR_NAME_MAX, false))
        return tsr_call_fail (call, S_INVALID, "name must be 1 to %d printable characters, without"
                              " control characters or leading or trailing spaces",
                              ENROLLMENT_OPERATOR_NAME_MAX);
    if (!enrollment_operator_email_valid (request->email))
        return tsr_call_fail (call, S_INVALID, "email must be a plain address (local@domain) of"
                              " at most %d characters", ENROLLMENT_OPERATOR_EMAIL_MAX);
    if (!enrollment_operator_language (request->language))
        return tsr_call_fail (call, S_INVALID, "language must be fr or en");
    if (!enrollment_operator_key_valid (request->public_key))
        return tsr_call_fail (call, S_INVALID,
                              "public_key must be a Z85 CURVE public key of 40 characters");
    if (!enrollment_operator_service_valid (request->service_name))
        return tsr_call_fail (call, S_INVALID, "service_name must be empty or one of validation,"
                              " perso, mail, revocation, publisher, ca, portal");
    if (*request->service_name && request->n_roles)
        return tsr_call_fail (call, S_INVALID, "a service's key holds no roles");
    switch (enrollment_operator_roles_check ((const int *) request->roles, request->n_roles,
                                             level, roles, why, sizeof why)) {
        case ENROLLMENT_OPERATOR_ROLES_OK:
            return S_OK;
        case ENROLLMENT_OPERATOR_ROLES_INCOMPATIBLE:
            return tsr_call_fail (call, S_PRECONDITION, "roles refused at level %d: %s", level,
                                  why);
        default:
            return tsr_call_fail (call, S_INVALID, "%s", why);
    }
}

tsr_status_t
enrollment_handle_add_operator (tsr_call_t *call)
{
    enrollment_state_t *state = call->state;
    tsr_status_t status;
    Tessera__V1__AddOperatorRequest *request = (Tessera__V1__AddOperatorRequest *)
        tsr_call_unpack (call, &tessera__v1__add_operator_request__descriptor, &status);
    if (!request)
        return status;
    PGresult *res = NULL;
    char actor_id [ENROLLMENT_OPERATOR_ID_SIZE] = "", operator_id [ENROLLMENT_OPERATOR_ID_SIZE];
    uint32_t roles = 0;
    status = enrollment_operator_add_check (call, request, state->level, &roles);
    if (status != S_OK || (status = s_actor (call, actor_id)) != S_OK)
        goto done;
    const char *key [] = { request->public_key };
    res = tsr_db_query (call->db,
        "SELECT operator_id, disabled FROM operators WHERE public_key = $1", 1, key);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read operators");
        goto done;
    }
    if (PQntuples (res) > 0) {
        //  A disabled key stays disabled: a new record would undo that.
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_ALREADY_EXISTS,
                                "this public key is already operator %s%s", PQgetvalue (res, 0, 0),
                                strcmp (PQgetvalue (res, 0, 1), "t") == 0 ? " (disabled)" : "");
        goto done;
    }
    enrollment_operator_id_new (operator_id);
    char roles_text [16];
    snprintf (roles_text, sizeof roles_text, "%u", roles);
    const char *values [] = { operator_id, request->name, request->email,
                              enrollment_operator_language (request->language), request->public_key,
                              roles_text, request->service_name, actor_id };
    enrollment_operator_change_t change = { .change = "added", .actor_id = actor_id };
    status = s_apply (call,
        "INSERT INTO operators (operator_id, name, email, language, public_key, roles,"
        " service_name, created_by) VALUES ($1, $2, $3, $4, $5, $6::integer, $7, $8)"
        " RETURNING " ENROLLMENT_OPERATOR_COLUMNS, 8, values, &change, "operator added");
    //  Another officer added the same key a moment ago.
    if (status != S_OK && strcmp (tsr_db_sqlstate (call->db), "23505") == 0)
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_ALREADY_EXISTS,
                                "this public key is already an operator");
done:
    PQclear (res);
    tessera__v1__add_operator_request__free_unpacked (request, NULL);
    return status;
}

//  GrantRole and RevokeRole.
static tsr_status_t
s_change_role (tsr_call_t *call, const char *operator_id, int role, const char *reason, bool grant)
{
    enrollment_state_t *state = call->state;
    uint32_t bit = enrollment_operator_role_bit (role);
    if (!enrollment_operator_id_valid (operator_id))
        return tsr_call_fail (call, S_INVALID, "operator_id must be op- and 16 hex digits");
    if (!bit)
        return tsr_call_fail (call, S_INVALID, "role must be an operator role (1..%d)",
                              TSR_ROLE_MAX_VALUE);
    if (!enrollment_operator_text_valid (reason, ENROLLMENT_OPERATOR_REASON_MAX, true))
        return tsr_call_fail (call, S_INVALID, "reason must be at most %d printable characters,"
                              " without control characters or leading or trailing spaces",
                              ENROLLMENT_OPERATOR_REASON_MAX);
    char actor_id [ENROLLMENT_OPERATOR_ID_SIZE] = "", why [256] = "";
    PGresult *res = NULL;
    enrollment_operator_t target;
    tsr_status_t status = s_actor (call, actor_id);
    if (status != S_OK
    ||  (status = s_target (call, operator_id, "change their own roles", &res, &target)) != S_OK)
        goto done;
    if (*target.message.service_name) {
        status = tsr_call_fail (call, S_PRECONDITION, "operator %s is the %s service's key, which"
                                " holds no roles", operator_id, target.message.service_name);
        goto done;
    }
    if (grant && (target.role_mask & bit)) {
        status = tsr_call_fail (call, S_PRECONDITION, "operator %s already holds %s", operator_id,
                                tsr_role_name (bit));
        goto done;
    }
    if (!grant && !(target.role_mask & bit)) {
        status = tsr_call_fail (call, S_PRECONDITION, "operator %s does not hold %s", operator_id,
                                tsr_role_name (bit));
        goto done;
    }
    if (grant && !tsr_roles_compatible (target.role_mask, bit, state->level, why, sizeof why)) {
        status = tsr_call_fail (call, S_PRECONDITION, "%s refused at level %d: %s",
                                tsr_role_name (bit), state->level, why);
        goto done;
    }
    char roles_text [16];
    snprintf (roles_text, sizeof roles_text, "%u", grant ? target.role_mask | bit
                                                         : target.role_mask & ~bit);
    const char *values [] = { operator_id, roles_text };
    enrollment_operator_change_t change = {
        .change = grant ? "role_granted" : "role_revoked", .role_bit = bit, .reason = reason,
        .actor_id = actor_id,
    };
    status = s_apply (call,
        "UPDATE operators SET roles = $2::integer, updated_at = now() WHERE operator_id = $1"
        " RETURNING " ENROLLMENT_OPERATOR_COLUMNS, 2, values, &change,
        grant ? "role granted" : "role revoked");
done:
    PQclear (res);
    return status;
}

tsr_status_t
enrollment_handle_grant_role (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__GrantRoleRequest *request = (Tessera__V1__GrantRoleRequest *)
        tsr_call_unpack (call, &tessera__v1__grant_role_request__descriptor, &status);
    if (!request)
        return status;
    status = s_change_role (call, request->operator_id, (int) request->role, NULL, true);
    tessera__v1__grant_role_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
enrollment_handle_revoke_role (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__RevokeRoleRequest *request = (Tessera__V1__RevokeRoleRequest *)
        tsr_call_unpack (call, &tessera__v1__revoke_role_request__descriptor, &status);
    if (!request)
        return status;
    status = s_change_role (call, request->operator_id, (int) request->role, request->reason,
                            false);
    tessera__v1__revoke_role_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
enrollment_handle_disable_operator (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__DisableOperatorRequest *request = (Tessera__V1__DisableOperatorRequest *)
        tsr_call_unpack (call, &tessera__v1__disable_operator_request__descriptor,
                                    &status);
    if (!request)
        return status;
    char actor_id [ENROLLMENT_OPERATOR_ID_SIZE] = "";
    PGresult *res = NULL;
    enrollment_operator_t target;
    if (!enrollment_operator_id_valid (request->operator_id)) {
        status = tsr_call_fail (call, S_INVALID, "operator_id must be op- and 16 hex digits");
        goto done;
    }
    if (!enrollment_operator_text_valid (request->reason, ENROLLMENT_OPERATOR_REASON_MAX, false)) {
        status = tsr_call_fail (call, S_INVALID, "reason is required: 1 to %d printable"
                                " characters, without control characters or leading or"
                                " trailing spaces", ENROLLMENT_OPERATOR_REASON_MAX);
        goto done;
    }
    status = s_actor (call, actor_id);
    if (status != S_OK
    ||  (status = s_target (call, request->operator_id, "disable their own key", &res,
                            &target)) != S_OK)
        goto done;
    const char *values [] = { request->operator_id, request->reason };
    enrollment_operator_change_t change = {
        .change = "disabled", .reason = request->reason, .actor_id = actor_id,
    };
    status = s_apply (call,
        "UPDATE operators SET disabled = true, disabled_reason = $2, updated_at = now()"
        " WHERE operator_id = $1 RETURNING " ENROLLMENT_OPERATOR_COLUMNS, 2, values, &change,
        "operator disabled");
done:
    PQclear (res);
    tessera__v1__disable_operator_request__free_unpacked (request, NULL);
    return status;
}
