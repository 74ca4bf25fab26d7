/*  validation_records: rows as messages, audit and events (see
    validation_records.h).
*/
#include "validation_records.h"
#include "tessera/audit.h"
#include "tessera/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ACCOUNT_SELECT \
    "SELECT a.account_id, a.person_id, a.login, a.state," \
    " coalesce(a.locked_until > now(), false), coalesce(a.locked_until <= now(), false)," \
    " a.failed_logins, coalesce(extract(epoch FROM a.locked_until)::bigint, 0)," \
    " coalesce(extract(epoch FROM a.otp_expires_at)::bigint, 0)," \
    " extract(epoch FROM a.created_at)::bigint," \
    " coalesce(extract(epoch FROM a.password_changed_at)::bigint, 0)," \
    " coalesce(extract(epoch FROM a.last_login_at)::bigint, 0)," \
    " (SELECT count(*) FROM secret_questions q WHERE q.account_id = a.account_id)," \
    " a.password_hash, a.change_token_sha256," \
    " coalesce(extract(epoch FROM a.change_token_expires_at)::bigint, 0)," \
    " coalesce(a.otp_expires_at <= now(), false)" \
    " FROM holder_accounts a"

static int64_t
s_int (PGresult *res, int row, int column)
{
    return strtoll (PQgetvalue (res, row, column), NULL, 10);
}

static bool
s_bool (PGresult *res, int row, int column)
{
    return PQgetvalue (res, row, column) [0] == 't';
}

static const char *
s_nullable (PGresult *res, int row, int column)
{
    return PQgetisnull (res, row, column) ? NULL : PQgetvalue (res, row, column);
}

int
validation_account_load (tsr_db_t *db, validation_account_key_t key, const char *value,
                         bool lock, validation_account_t *account)
{
    memset (account, 0, sizeof *account);
    tessera__v1__holder_account__init (&account->message);
    static const char *sql [2][3] = {
        { S_ACCOUNT_SELECT " WHERE a.account_id = $1",
          S_ACCOUNT_SELECT " WHERE a.person_id = $1",
          S_ACCOUNT_SELECT " WHERE lower(a.login) = lower($1)" },
        { S_ACCOUNT_SELECT " WHERE a.account_id = $1 FOR UPDATE OF a",
          S_ACCOUNT_SELECT " WHERE a.person_id = $1 FOR UPDATE OF a",
          S_ACCOUNT_SELECT " WHERE lower(a.login) = lower($1) FOR UPDATE OF a" } };
    const char *values [] = { value };
    PGresult *res = tsr_db_query (db, sql [lock ? 1 : 0][key], 1, values);
    if (!res)
        return -1;
    account->res = res;
    if (PQntuples (res) != 1)
        return 0;
    Tessera__V1__HolderAccount *message = &account->message;
    message->account_id = PQgetvalue (res, 0, 0);
    message->person_id = PQgetvalue (res, 0, 1);
    message->login = PQgetvalue (res, 0, 2);
    account->stored_state = (int) s_int (res, 0, 3);
    account->locked = s_bool (res, 0, 4);
    account->lock_expired = s_bool (res, 0, 5);
    message->state = account->locked
        ? TESSERA__V1__HOLDER_ACCOUNT_STATE__HOLDER_ACCOUNT_STATE_LOCKED
        : (Tessera__V1__HolderAccountState) account->stored_state;
    message->must_change_password =
        account->stored_state == VALIDATION_STATE_PENDING_FIRST_LOGIN
        || account->stored_state == VALIDATION_STATE_PASSWORD_CHANGE_REQUIRED;
    message->failed_logins = (uint32_t) s_int (res, 0, 6);
    message->locked_until_unix = account->locked ? s_int (res, 0, 7) : 0;
    message->one_time_password_expires_unix =
        account->stored_state == VALIDATION_STATE_PENDING_FIRST_LOGIN ? s_int (res, 0, 8) : 0;
    message->created_at_unix = s_int (res, 0, 9);
    message->password_changed_at_unix = s_int (res, 0, 10);
    message->last_login_unix = s_int (res, 0, 11);
    message->secret_question_count = (uint32_t) s_int (res, 0, 12);
    account->password_hash = s_nullable (res, 0, 13);
    account->change_token_sha256 = s_nullable (res, 0, 14);
    account->change_token_expires_unix = s_int (res, 0, 15);
    account->otp_expired = s_bool (res, 0, 16);
    return 1;
}

void
validation_account_release (validation_account_t *account)
{
    PQclear (account->res);
    account->res = NULL;
}

void
validation_decision_from_row (PGresult *res, int row, Tessera__V1__Decision *decision)
{
    tessera__v1__decision__init (decision);
    decision->decision_id = PQgetvalue (res, row, 0);
    decision->card_request_id = PQgetvalue (res, row, 1);
    decision->batch_id = PQgetvalue (res, row, 2);
    decision->person_id = PQgetvalue (res, row, 3);
    decision->outcome = (Tessera__V1__DecisionOutcome) s_int (res, row, 4);
    decision->reason = PQgetvalue (res, row, 5);
    decision->note = PQgetvalue (res, row, 6);
    decision->decided_by_operator_id = PQgetvalue (res, row, 7);
    decision->entered_by_operator_id = PQgetvalue (res, row, 8);
    decision->decided_at_unix = s_int (res, row, 9);
    decision->account_id = PQgetvalue (res, row, 10);
    decision->account_created = s_bool (res, row, 11);
}

int
validation_decision_load (tsr_db_t *db, const char *card_request_id,
                          validation_decision_t *decision)
{
    memset (decision, 0, sizeof *decision);
    tessera__v1__decision__init (&decision->message);
    const char *values [] = { card_request_id };
    decision->res = tsr_db_query (db, VALIDATION_DECISION_SELECT " WHERE card_request_id = $1",
                                  1, values);
    if (!decision->res)
        return -1;
    if (PQntuples (decision->res) != 1)
        return 0;
    validation_decision_from_row (decision->res, 0, &decision->message);
    return 1;
}

void
validation_decision_release (validation_decision_t *decision)
{
    PQclear (decision->res);
    decision->res = NULL;
}

int
validation_audit (tsr_db_t *db, const char *actor, const char *action, const char *subject,
                  const char *trace_id, tsr_json_t **json_p)
{
    return tsr_audit_append_json (db, actor, action, subject, trace_id, json_p);
}

int
validation_emit (tsr_db_t *db, const char *type, const char *subject, const char *trace_id,
                 const ProtobufCMessage *event)
{
    return tsr_events_append_message (db, type, subject, trace_id, event, NULL);
}

int
validation_emit_account (tsr_db_t *db, const char *type, const char *trace_id,
                         const char *account_id)
{
    validation_account_t account;
    int found = validation_account_load (db, VALIDATION_BY_ACCOUNT, account_id, false, &account);
    int rc = -1;
    if (found == 1) {
        Tessera__V1__HolderAccountChanged event = TESSERA__V1__HOLDER_ACCOUNT_CHANGED__INIT;
        event.account_id = account.message.account_id;
        event.person_id = account.message.person_id;
        event.state = account.message.state;
        event.locked_until_unix = account.message.locked_until_unix;
        rc = validation_emit (db, type, account_id, trace_id, &event.base);
    }
    validation_account_release (&account);
    return rc;
}

void
validation_hex (const uint8_t *bytes, size_t size, char *hex)
{
    static const char digits [] = "0123456789abcdef";
    for (size_t i = 0; i < size; i++) {
        hex [2 * i] = digits [bytes [i] >> 4];
        hex [2 * i + 1] = digits [bytes [i] & 0x0f];
    }
    hex [2 * size] = 0;
}
