/*  Login: the holder's login and password, as the portal received them.

    Unknown login, wrong password, locked account, disabled account,
    expired or already used one-time password: the same reply
    (authenticated = false), after the same Argon2id work (a decoy hash is
    verified when there is nothing to verify), with STATUS_OK so that the
    attempt is recorded: the failed-login count (validation_lockout.h) and
    the audit row "validation.login_failed" (with the reason, which the
    reply does not tell).

    A good one-time password works once: the account moves to "password
    change required", the hash is dropped (a second use finds nothing to
    match) and the reply carries a change token for SetPassword (32 random
    bytes as hex, valid VALIDATION_CHANGE_TOKEN_VALIDITY_S, stored only as
    its SHA-256). Because of that token the method is TSR_METHOD_SECRET_REPLY:
    its reply is never stored, and a retry of the same request id is refused.
*/
#include "validation_handlers.h"
#include "validation_input.h"
#include "validation_lockout.h"
#include "validation_records.h"
#include "validation_state.h"
#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_TOKEN_BYTES 32

static tsr_status_t
s_refuse (tsr_call_t *call)
{
    Tessera__V1__LoginReply reply = TESSERA__V1__LOGIN_REPLY__INIT;
    return tsr_call_reply (call, &reply.base, "not authenticated");
}

//  A failure that counts nothing (no account, or its lock in force).
static tsr_status_t
s_refuse_uncounted (tsr_call_t *call, const char *account_id, const char *why,
                    const Tessera__V1__LoginRequest *request)
{
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "reason", why);
    tsr_json_str (json, "client_address", request->client_address);
    tsr_json_str (json, "user_agent", request->user_agent);
    if (validation_audit (call->db, call->caller_key, "validation.login_failed", account_id,
                          call->request->trace_id, &json))
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the login attempt");
    return s_refuse (call);
}

static tsr_status_t
s_refuse_counted (tsr_call_t *call, const char *account_id, const char *why,
                  const Tessera__V1__LoginRequest *request)
{
    if (validation_lockout_fail (call->state, call->db, account_id, call->caller_key,
                                 call->request->trace_id, why, request->client_address,
                                 request->user_agent))
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the login attempt");
    return s_refuse (call);
}

//  The one-time password matched: change required, token issued.
static tsr_status_t
s_first_login (tsr_call_t *call, const char *account_id, const Tessera__V1__LoginRequest *request)
{
    uint8_t token [S_TOKEN_BYTES], digest [crypto_hash_sha256_BYTES];
    char token_hex [2 * S_TOKEN_BYTES + 1], digest_hex [2 * crypto_hash_sha256_BYTES + 1];
    char validity [16];
    randombytes_buf (token, sizeof token);
    validation_hex (token, sizeof token, token_hex);
    crypto_hash_sha256 (digest, (const unsigned char *) token_hex, strlen (token_hex));
    validation_hex (digest, sizeof digest, digest_hex);
    snprintf (validity, sizeof validity, "%d", VALIDATION_CHANGE_TOKEN_VALIDITY_S);
    const char *values [] = { account_id, digest_hex, validity };
    PGresult *res = tsr_db_query (call->db,
        "UPDATE holder_accounts SET state = 2, password_hash = NULL, otp_expires_at = NULL,"
        " change_token_sha256 = $2,"
        " change_token_expires_at = now() + $3::bigint * interval '1 second',"
        " failed_logins = 0, last_login_at = now()"
        " WHERE account_id = $1 RETURNING extract(epoch FROM change_token_expires_at)::bigint",
        3, values);
    tsr_status_t status;
    validation_account_t account;
    memset (&account, 0, sizeof account);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_bool (json, "one_time_password", true);
    tsr_json_str (json, "client_address", request->client_address);
    tsr_json_str (json, "user_agent", request->user_agent);
    if (!res || PQntuples (res) != 1
    ||  validation_audit (call->db, call->caller_key, "validation.login", account_id,
                          call->request->trace_id, &json)
    ||  validation_account_load (call->db, VALIDATION_BY_ACCOUNT, account_id, false,
                                 &account) != 1)
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the login");
    else {
        Tessera__V1__LoginReply reply = TESSERA__V1__LOGIN_REPLY__INIT;
        reply.authenticated = true;
        reply.account = &account.message;
        reply.must_change_password = true;
        reply.must_set_secret_questions = account.message.secret_question_count < 5;
        reply.password_change_token = token_hex;
        reply.password_change_token_expires_unix = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
        status = tsr_call_reply (call, &reply.base, "one-time password accepted; set a new password");
    }
    tsr_json_destroy (&json);
    validation_account_release (&account);
    PQclear (res);
    sodium_memzero (token, sizeof token);
    sodium_memzero (token_hex, sizeof token_hex);
    return status;
}

static tsr_status_t
s_login (tsr_call_t *call, const char *account_id, const Tessera__V1__LoginRequest *request)
{
    const char *values [] = { account_id };
    PGresult *res = tsr_db_query (call->db,
        "UPDATE holder_accounts SET failed_logins = 0, last_login_at = now() WHERE account_id = $1",
        1, values);
    PQclear (res);
    tsr_status_t status;
    validation_account_t account;
    memset (&account, 0, sizeof account);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_bool (json, "one_time_password", false);
    tsr_json_str (json, "client_address", request->client_address);
    tsr_json_str (json, "user_agent", request->user_agent);
    if (!res
    ||  validation_audit (call->db, call->caller_key, "validation.login", account_id,
                          call->request->trace_id, &json)
    ||  validation_account_load (call->db, VALIDATION_BY_ACCOUNT, account_id, false,
                                 &account) != 1)
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the login");
    else {
        Tessera__V1__LoginReply reply = TESSERA__V1__LOGIN_REPLY__INIT;
        reply.authenticated = true;
        reply.account = &account.message;
        reply.must_set_secret_questions = account.message.secret_question_count < 5;
        status = tsr_call_reply (call, &reply.base, "authenticated");
    }
    tsr_json_destroy (&json);
    validation_account_release (&account);
    return status;
}

static tsr_status_t
s_attempt (tsr_call_t *call, const Tessera__V1__LoginRequest *request)
{
    validation_state_t *state = call->state;
    size_t password_len = strlen (request->password);
    validation_account_t account;
    int found = validation_account_load (call->db, VALIDATION_BY_LOGIN, request->login, true,
                                         &account);
    tsr_status_t status;
    if (found < 0) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the holder accounts");
        goto done;
    }
    //  Where there is nothing to verify, the decoy takes the same time.
    const char *hash = found == 1 && !account.locked
                    && account.stored_state != VALIDATION_STATE_DISABLED
                    && !(account.stored_state == VALIDATION_STATE_PENDING_FIRST_LOGIN
                         && account.otp_expired)
                    && account.password_hash ? account.password_hash : NULL;
    bool matched = validation_hash_verify (hash ? hash : state->decoy_hash, request->password,
                                           password_len) && hash;
    if (found == 0) {
        status = s_refuse_uncounted (call, "", "unknown login", request);
        goto done;
    }
    const char *account_id = account.message.account_id;
    if (account.locked)
        status = s_refuse_uncounted (call, account_id, "account locked", request);
    else
    if (account.lock_expired && validation_lockout_clear_expired (call->db, account_id))
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot update the account");
    else
    if (account.stored_state == VALIDATION_STATE_DISABLED)
        status = s_refuse_uncounted (call, account_id, "account disabled", request);
    else
    if (account.stored_state == VALIDATION_STATE_PASSWORD_CHANGE_REQUIRED)
        status = s_refuse_counted (call, account_id,
                                   "one-time password used already; a new password is due",
                                   request);
    else
    if (account.stored_state == VALIDATION_STATE_PENDING_FIRST_LOGIN && account.otp_expired)
        status = s_refuse_counted (call, account_id, "one-time password expired", request);
    else
    if (!matched)
        status = s_refuse_counted (call, account_id, "wrong password", request);
    else
    if (account.stored_state == VALIDATION_STATE_PENDING_FIRST_LOGIN)
        status = s_first_login (call, account_id, request);
    else
        status = s_login (call, account_id, request);
    if (status == TESSERA__V1__STATUS__STATUS_OK)
        tsr_log_info (call->request->trace_id, matched ? "validation.login" : "validation.login_failed",
                      "account_id", account_id, NULL);
done:
    validation_account_release (&account);
    return status;
}

//  Every bound of the request that needs no database.
tsr_status_t
validation_login_check (tsr_call_t *call, const Tessera__V1__LoginRequest *request)
{
    if (!validation_text_valid (request->login, 1, VALIDATION_LOGIN_MAX))
        return tsr_call_fail (call, S_INVALID, "login must be 1 to %d printable characters",
                              VALIDATION_LOGIN_MAX);
    if (!validation_secret_valid (request->password, VALIDATION_PASSWORD_MAX_BYTES))
        return tsr_call_fail (call, S_INVALID, "password must be 1 to %d bytes",
                              VALIDATION_PASSWORD_MAX_BYTES);
    if (!validation_text_valid (request->client_address, 0, VALIDATION_CLIENT_ADDRESS_MAX)
    ||  !validation_text_valid (request->user_agent, 0, VALIDATION_USER_AGENT_MAX))
        return tsr_call_fail (call, S_INVALID,
                              "client_address (at most %d) and user_agent (at most %d) must be "
                              "printable characters", VALIDATION_CLIENT_ADDRESS_MAX,
                              VALIDATION_USER_AGENT_MAX);
    return TESSERA__V1__STATUS__STATUS_OK;
}

tsr_status_t
validation_handle_login (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__LoginRequest *request = (Tessera__V1__LoginRequest *) tsr_call_unpack (
        call, &tessera__v1__login_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status = validation_login_check (call, request);
    if (status == TESSERA__V1__STATUS__STATUS_OK)
        status = s_attempt (call, request);
    sodium_memzero (request->password, strlen (request->password));
    tessera__v1__login_request__free_unpacked (request, NULL);
    return status;
}
