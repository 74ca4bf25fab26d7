/*  SetPassword: the holder's new password, proven either by the change
    token of a one-time-password login (state "password change required")
    or by the current password (state "active").

    The new password must pass validation_password_check (rules in
    validation_password.h and docs/validation.md) before any proof is
    looked at. A wrong current password counts as a failed login (else
    SetPassword would be a way round the lockout); a wrong or expired
    token counts nothing (it is 256 random bits) but is audited. Both
    refusals are recorded in a transaction of their own
    (validation_refusal.h), so the account is read without a row lock
    until the proof holds; the update then requires the proof's row to be
    unchanged (a concurrent change gets CONFLICT).
*/
#include "validation_accounts.h"
#include "validation_handlers.h"
#include "validation_input.h"
#include "validation_password.h"
#include "validation_records.h"
#include "validation_refusal.h"
#include "validation_state.h"
#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_DENIED TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED

//  Every bound of the request that needs no database.
tsr_status_t
validation_set_password_check (tsr_call_t *call, const Tessera__V1__SetPasswordRequest *request)
{
    if (!validation_id_valid (request->account_id))
        return tsr_call_fail (call, S_INVALID, "account_id must be 1 to 64 of [A-Za-z0-9._:-]");
    bool by_password = *request->current_password != 0;
    bool by_token = *request->password_change_token != 0;
    if (by_password == by_token)
        return tsr_call_fail (call, S_INVALID,
                              "give exactly one of current_password and password_change_token");
    if (by_password && !validation_secret_valid (request->current_password,
                                                 VALIDATION_PASSWORD_MAX_BYTES))
        return tsr_call_fail (call, S_INVALID, "current_password must be 1 to %d bytes",
                              VALIDATION_PASSWORD_MAX_BYTES);
    if (by_token && !tsr_id_valid (request->password_change_token, 128))
        return tsr_call_fail (call, S_INVALID,
                              "password_change_token is the token the login gave");
    if (!validation_secret_valid (request->new_password, VALIDATION_PASSWORD_MAX_BYTES))
        return tsr_call_fail (call, S_INVALID, "new_password must be 1 to %d bytes",
                              VALIDATION_PASSWORD_MAX_BYTES);
    if (!validation_text_valid (request->client_address, 0, VALIDATION_CLIENT_ADDRESS_MAX)
    ||  !validation_text_valid (request->user_agent, 0, VALIDATION_USER_AGENT_MAX))
        return tsr_call_fail (call, S_INVALID,
                              "client_address (at most %d) and user_agent (at most %d) must be "
                              "printable characters", VALIDATION_CLIENT_ADDRESS_MAX,
                              VALIDATION_USER_AGENT_MAX);
    return S_OK;
}

//  A refused proof: recorded on the side, then the refusal.
static tsr_status_t
s_refuse (tsr_call_t *call, const Tessera__V1__SetPasswordRequest *request, bool counted,
          tsr_status_t status, const char *why)
{
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "reason", why);
    tsr_json_str (json, "client_address", request->client_address);
    tsr_json_str (json, "user_agent", request->user_agent);
    validation_refusal_record (call, "validation.password_change_refused", request->account_id,
                               &json, counted ? request->account_id : NULL,
                               request->client_address, request->user_agent);
    return tsr_call_fail (call, status, "%s", why);
}

//  The proof. STATUS_OK when it holds; digest_hex gets the token's digest.
static tsr_status_t
s_check_proof (tsr_call_t *call, const Tessera__V1__SetPasswordRequest *request,
               const validation_account_t *account, char digest_hex [65])
{
    validation_state_t *state = call->state;
    if (account->stored_state == VALIDATION_STATE_DISABLED)
        return tsr_call_fail (call, S_PRECONDITION, "the account is disabled");
    if (*request->password_change_token) {
        if (account->stored_state != VALIDATION_STATE_PASSWORD_CHANGE_REQUIRED
        ||  !account->change_token_sha256)
            return s_refuse (call, request, false, S_DENIED,
                             "no password change token is pending for this account");
        uint8_t digest [crypto_hash_sha256_BYTES];
        crypto_hash_sha256 (digest, (const unsigned char *) request->password_change_token,
                            strlen (request->password_change_token));
        validation_hex (digest, sizeof digest, digest_hex);
        if (sodium_memcmp (digest_hex, account->change_token_sha256, 64) != 0)
            return s_refuse (call, request, false, S_DENIED, "the password change token is wrong");
        if (account->change_token_expires_unix <= (int64_t) time (NULL))
            return s_refuse (call, request, false, S_PRECONDITION,
                             "the password change token has expired; the service desk can "
                             "send a new one-time password (ResetPassword)");
        return S_OK;
    }
    if (account->stored_state != VALIDATION_STATE_ACTIVE)
        return tsr_call_fail (call, S_PRECONDITION,
                              "the holder has no password yet: log in with the one-time "
                              "password, then use the change token");
    if (account->locked)
        return tsr_call_fail (call, S_PRECONDITION,
                              "the account is locked after too many failed logins");
    bool matched = validation_hash_verify (account->password_hash ? account->password_hash
                                                                  : state->decoy_hash,
                                           request->current_password,
                                           strlen (request->current_password));
    if (!matched || !account->password_hash)
        return s_refuse (call, request, true, S_DENIED, "the current password is wrong");
    if (strcmp (request->current_password, request->new_password) == 0)
        return tsr_call_fail (call, S_INVALID, "new_password must differ from the current one");
    return S_OK;
}

static tsr_status_t
s_change (tsr_call_t *call, const Tessera__V1__SetPasswordRequest *request)
{
    validation_state_t *state = call->state;
    const char *trace_id = call->request->trace_id;
    char digest_hex [65] = "", why [160], hash [VALIDATION_HASH_SIZE];
    validation_account_t account;
    int found = validation_account_load (call->db, VALIDATION_BY_ACCOUNT, request->account_id,
                                         false, &account);
    tsr_status_t status;
    PGresult *res = NULL;
    if (found != 1) {
        status = found < 0 ? tsr_call_fail (call, S_UNAVAILABLE, "cannot read the holder accounts")
                           : tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                            "no holder account %s", request->account_id);
        goto done;
    }
    if (validation_password_check (request->new_password, account.message.login,
                                   state->breached, why, sizeof why)) {
        status = tsr_call_fail (call, S_INVALID, "new_password %s", why);
        goto done;
    }
    status = s_check_proof (call, request, &account, digest_hex);
    if (status != S_OK)
        goto done;
    if (validation_hash (request->new_password, strlen (request->new_password), hash)) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                                "cannot hash the password (out of memory)");
        goto done;
    }
    //  Only if the row still holds the proof that was checked.
    const char *values [] = { request->account_id, hash,
                              account.password_hash, account.change_token_sha256 };
    res = tsr_db_query (call->db,
        "UPDATE holder_accounts SET state = 3, password_hash = $2, password_changed_at = now(),"
        " change_token_sha256 = NULL, change_token_expires_at = NULL, failed_logins = 0"
        " WHERE account_id = $1 AND password_hash IS NOT DISTINCT FROM $3"
        " AND change_token_sha256 IS NOT DISTINCT FROM $4", 4, values);
    sodium_memzero (hash, sizeof hash);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot store the password");
        goto done;
    }
    if (strcmp (PQcmdTuples (res), "1") != 0) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_CONFLICT,
                                "the account changed meanwhile; try again");
        goto done;
    }
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "proof", *request->password_change_token ? "change token"
                                                                   : "current password");
    tsr_json_str (json, "client_address", request->client_address);
    tsr_json_str (json, "user_agent", request->user_agent);
    if (validation_audit (call->db, call->caller_key, "validation.password_changed",
                          request->account_id, trace_id, &json)
    ||  validation_emit_account (call->db, "account.password_changed", trace_id,
                                 request->account_id)) {
        tsr_json_destroy (&json);
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the password change");
        goto done;
    }
    tsr_log_info (trace_id, "validation.password_changed", "account_id", request->account_id,
                  NULL);
    status = validation_reply_account (call, request->account_id, "password changed");
done:
    PQclear (res);
    validation_account_release (&account);
    return status;
}

tsr_status_t
validation_handle_set_password (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__SetPasswordRequest *request = (Tessera__V1__SetPasswordRequest *) tsr_call_unpack (
        call, &tessera__v1__set_password_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status = validation_set_password_check (call, request);
    if (status == S_OK)
        status = s_change (call, request);
    sodium_memzero (request->current_password, strlen (request->current_password));
    sodium_memzero (request->new_password, strlen (request->new_password));
    sodium_memzero (request->password_change_token, strlen (request->password_change_token));
    tessera__v1__set_password_request__free_unpacked (request, NULL);
    return status;
}
