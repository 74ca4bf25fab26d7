/*  mail_outbox: queue, claim, finish, reclaim (see mail_outbox.h).
*/
#include "mail_outbox.h"
#include "mail_header.h"
#include "mail_records.h"
#include "tessera/log.h"
#include "tessera/v1/mail.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t
mail_outbox_backoff_ms (long base_ms, long max_ms, int attempts)
{
    int64_t delay = base_ms;
    for (int i = 1; i < attempts && delay < max_ms; i++)
        delay *= 2;
    return delay < max_ms ? delay : max_ms;
}

static void
s_audit_refusal (tsr_db_t *db, const mail_enqueue_t *email, const char *reason)
{
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "template", mail_template_name (email->template_id));
    tsr_json_str (json, "recipient_person_id", email->recipient_person_id);
    tsr_json_str (json, "recipient_operator_id", email->recipient_operator_id);
    tsr_json_str (json, "dedup_key", email->dedup_key);
    tsr_json_str (json, "reason", reason);
    mail_audit (db, email->actor, "mail.email_refused", email->dedup_key, email->trace_id, &json);
    tsr_log_warn (email->trace_id, "mail.email_refused", "dedup_key", email->dedup_key,
                  "reason", reason, NULL);
}

//  The params as a flat JSON object (caller frees), or NULL.
static char *
s_params_json (const mail_enqueue_t *email)
{
    tsr_json_t *json = tsr_json_new ();
    for (size_t i = 0; i < email->param_count; i++)
        tsr_json_str (json, email->params [i].name, email->params [i].value);
    return tsr_json_finish (&json);
}

mail_enqueue_result_t
mail_outbox_enqueue (tsr_db_t *db, mail_state_t *state, const mail_enqueue_t *email,
                     char *reason, size_t reason_size)
{
    char *subject = NULL, err [160] = "";
    *reason = 0;
    if (!mail_address_valid (email->to_address))
        snprintf (reason, reason_size, "the recipient's e-mail address is not a plain address "
                                       "local@domain (refused, not rewritten)");
    else
    if (*email->to_name && !mail_text_valid (email->to_name, 1, MAIL_NAME_MAX))
        snprintf (reason, reason_size, "the recipient's name holds a line break or another "
                                       "control character, or is over %d characters",
                  MAIL_NAME_MAX);
    else
    if (mail_template_render (email->template_id, email->language, email->params,
                              email->param_count, &subject, NULL, err, sizeof err))
        snprintf (reason, reason_size, "cannot write the subject: %s", err);
    else
    if (!mail_text_valid (subject, 1, MAIL_SUBJECT_MAX))
        snprintf (reason, reason_size, "the subject holds a line break or another control "
                                       "character, or is over %d characters", MAIL_SUBJECT_MAX);
    if (*reason) {
        free (subject);
        s_audit_refusal (db, email, reason);
        return MAIL_ENQUEUE_REFUSED;
    }
    char email_id [TSR_ID_HEX_SIZE], message_id [TSR_ID_HEX_SIZE + MAIL_ADDRESS_MAX + 4];
    char template_id [8], max_attempts [16], seq [24];
    tsr_random_id (email_id);
    snprintf (message_id, sizeof message_id, "<%s@%s>", email_id, state->message_domain);
    snprintf (template_id, sizeof template_id, "%d", email->template_id);
    snprintf (max_attempts, sizeof max_attempts, "%ld", state->max_attempts);
    snprintf (seq, sizeof seq, "%llu", (unsigned long long) email->source_event_seq);
    char *params = s_params_json (email);
    const char *values [] = {
        email_id, message_id, template_id, mail_template_language (email->language),
        email->recipient_person_id, email->recipient_operator_id, email->to_address,
        email->to_name, subject, params, (const char *) email->sealed_secret, max_attempts,
        email->source_service, seq, email->dedup_key, email->trace_id ? email->trace_id : ""
    };
    int lengths [16] = { [10] = (int) email->sealed_size };
    int formats [16] = { [10] = 1 };
    PGresult *res = params ? tsr_db_query_ex (db,
        "INSERT INTO emails (email_id, message_id, template, language, recipient_person_id,"
        " recipient_operator_id, to_address, to_name, subject, params, sealed_secret,"
        " max_attempts, source_service, source_event_seq, dedup_key, trace_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14, $15, $16)"
        " ON CONFLICT (dedup_key) DO NOTHING RETURNING email_id",
        16, values, lengths, formats, 0) : NULL;
    mail_enqueue_result_t result = !res ? MAIL_ENQUEUE_FAILED
                                 : PQntuples (res) == 1 ? MAIL_ENQUEUE_QUEUED
                                 : MAIL_ENQUEUE_DUPLICATE;
    PQclear (res);
    free (params);
    if (result == MAIL_ENQUEUE_QUEUED) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "message_id", message_id);
        tsr_json_str (json, "template", mail_template_name (email->template_id));
        tsr_json_str (json, "language", mail_template_language (email->language));
        tsr_json_str (json, "recipient_person_id", email->recipient_person_id);
        tsr_json_str (json, "recipient_operator_id", email->recipient_operator_id);
        tsr_json_str (json, "dedup_key", email->dedup_key);
        tsr_json_bool (json, "sealed_secret", email->sealed_secret != NULL);
        if (mail_audit (db, email->actor, "mail.email_queued", email_id, email->trace_id, &json))
            result = MAIL_ENQUEUE_FAILED;
    }
    free (subject);
    return result;
}

#define S_CLAIM_COLUMNS \
    " e.email_id, e.message_id, e.template, e.language, e.to_address, e.to_name, e.subject," \
    " e.attempts, e.max_attempts, e.recipient_person_id, e.recipient_operator_id, e.trace_id," \
    " e.sealed_secret"

int
mail_outbox_claim (tsr_db_t *db, mail_state_t *state, mail_claim_t *claim)
{
    (void) state;
    memset (claim, 0, sizeof *claim);
    tsr_random_id (claim->attempt_id);
    if (tsr_db_begin (db))
        return -1;
    const char *values [] = { claim->attempt_id };
    claim->row = tsr_db_query (db,
        "WITH next AS (SELECT email_id FROM emails WHERE state = 1 AND next_attempt_at <= now()"
        "  ORDER BY next_attempt_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " UPDATE emails e SET state = 2, claim_id = $1, claimed_at = now(),"
        " attempts = e.attempts + 1 FROM next WHERE e.email_id = next.email_id"
        " RETURNING" S_CLAIM_COLUMNS, 1, values);
    if (!claim->row || PQntuples (claim->row) != 1) {
        int rc = claim->row ? 0 : -1;
        mail_claim_release (claim);
        tsr_db_rollback (db);
        return rc;
    }
    PGresult *row = claim->row;
    claim->email_id = PQgetvalue (row, 0, 0);
    claim->message_id = PQgetvalue (row, 0, 1);
    claim->template_id = (int) mail_row_int (row, 0, 2);
    claim->language = PQgetvalue (row, 0, 3);
    claim->to_address = PQgetvalue (row, 0, 4);
    claim->to_name = PQgetvalue (row, 0, 5);
    claim->subject = PQgetvalue (row, 0, 6);
    claim->attempts = (int) mail_row_int (row, 0, 7);
    claim->max_attempts = (int) mail_row_int (row, 0, 8);
    claim->recipient_person_id = PQgetvalue (row, 0, 9);
    claim->recipient_operator_id = PQgetvalue (row, 0, 10);
    claim->trace_id = PQgetvalue (row, 0, 11);
    if (!PQgetisnull (row, 0, 12))
        claim->sealed = PQunescapeBytea ((const unsigned char *) PQgetvalue (row, 0, 12),
                                         &claim->sealed_size);
    const char *attempt [] = { claim->attempt_id, claim->email_id };
    PGresult *res = tsr_db_query (db,
        "INSERT INTO email_attempts (attempt_id, email_id) VALUES ($1, $2)", 2, attempt);
    PQclear (res);
    const char *email [] = { claim->email_id };
    claim->params_res = res ? tsr_db_query (db,
        "SELECT p.key, p.value FROM emails e, jsonb_each_text(e.params) p"
        " WHERE e.email_id = $1 ORDER BY p.key", 1, email) : NULL;
    if (!claim->params_res || (!PQgetisnull (row, 0, 12) && !claim->sealed)
    ||  PQntuples (claim->params_res) > MAIL_PARAMS_MAX || tsr_db_commit (db)) {
        tsr_db_rollback (db);
        mail_claim_release (claim);
        return -1;
    }
    claim->param_count = (size_t) PQntuples (claim->params_res);
    for (size_t i = 0; i < claim->param_count; i++)
        claim->params [i] = (mail_param_t) { PQgetvalue (claim->params_res, (int) i, 0),
                                             PQgetvalue (claim->params_res, (int) i, 1) };
    return 1;
}

void
mail_claim_release (mail_claim_t *claim)
{
    if (claim->sealed)
        PQfreemem (claim->sealed);
    PQclear (claim->row);
    PQclear (claim->params_res);
    memset (claim, 0, sizeof *claim);
}

//  "email.sent" / "email.dead_lettered" / "email.requeued" of a row.
static int
s_emit (tsr_db_t *db, const char *type, const char *email_id, const char *message_id,
        int template_id, const char *person_id, const char *operator_id, int state,
        int attempts, const char *trace_id)
{
    Tessera__V1__EmailChanged event = TESSERA__V1__EMAIL_CHANGED__INIT;
    event.email_id = (char *) email_id;
    event.message_id = (char *) message_id;
    event.email_template = (Tessera__V1__EmailTemplate) template_id;
    event.recipient_person_id = (char *) person_id;
    event.recipient_operator_id = (char *) operator_id;
    event.state = (Tessera__V1__EmailState) state;
    event.attempts = (uint32_t) attempts;
    return mail_emit (db, type, email_id, trace_id, &event.base);
}

int
mail_outbox_finish (tsr_db_t *db, mail_state_t *state, const mail_claim_t *claim,
                    mail_attempt_outcome_t outcome, const char *detail)
{
    char delay [24];
    snprintf (delay, sizeof delay, "%lld", (long long) mail_outbox_backoff_ms (
        state->retry_base_ms, state->retry_max_ms, claim->attempts));
    const char *values [] = { claim->email_id, claim->attempt_id, detail, delay };
    static const char *sql [] = {
        //  Sent: recorded even if the claim was taken back meanwhile (it
        //  was sent: sending it again would be the duplicate).
        "UPDATE emails SET state = 3, claim_id = NULL, claimed_at = NULL, params = NULL,"
        " sealed_secret = NULL, smtp_reply = $3, last_error = '', sent_at = now()"
        " WHERE email_id = $1 AND state <> 3 AND (state <> 2 OR claim_id = $2)"
        " AND $4 <> '' RETURNING state, attempts",
        "UPDATE emails SET state = CASE WHEN attempts >= max_attempts THEN 4 ELSE 1 END,"
        " claim_id = NULL, claimed_at = NULL, last_error = $3,"
        " next_attempt_at = now() + $4::bigint * interval '1 millisecond'"
        " WHERE email_id = $1 AND state = 2 AND claim_id = $2 RETURNING state, attempts",
        "UPDATE emails SET state = 4, claim_id = NULL, claimed_at = NULL, last_error = $3"
        " WHERE email_id = $1 AND state = 2 AND claim_id = $2 AND $4 <> ''"
        " RETURNING state, attempts"
    };
    if (tsr_db_begin (db))
        return -1;
    PGresult *res = tsr_db_query (db, sql [outcome], 4, values);
    int new_state = res && PQntuples (res) == 1 ? (int) mail_row_int (res, 0, 0) : 0;
    int rc = res ? 0 : -1;
    PQclear (res);
    const char *outcome_name = new_state == MAIL_EMAIL_SENT ? "sent"
                             : new_state == MAIL_EMAIL_DEAD ? "dead" : "retry";
    const char *attempt [] = { claim->attempt_id, outcome_name, detail };
    res = rc ? NULL : tsr_db_query (db,
        "UPDATE email_attempts SET finished_at = now(), outcome = $2, detail = $3"
        " WHERE attempt_id = $1 AND outcome IS NULL", 3, attempt);
    rc = res ? 0 : -1;
    PQclear (res);
    if (rc == 0 && (new_state == MAIL_EMAIL_SENT || new_state == MAIL_EMAIL_DEAD)) {
        bool sent = new_state == MAIL_EMAIL_SENT;
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "message_id", claim->message_id);
        tsr_json_str (json, "attempt_id", claim->attempt_id);
        tsr_json_int (json, "attempts", claim->attempts);
        tsr_json_str (json, sent ? "smtp_reply" : "last_error", detail);
        if (mail_audit (db, MAIL_ACTOR_SYSTEM, sent ? "mail.email_sent" : "mail.email_dead_lettered",
                        claim->email_id, claim->trace_id, &json)
        ||  s_emit (db, sent ? "email.sent" : "email.dead_lettered", claim->email_id,
                    claim->message_id, claim->template_id, claim->recipient_person_id,
                    claim->recipient_operator_id, new_state, claim->attempts, claim->trace_id))
            rc = -1;
    }
    if (rc || tsr_db_commit (db)) {
        tsr_db_rollback (db);
        return -1;
    }
    if (new_state == MAIL_EMAIL_DEAD)
        tsr_counter_inc (state->dead_total, NULL, 1);
    return 0;
}

int
mail_outbox_reclaim (tsr_db_t *db, mail_state_t *state)
{
    char lease [24];
    snprintf (lease, sizeof lease, "%ld", state->lease_s);
    const char *values [] = { lease };
    if (tsr_db_begin (db))
        return -1;
    PGresult *res = tsr_db_query (db,
        "WITH stale AS (SELECT email_id, claim_id FROM emails WHERE state = 2"
        "  AND claimed_at < now() - $1::bigint * interval '1 second' FOR UPDATE SKIP LOCKED)"
        " UPDATE emails e SET state = CASE WHEN e.attempts >= e.max_attempts THEN 4 ELSE 1 END,"
        " claim_id = NULL, claimed_at = NULL, next_attempt_at = now(),"
        " last_error = 'attempt ' || stale.claim_id || ' did not finish (the process stopped or"
        " stalled); it goes again with the same Message-ID'"
        " FROM stale WHERE e.email_id = stale.email_id RETURNING e.email_id, stale.claim_id,"
        " e.state, e.message_id, e.template, e.recipient_person_id, e.recipient_operator_id,"
        " e.attempts, e.trace_id", 1, values);
    int count = res ? PQntuples (res) : -1;
    for (int i = 0; i < count; i++) {
        const char *email_id = PQgetvalue (res, i, 0);
        const char *attempt [] = { PQgetvalue (res, i, 1) };
        int new_state = (int) mail_row_int (res, i, 2);
        PGresult *done = tsr_db_query (db,
            "UPDATE email_attempts SET finished_at = now(), outcome = 'reclaimed',"
            " detail = 'claim expired' WHERE attempt_id = $1 AND outcome IS NULL", 1, attempt);
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "attempt_id", attempt [0]);
        tsr_json_str (json, "message_id", PQgetvalue (res, i, 3));
        tsr_json_bool (json, "dead_lettered", new_state == MAIL_EMAIL_DEAD);
        if (!done
        ||  mail_audit (db, MAIL_ACTOR_SYSTEM, "mail.email_reclaimed", email_id,
                        PQgetvalue (res, i, 8), &json)
        ||  (new_state == MAIL_EMAIL_DEAD
             && s_emit (db, "email.dead_lettered", email_id, PQgetvalue (res, i, 3),
                        (int) mail_row_int (res, i, 4), PQgetvalue (res, i, 5),
                        PQgetvalue (res, i, 6), new_state, (int) mail_row_int (res, i, 7),
                        PQgetvalue (res, i, 8))))
            count = -1;
        PQclear (done);
        if (count >= 0)
            tsr_log_warn (PQgetvalue (res, i, 8), "mail.email_reclaimed", "email_id", email_id,
                          "attempt_id", attempt [0], NULL);
    }
    PQclear (res);
    if (count < 0 || tsr_db_commit (db)) {
        tsr_db_rollback (db);
        return -1;
    }
    return count;
}
