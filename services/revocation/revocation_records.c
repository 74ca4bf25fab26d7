/*  revocation_records: rows as messages, audit and events (see
    revocation_records.h).
*/
#include "revocation_records.h"
#include "revocation_policy.h"
#include "tessera/audit.h"
#include "tessera/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t
s_int (PGresult *res, int row, int column)
{
    return strtoll (PQgetvalue (res, row, column), NULL, 10);
}

//  Splits "a,b,c" into a copy of its own.
static int
s_split_serials (const char *text, revocation_row_t *out)
{
    size_t count = *text ? 1 : 0;
    for (const char *p = text; *p; p++)
        count += *p == ',';
    out->serials_text = strdup (text);
    out->serials = calloc (count + 1, sizeof *out->serials);
    if (!out->serials_text || !out->serials)
        return -1;
    size_t i = 0;
    for (char *p = out->serials_text; *p && i < count; i++) {
        out->serials [i] = p;
        char *comma = strchr (p, ',');
        if (!comma)
            break;
        *comma = 0;
        p = comma + 1;
    }
    out->message.n_serials = count;
    out->message.serials = out->serials;
    return 0;
}

int
revocation_row_from (PGresult *res, int row, revocation_row_t *out)
{
    memset (out, 0, sizeof *out);
    Tessera__V1__RevocationRecord *m = &out->message;
    tessera__v1__revocation_record__init (m);
    tessera__v1__phone_authentication__init (&out->phone);
    tessera__v1__paper_authentication__init (&out->paper);
    tessera__v1__online_authentication__init (&out->online);
    m->revocation_id = PQgetvalue (res, row, 0);
    m->channel = (Tessera__V1__RevocationChannel) s_int (res, row, 1);
    m->state = (Tessera__V1__RevocationState) s_int (res, row, 2);
    m->requester_role = (Tessera__V1__PersonRole) s_int (res, row, 3);
    m->requester_person_id = PQgetvalue (res, row, 4);
    m->holder_person_id = PQgetvalue (res, row, 5);
    m->organisation_id = PQgetvalue (res, row, 6);
    m->requested_reason = (Tessera__V1__RevocationReason) s_int (res, row, 8);
    m->reason = (Tessera__V1__RevocationReason) s_int (res, row, 9);
    m->level = (Tessera__V1__PolicyLevel) s_int (res, row, 10);
    m->statement = PQgetvalue (res, row, 11);
    if (m->channel == REVOCATION_CHANNEL_PHONE) {
        out->phone.challenge_id = PQgetvalue (res, row, 12);
        out->phone.answered_by_person_id = PQgetvalue (res, row, 13);
        out->phone.questions_asked = (uint32_t) s_int (res, row, 14);
        out->phone.operator_id = PQgetvalue (res, row, 15);
        out->phone.passed_at_unix = s_int (res, row, 16);
        m->phone = &out->phone;
    }
    else
    if (m->channel == REVOCATION_CHANNEL_PAPER) {
        out->paper.form_sha256 = PQgetvalue (res, row, 17);
        out->paper.form_received_unix = s_int (res, row, 18);
        out->paper.signature_checked_by_operator_id = PQgetvalue (res, row, 19);
        out->paper.reference_document_id = PQgetvalue (res, row, 20);
        m->paper = &out->paper;
    }
    else {
        out->online.account_id = PQgetvalue (res, row, 21);
        out->online.client_address = PQgetvalue (res, row, 22);
        out->online.user_agent = PQgetvalue (res, row, 23);
        m->online = &out->online;
    }
    m->recorded_by_operator_id = PQgetvalue (res, row, 24);
    m->received_at_unix = s_int (res, row, 25);
    m->deadline_unix = s_int (res, row, REVOCATION_COLUMN_DEADLINE);
    m->overdue = PQgetvalue (res, row, 27) [0] == 't';
    m->decided_by_operator_id = PQgetvalue (res, row, 28);
    m->decided_at_unix = s_int (res, row, 29);
    m->decision_note = PQgetvalue (res, row, 30);
    m->applied_at_unix = s_int (res, row, 31);
    m->archived_at_unix = s_int (res, row, REVOCATION_COLUMN_ARCHIVED);
    m->retain_until_unix = s_int (res, row, 33);
    m->recorded_at_unix = s_int (res, row, 34);
    m->last_apply_error = PQgetvalue (res, row, 35);
    m->card_uuid = PQgetvalue (res, row, REVOCATION_COLUMN_CARD);
    return s_split_serials (PQgetvalue (res, row, 7), out);
}

void
revocation_row_release (revocation_row_t *row)
{
    free (row->serials);
    free (row->serials_text);
    row->serials = NULL;
    row->serials_text = NULL;
}

int
revocation_rows_from (PGresult *res, size_t count, revocation_row_t **rows_p,
                      Tessera__V1__RevocationRecord ***list_p)
{
    *rows_p = calloc (count + 1, sizeof **rows_p);
    *list_p = calloc (count + 1, sizeof **list_p);
    if (!*rows_p || !*list_p)
        return -1;
    for (size_t i = 0; i < count; i++) {
        if (revocation_row_from (res, (int) i, &(*rows_p) [i]))
            return -1;
        (*list_p) [i] = &(*rows_p) [i].message;
    }
    return 0;
}

void
revocation_rows_free (revocation_row_t **rows_p, Tessera__V1__RevocationRecord ***list_p,
                      size_t count)
{
    if (*rows_p)
        for (size_t i = 0; i < count; i++)
            revocation_row_release (&(*rows_p) [i]);
    free (*rows_p);
    free (*list_p);
    *rows_p = NULL;
    *list_p = NULL;
}

//  The request's row: 1 found, 0 none, -1 database error.
static int
s_load (tsr_db_t *db, const char *revocation_id, PGresult **res_p)
{
    const char *values [] = { revocation_id };
    *res_p = tsr_db_query (db, REVOCATION_SELECT " WHERE r.revocation_id = $1", 1, values);
    if (!*res_p)
        return -1;
    return PQntuples (*res_p) == 1 ? 1 : 0;
}

tsr_status_t
revocation_reply_record (tsr_call_t *call, const char *revocation_id, const char *text)
{
    PGresult *res = NULL;
    revocation_row_t row;
    memset (&row, 0, sizeof row);
    tsr_status_t status;
    int found = s_load (call->db, revocation_id, &res);
    if (found < 0)
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE,
                                "cannot read the revocation requests");
    else
    if (found == 0)
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                "no revocation request %s", revocation_id);
    else
    if (revocation_row_from (res, 0, &row))
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
    else
        status = tsr_call_reply (call, &row.message.base, text);
    revocation_row_release (&row);
    PQclear (res);
    return status;
}

int
revocation_audit (tsr_db_t *db, const char *actor, const char *action, const char *subject,
                  const char *trace_id, tsr_json_t **json_p)
{
    return tsr_audit_append_json (db, actor, action, subject, trace_id, json_p);
}

int
revocation_emit (tsr_db_t *db, const char *type, const char *subject, const char *trace_id,
                 const ProtobufCMessage *message)
{
    return tsr_events_append_message (db, type, subject, trace_id, message, NULL);
}

int
revocation_emit_change (tsr_db_t *db, const char *type, const char *trace_id,
                        const char *revocation_id)
{
    PGresult *res = NULL;
    revocation_row_t row;
    memset (&row, 0, sizeof row);
    int rc = -1;
    if (s_load (db, revocation_id, &res) == 1 && revocation_row_from (res, 0, &row) == 0) {
        const Tessera__V1__RevocationRecord *m = &row.message;
        if (strcmp (type, "revocation.requested") == 0) {
            Tessera__V1__RevocationRequested event = TESSERA__V1__REVOCATION_REQUESTED__INIT;
            event.revocation_id = m->revocation_id;
            event.channel = m->channel;
            event.requester_person_id = m->requester_person_id;
            event.holder_person_id = m->holder_person_id;
            event.n_serials = m->n_serials;
            event.serials = m->serials;
            event.requested_reason = m->requested_reason;
            event.deadline_unix = m->deadline_unix;
            rc = revocation_emit (db, type, revocation_id, trace_id, &event.base);
        }
        else {
            Tessera__V1__RevocationChanged event = TESSERA__V1__REVOCATION_CHANGED__INIT;
            event.revocation_id = m->revocation_id;
            event.channel = m->channel;
            event.state = m->state;
            event.requester_person_id = m->requester_person_id;
            event.holder_person_id = m->holder_person_id;
            event.n_serials = m->n_serials;
            event.serials = m->serials;
            event.reason = m->reason;
            event.decided_by_operator_id = m->decided_by_operator_id;
            rc = revocation_emit (db, type, revocation_id, trace_id, &event.base);
        }
    }
    revocation_row_release (&row);
    PQclear (res);
    return rc;
}
