/*  Holder accounts: creation at validation, GetHolderAccount, ResetPassword
    and UnlockAccount (the service desk's two remedies).
*/
#include "validation_accounts.h"
#include "validation_handlers.h"
#include "validation_otp.h"
#include "validation_records.h"
#include "validation_state.h"
#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION

//  Serialises the work on one person's account across transactions.
static int
s_lock_person (tsr_db_t *db, const char *person_id)
{
    const char *values [] = { person_id };
    PGresult *res = tsr_db_query (db,
        "SELECT pg_advisory_xact_lock(hashtextextended('validation.person/' || $1, 0))",
        1, values);
    PQclear (res);
    return res ? 0 : -1;
}

tsr_status_t
validation_account_for_person (tsr_call_t *call, const char *person_id, const char *email,
                               const char *decision_id, char account_id [VALIDATION_ID_MAX + 1],
                               bool *created)
{
    validation_state_t *state = call->state;
    const char *trace_id = call->request->trace_id;
    *created = false;
    if (s_lock_person (call->db, person_id))
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot lock the holder's account");
    validation_account_t account;
    int found = validation_account_load (call->db, VALIDATION_BY_PERSON, person_id, true, &account);
    if (found == 1)
        snprintf (account_id, VALIDATION_ID_MAX + 1, "%s", account.message.account_id);
    validation_account_release (&account);
    if (found < 0)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the holder accounts");
    if (found == 1)
        return TESSERA__V1__STATUS__STATUS_OK;

    if (!validation_text_valid (email, 3, VALIDATION_LOGIN_MAX) || !strchr (email, '@'))
        return tsr_call_fail (call, S_PRECONDITION,
                              "the holder %s has no usable e-mail address at enrollment: the "
                              "one-time password cannot be sent; correct it (UpdatePerson) first",
                              person_id);
    found = validation_account_load (call->db, VALIDATION_BY_LOGIN, email, false, &account);
    validation_account_release (&account);
    if (found < 0)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the holder accounts");
    if (found == 1)
        return tsr_call_fail (call, S_PRECONDITION,
                              "the holder's e-mail address is already the login of another "
                              "person's account; give %s an address of their own (UpdatePerson)",
                              person_id);
    validation_otp_t otp;
    if (validation_otp_new (state, &otp))
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                              "cannot make a one-time password (out of memory)");
    char id [TSR_ID_HEX_SIZE], validity [24];
    tsr_random_id (id);
    snprintf (validity, sizeof validity, "%ld", state->otp_validity_s);
    const char *values [] = { id, person_id, email, otp.hash, validity, decision_id };
    PGresult *res = tsr_db_query (call->db,
        "INSERT INTO holder_accounts (account_id, person_id, login, state, password_hash,"
        " otp_expires_at, created_by_decision)"
        " VALUES ($1, $2, $3, 1, $4, now() + $5::bigint * interval '1 second', $6)"
        " RETURNING extract(epoch FROM otp_expires_at)::bigint", 6, values);
    int64_t expires_unix = res && PQntuples (res) == 1
        ? strtoll (PQgetvalue (res, 0, 0), NULL, 10) : 0;
    tsr_status_t status = TESSERA__V1__STATUS__STATUS_OK;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "person_id", person_id);
    tsr_json_str (json, "login", email);
    tsr_json_str (json, "decision_id", decision_id);
    tsr_json_int (json, "one_time_password_expires_unix", expires_unix);
    tsr_json_str (json, "sealed_for_key", state->mail_public_txt);
    if (!res || PQntuples (res) != 1
    ||  validation_otp_announce (call->db, state, "account.created", trace_id, id, person_id,
                                 email, expires_unix, &otp)
    ||  validation_audit (call->db, call->caller_key, "validation.account_created", id, trace_id,
                          &json))
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot create the holder's account");
    else {
        snprintf (account_id, VALIDATION_ID_MAX + 1, "%s", id);
        *created = true;
        tsr_log_info (trace_id, "validation.account_created", "account_id", id,
                      "person_id", person_id, NULL);
    }
    PQclear (res);
    tsr_json_destroy (&json);
    validation_otp_release (&otp);
    return status;
}

tsr_status_t
validation_reply_account (tsr_call_t *call, const char *account_id, const char *text)
{
    validation_account_t account;
    int found = validation_account_load (call->db, VALIDATION_BY_ACCOUNT, account_id, false,
                                         &account);
    tsr_status_t status = found == 1
        ? tsr_call_reply (call, &account.message.base, text)
        : tsr_call_fail (call, S_UNAVAILABLE, "cannot read the holder account back");
    validation_account_release (&account);
    return status;
}

tsr_status_t
validation_handle_get_account (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__GetHolderAccountRequest *request = (Tessera__V1__GetHolderAccountRequest *) tsr_call_unpack (
        call, &tessera__v1__get_holder_account_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status;
    int given = (*request->account_id != 0) + (*request->person_id != 0) + (*request->login != 0);
    validation_account_t account;
    memset (&account, 0, sizeof account);
    if (given != 1)
        status = tsr_call_fail (call, S_INVALID, "give exactly one of account_id, person_id, login");
    else
    if (!validation_optional_id_valid (request->account_id)
    ||  !validation_optional_id_valid (request->person_id))
        status = tsr_call_fail (call, S_INVALID,
                                "account_id and person_id are 1 to 64 of [A-Za-z0-9._:-]");
    else
    if (*request->login && !validation_text_valid (request->login, 1, VALIDATION_LOGIN_MAX))
        status = tsr_call_fail (call, S_INVALID, "login must be 1 to %d printable characters",
                                VALIDATION_LOGIN_MAX);
    else {
        validation_account_key_t key = *request->account_id ? VALIDATION_BY_ACCOUNT
                                     : *request->person_id ? VALIDATION_BY_PERSON
                                     : VALIDATION_BY_LOGIN;
        const char *value = *request->account_id ? request->account_id
                          : *request->person_id ? request->person_id : request->login;
        int found = validation_account_load (call->db, key, value, false, &account);
        status = found < 0 ? tsr_call_fail (call, S_UNAVAILABLE, "cannot read the holder accounts")
               : found == 0 ? tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                             "no holder account for this %s",
                                             key == VALIDATION_BY_ACCOUNT ? "account_id"
                                             : key == VALIDATION_BY_PERSON ? "person_id" : "login")
               : tsr_call_reply (call, &account.message.base, "holder account");
    }
    validation_account_release (&account);
    tessera__v1__get_holder_account_request__free_unpacked (request, NULL);
    return status;
}

//  The input both service-desk remedies take: an account and a reason.
tsr_status_t
validation_remedy_check (tsr_call_t *call, const char *account_id, const char *reason)
{
    if (!validation_id_valid (account_id))
        return tsr_call_fail (call, S_INVALID, "account_id must be 1 to 64 of [A-Za-z0-9._:-]");
    if (!validation_text_valid (reason, 1, VALIDATION_REASON_MAX))
        return tsr_call_fail (call, S_INVALID,
                              "reason is required: 1 to %d printable characters",
                              VALIDATION_REASON_MAX);
    return TESSERA__V1__STATUS__STATUS_OK;
}

tsr_status_t
validation_handle_reset_password (tsr_call_t *call)
{
    validation_state_t *state = call->state;
    const char *trace_id = call->request->trace_id;
    tsr_status_t unpack_status;
    Tessera__V1__ResetPasswordRequest *request = (Tessera__V1__ResetPasswordRequest *) tsr_call_unpack (
        call, &tessera__v1__reset_password_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    validation_account_t account;
    memset (&account, 0, sizeof account);
    validation_otp_t otp;
    memset (&otp, 0, sizeof otp);
    PGresult *res = NULL;
    tsr_status_t status = validation_remedy_check (call, request->account_id, request->reason);
    if (status != TESSERA__V1__STATUS__STATUS_OK)
        goto done;
    int found = validation_account_load (call->db, VALIDATION_BY_ACCOUNT, request->account_id,
                                         true, &account);
    if (found != 1) {
        status = found < 0 ? tsr_call_fail (call, S_UNAVAILABLE, "cannot read the holder accounts")
                           : tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                            "no holder account %s", request->account_id);
        goto done;
    }
    if (account.stored_state == VALIDATION_STATE_DISABLED) {
        status = tsr_call_fail (call, S_PRECONDITION, "the account is disabled");
        goto done;
    }
    if (validation_otp_new (state, &otp)) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                                "cannot make a one-time password (out of memory)");
        goto done;
    }
    char validity [24];
    snprintf (validity, sizeof validity, "%ld", state->otp_validity_s);
    const char *values [] = { request->account_id, otp.hash, validity };
    res = tsr_db_query (call->db,
        "UPDATE holder_accounts SET state = 1, password_hash = $2,"
        " otp_expires_at = now() + $3::bigint * interval '1 second',"
        " change_token_sha256 = NULL, change_token_expires_at = NULL,"
        " failed_logins = 0, locked_until = NULL"
        " WHERE account_id = $1 RETURNING extract(epoch FROM otp_expires_at)::bigint",
        3, values);
    int64_t expires_unix = res && PQntuples (res) == 1
        ? strtoll (PQgetvalue (res, 0, 0), NULL, 10) : 0;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "reason", request->reason);
    tsr_json_int (json, "one_time_password_expires_unix", expires_unix);
    tsr_json_bool (json, "was_locked", account.locked);
    tsr_json_str (json, "sealed_for_key", state->mail_public_txt);
    if (!res || PQntuples (res) != 1
    ||  validation_otp_announce (call->db, state, "account.password_reset", trace_id,
                                 request->account_id, account.message.person_id,
                                 account.message.login, expires_unix, &otp)
    ||  validation_audit (call->db, call->caller_key, "validation.password_reset",
                          request->account_id, trace_id, &json)) {
        tsr_json_destroy (&json);
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot reset the password");
        goto done;
    }
    tsr_log_info (trace_id, "validation.password_reset", "account_id", request->account_id, NULL);
    status = validation_reply_account (call, request->account_id,
                                       "a new one-time password is on its way to the holder");
done:
    PQclear (res);
    validation_otp_release (&otp);
    validation_account_release (&account);
    tessera__v1__reset_password_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
validation_handle_unlock (tsr_call_t *call)
{
    const char *trace_id = call->request->trace_id;
    tsr_status_t unpack_status;
    Tessera__V1__UnlockAccountRequest *request = (Tessera__V1__UnlockAccountRequest *) tsr_call_unpack (
        call, &tessera__v1__unlock_account_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    validation_account_t account;
    memset (&account, 0, sizeof account);
    PGresult *res = NULL;
    tsr_status_t status = validation_remedy_check (call, request->account_id, request->reason);
    if (status != TESSERA__V1__STATUS__STATUS_OK)
        goto done;
    int found = validation_account_load (call->db, VALIDATION_BY_ACCOUNT, request->account_id,
                                         true, &account);
    if (found != 1) {
        status = found < 0 ? tsr_call_fail (call, S_UNAVAILABLE, "cannot read the holder accounts")
                           : tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                            "no holder account %s", request->account_id);
        goto done;
    }
    if (!account.locked && account.message.failed_logins == 0) {
        status = tsr_call_fail (call, S_PRECONDITION,
                                "the account is not locked and has no failed logins");
        goto done;
    }
    const char *values [] = { request->account_id };
    res = tsr_db_query (call->db,
        "UPDATE holder_accounts SET failed_logins = 0, locked_until = NULL WHERE account_id = $1",
        1, values);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "reason", request->reason);
    tsr_json_bool (json, "was_locked", account.locked);
    tsr_json_int (json, "failed_logins", account.message.failed_logins);
    if (!res
    ||  validation_audit (call->db, call->caller_key, "validation.account_unlocked",
                          request->account_id, trace_id, &json)
    ||  validation_emit_account (call->db, "account.unlocked", trace_id, request->account_id)) {
        tsr_json_destroy (&json);
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot unlock the account");
        goto done;
    }
    tsr_log_info (trace_id, "validation.account_unlocked", "account_id", request->account_id, NULL);
    status = validation_reply_account (call, request->account_id, "account unlocked");
done:
    PQclear (res);
    validation_account_release (&account);
    tessera__v1__unlock_account_request__free_unpacked (request, NULL);
    return status;
}
