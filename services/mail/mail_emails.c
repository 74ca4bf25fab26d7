/*  ListEmails, GetEmail and RequeueEmail: the outbox as operators see it.
    The body is never shown: it is not stored (its inputs are, until the
    e-mail is sent, and a one-time password stays sealed).
*/
#include "mail_handlers.h"
#include "mail_outbox.h"
#include "mail_records.h"
#include "mail_state.h"
#include "tessera/log.h"
#include "tessera/v1/mail.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

#define S_SELECT \
    "SELECT email_id, message_id, template, language, recipient_person_id," \
    " recipient_operator_id, to_address, subject, state, attempts, max_attempts," \
    " extract(epoch FROM next_attempt_at)::bigint, last_error, smtp_reply, source_service," \
    " source_event_seq, extract(epoch FROM created_at)::bigint," \
    " extract(epoch FROM sent_at)::bigint, seq FROM emails"

static int64_t
s_from_row (PGresult *res, int row, Tessera__V1__Email *email)
{
    tessera__v1__email__init (email);
    email->email_id = PQgetvalue (res, row, 0);
    email->message_id = PQgetvalue (res, row, 1);
    email->email_template = (Tessera__V1__EmailTemplate) mail_row_int (res, row, 2);
    email->language = PQgetvalue (res, row, 3);
    email->recipient_person_id = PQgetvalue (res, row, 4);
    email->recipient_operator_id = PQgetvalue (res, row, 5);
    email->to_address = PQgetvalue (res, row, 6);
    email->subject = PQgetvalue (res, row, 7);
    email->state = (Tessera__V1__EmailState) mail_row_int (res, row, 8);
    email->attempts = (uint32_t) mail_row_int (res, row, 9);
    email->max_attempts = (uint32_t) mail_row_int (res, row, 10);
    email->next_attempt_unix = email->state == MAIL_EMAIL_QUEUED ? mail_row_int (res, row, 11) : 0;
    email->last_error = PQgetvalue (res, row, 12);
    email->smtp_reply = PQgetvalue (res, row, 13);
    email->source_service = PQgetvalue (res, row, 14);
    email->source_event_seq = (uint64_t) mail_row_int (res, row, 15);
    email->created_at_unix = mail_row_int (res, row, 16);
    email->sent_at_unix = mail_row_int (res, row, 17);
    return mail_row_int (res, row, 18);
}

//  Replies with the e-mail email_id as stored now.
static tsr_status_t
s_reply_email (tsr_call_t *call, const char *email_id, const char *text)
{
    const char *values [] = { email_id };
    PGresult *res = tsr_db_query (call->db, S_SELECT " WHERE email_id = $1", 1, values);
    tsr_status_t status;
    if (!res)
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the outbox");
    else
    if (PQntuples (res) != 1)
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND, "no e-mail %s",
                                email_id);
    else {
        Tessera__V1__Email email;
        s_from_row (res, 0, &email);
        status = tsr_call_reply (call, &email.base, text);
    }
    PQclear (res);
    return status;
}

tsr_status_t
mail_handle_get_email (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__GetEmailRequest *request = (Tessera__V1__GetEmailRequest *)
        tsr_call_unpack (call, &tessera__v1__get_email_request__descriptor, &status);
    if (!request)
        return status;
    status = mail_id_valid (request->email_id)
           ? s_reply_email (call, request->email_id, "e-mail")
           : tsr_call_fail (call, S_INVALID, "email_id must be 1 to 64 of [A-Za-z0-9._:-]");
    tessera__v1__get_email_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
mail_handle_list_emails (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ListEmailsRequest *request = (Tessera__V1__ListEmailsRequest *)
        tsr_call_unpack (call, &tessera__v1__list_emails_request__descriptor, &status);
    if (!request)
        return status;
    int64_t before = 0;
    PGresult *res = NULL;
    Tessera__V1__Email *emails = NULL, **list = NULL;
    if ((int) request->state < 0 || request->state > 4 || (int) request->email_template < 0
    ||  request->email_template > MAIL_TEMPLATE_MAX
    ||  !mail_optional_id_valid (request->recipient_person_id)
    ||  !mail_page_token_parse (request->page_token, &before)) {
        status = tsr_call_fail (call, S_INVALID, "state is 0..4, email_template 0..%d, "
                                "recipient_person_id 1 to 64 of [A-Za-z0-9._:-], page_token from "
                                "the previous reply", MAIL_TEMPLATE_MAX);
        goto done;
    }
    uint32_t limit = mail_page_limit (request->limit);
    char state [4], template_id [4], before_text [24], limit_text [8];
    snprintf (state, sizeof state, "%d", (int) request->state);
    snprintf (template_id, sizeof template_id, "%d", (int) request->email_template);
    snprintf (before_text, sizeof before_text, "%lld", (long long) before);
    snprintf (limit_text, sizeof limit_text, "%u", limit + 1);
    const char *values [] = { state, template_id, request->recipient_person_id, before_text,
                              limit_text };
    res = tsr_db_query (call->db, S_SELECT " WHERE ($1 = '0' OR state = $1::smallint)"
                        " AND ($2 = '0' OR template = $2::smallint)"
                        " AND ($3 = '' OR recipient_person_id = $3) AND seq < $4::bigint"
                        " ORDER BY seq DESC LIMIT $5::int", 5, values);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the outbox");
        goto done;
    }
    size_t rows = (size_t) PQntuples (res), count = rows > limit ? limit : rows;
    emails = calloc (count + 1, sizeof *emails);
    list = calloc (count + 1, sizeof *list);
    if (!emails || !list) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
        goto done;
    }
    int64_t last_seq = 0;
    for (size_t i = 0; i < count; i++) {
        last_seq = s_from_row (res, (int) i, &emails [i]);
        list [i] = &emails [i];
    }
    char next [24] = "";
    if (rows > limit)
        snprintf (next, sizeof next, "%lld", (long long) last_seq);
    Tessera__V1__ListEmailsReply reply = TESSERA__V1__LIST_EMAILS_REPLY__INIT;
    reply.n_emails = count;
    reply.emails = list;
    reply.next_page_token = next;
    status = tsr_call_reply (call, &reply.base, "e-mails");
done:
    free (list);
    free (emails);
    PQclear (res);
    tessera__v1__list_emails_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
mail_handle_requeue_email (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__RequeueEmailRequest *request = (Tessera__V1__RequeueEmailRequest *)
        tsr_call_unpack (call, &tessera__v1__requeue_email_request__descriptor, &status);
    if (!request)
        return status;
    PGresult *res = NULL;
    if (!mail_id_valid (request->email_id)) {
        status = tsr_call_fail (call, S_INVALID, "email_id must be 1 to 64 of [A-Za-z0-9._:-]");
        goto done;
    }
    if (!mail_text_valid (request->reason, 1, MAIL_NOTE_MAX)) {
        status = tsr_call_fail (call, S_INVALID, "reason is required: 1 to %d printable "
                                "characters (no line breaks)", MAIL_NOTE_MAX);
        goto done;
    }
    const char *values [] = { request->email_id };
    res = tsr_db_query (call->db,
        "UPDATE emails SET state = 1, attempts = 0, next_attempt_at = now(), last_error = ''"
        " WHERE email_id = $1 AND state = 4 RETURNING message_id, template, recipient_person_id,"
        " recipient_operator_id, trace_id", 1, values);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot update the outbox");
        goto done;
    }
    if (PQntuples (res) != 1) {
        PQclear (res);
        res = tsr_db_query (call->db, "SELECT state FROM emails WHERE email_id = $1", 1, values);
        status = !res ? tsr_call_fail (call, S_UNAVAILABLE, "cannot read the outbox")
               : PQntuples (res) == 0
               ? tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND, "no e-mail %s",
                                request->email_id)
               : tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION,
                                "e-mail %s is not a dead letter: only dead letters are requeued",
                                request->email_id);
        goto done;
    }
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "reason", request->reason);
    tsr_json_str (json, "message_id", PQgetvalue (res, 0, 0));
    Tessera__V1__EmailChanged event = TESSERA__V1__EMAIL_CHANGED__INIT;
    event.email_id = request->email_id;
    event.message_id = PQgetvalue (res, 0, 0);
    event.email_template = (Tessera__V1__EmailTemplate) mail_row_int (res, 0, 1);
    event.recipient_person_id = PQgetvalue (res, 0, 2);
    event.recipient_operator_id = PQgetvalue (res, 0, 3);
    event.state = TESSERA__V1__EMAIL_STATE__EMAIL_STATE_QUEUED;
    if (mail_audit (call->db, call->caller_key, "mail.email_requeued", request->email_id,
                    call->request->trace_id, &json)
    ||  mail_emit (call->db, "email.requeued", request->email_id, call->request->trace_id,
                   &event.base)) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the requeue");
        goto done;
    }
    tsr_log_info (call->request->trace_id, "mail.email_requeued", "email_id", request->email_id,
                  NULL);
    status = s_reply_email (call, request->email_id, "requeued with the same Message-ID");
done:
    PQclear (res);
    tessera__v1__requeue_email_request__free_unpacked (request, NULL);
    return status;
}
