/*  revocation_store: a new request (see revocation_store.h).
*/
#include "revocation_store.h"
#include "revocation_policy.h"
#include "revocation_records.h"
#include "revocation_state.h"
#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

static const char *s_channel_names [] = { "unspecified", "online", "phone", "paper_form" };

//  The request row.
static tsr_status_t
s_insert (tsr_call_t *call, const revocation_new_t *request, const char *revocation_id,
          long deadline_s)
{
    char channel [12], state [12], role [12], reason [12], level [12], deadline [24], received [24];
    snprintf (channel, sizeof channel, "%d", request->channel);
    snprintf (state, sizeof state, "%d", request->channel == REVOCATION_CHANNEL_ONLINE
                                         ? REVOCATION_STATE_APPROVED : REVOCATION_STATE_PENDING);
    snprintf (role, sizeof role, "%d", request->requester_role);
    snprintf (reason, sizeof reason, "%d", request->requested_reason);
    snprintf (level, sizeof level, "%d", request->level);
    snprintf (deadline, sizeof deadline, "%ld", deadline_s);
    snprintf (received, sizeof received, "%lld", (long long) request->form_received_unix);
    bool phone = request->channel == REVOCATION_CHANNEL_PHONE;
    bool paper = request->channel == REVOCATION_CHANNEL_PAPER;
    bool online = request->channel == REVOCATION_CHANNEL_ONLINE;
    const char *values [] = {
        revocation_id, channel, state, role, request->requester_person_id,
        request->holder_person_id, request->organisation_id, reason, level, request->statement,
        phone ? request->challenge_id : NULL,
        paper ? request->form_sha256 : NULL, paper ? received : NULL,
        paper ? request->recorded_by_operator_id : NULL,
        paper ? request->reference_document_id : NULL,
        online ? request->account_id : NULL, online ? request->client_address : NULL,
        online ? request->user_agent : NULL,
        request->recorded_by_operator_id, call->caller_key, deadline,
        request->card_uuid && *request->card_uuid ? request->card_uuid : NULL };
    //  received_at is whole seconds: now, or the day the form came.
    PGresult *res = tsr_db_query (call->db,
        "WITH t AS (SELECT CASE WHEN $13::bigint IS NULL THEN date_trunc('second', now())"
        "                  ELSE to_timestamp($13::bigint) END AS received)"
        " INSERT INTO revocations (revocation_id, channel, state, requester_role,"
        " requester_person_id, holder_person_id, organisation_id, requested_reason, reason,"
        " level, statement, challenge_id, form_sha256, form_received_at, signature_checked_by,"
        " reference_document_id, account_id, client_address, user_agent,"
        " recorded_by_operator_id, recorded_by_key, received_at, deadline_at,"
        " decided_at, decided_by_key, card_uuid)"
        " SELECT $1, $2::smallint, $3::smallint, $4::smallint, $5, $6, $7, $8::smallint,"
        " $8::smallint, $9::smallint, $10, $11, $12, to_timestamp($13::bigint), $14, $15, $16,"
        " $17, $18, $19, $20, t.received, t.received + $21::bigint * interval '1 second',"
        " CASE WHEN $3::smallint = 2 THEN date_trunc('second', now()) END,"
        " CASE WHEN $3::smallint = 2 THEN $20 END, $22"
        " FROM t", 22, values);
    PQclear (res);
    if (res)
        return S_OK;
    if (strcmp (tsr_db_sqlstate (call->db), "23505") == 0)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_ALREADY_EXISTS,
                              paper ? "form_sha256: this form was recorded already"
                                    : "this challenge was used already");
    return tsr_call_fail (call, S_UNAVAILABLE, "cannot store the revocation request");
}

//  One row per certificate, open.
static tsr_status_t
s_insert_serials (tsr_call_t *call, const revocation_new_t *request, const char *revocation_id)
{
    for (size_t i = 0; i < request->serial_count; i++) {
        char position [24], level [12];
        snprintf (position, sizeof position, "%zu", i + 1);
        snprintf (level, sizeof level, "%d", request->levels [i]);
        const char *values [] = { revocation_id, position, request->serials [i], level };
        PGresult *res = tsr_db_query (call->db,
            "INSERT INTO revocation_serials (revocation_id, position, serial_hex, level)"
            " VALUES ($1, $2::smallint, $3, $4::smallint)", 4, values);
        PQclear (res);
        if (!res && strcmp (tsr_db_sqlstate (call->db), "23505") == 0)
            return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION,
                                  "serials[%zu]: certificate %s is in another open revocation "
                                  "request already", i, request->serials [i]);
        if (!res)
            return tsr_call_fail (call, S_UNAVAILABLE, "cannot store the revocation request");
    }
    return S_OK;
}

//  The audit row: who asked, as what, how authenticated, who recorded it.
static int
s_audit (tsr_call_t *call, const revocation_new_t *request, const char *revocation_id,
         long deadline_s)
{
    const char *items [REVOCATION_SERIALS_MAX];
    for (size_t i = 0; i < request->serial_count; i++)
        items [i] = request->serials [i];
    char *serials = tsr_json_string_array (items, request->serial_count);
    if (!serials)
        return -1;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "channel", s_channel_names [request->channel]);
    tsr_json_str (json, "requester_person_id", request->requester_person_id);
    tsr_json_int (json, "requester_role", request->requester_role);
    tsr_json_str (json, "holder_person_id", request->holder_person_id);
    tsr_json_str (json, "organisation_id", request->organisation_id);
    if (request->card_uuid && *request->card_uuid)
        tsr_json_str (json, "card_uuid", request->card_uuid);
    tsr_json_raw (json, "serials", serials);
    tsr_json_int (json, "requested_reason", request->requested_reason);
    tsr_json_int (json, "level", request->level);
    tsr_json_int (json, "deadline_s", deadline_s);
    tsr_json_str (json, "recorded_by_operator_id", request->recorded_by_operator_id);
    if (request->channel == REVOCATION_CHANNEL_PHONE) {
        tsr_json_str (json, "authenticated_by", "secret_questions");
        tsr_json_str (json, "challenge_id", request->challenge_id);
        tsr_json_int (json, "questions_asked", request->questions_asked);
    }
    else
    if (request->channel == REVOCATION_CHANNEL_PAPER) {
        tsr_json_str (json, "authenticated_by", "handwritten_signature");
        tsr_json_str (json, "form_sha256", request->form_sha256);
        tsr_json_int (json, "form_received_unix", request->form_received_unix);
        tsr_json_str (json, "signature_checked_by_operator_id",
                      request->recorded_by_operator_id);
        tsr_json_str (json, "reference_document_id", request->reference_document_id);
    }
    else {
        tsr_json_str (json, "authenticated_by", "portal_session");
        tsr_json_str (json, "account_id", request->account_id);
        tsr_json_str (json, "client_address", request->client_address);
        tsr_json_str (json, "user_agent", request->user_agent);
    }
    free (serials);
    return revocation_audit (call->db, call->caller_key, "revocation.requested", revocation_id,
                             call->request->trace_id, &json);
}

void
revocation_new_id (char revocation_id [REVOCATION_ID_MAX + 1])
{
    char random_id [TSR_ID_HEX_SIZE];
    tsr_random_id (random_id);
    snprintf (revocation_id, REVOCATION_ID_MAX + 1, "rv-%s", random_id);
}

tsr_status_t
revocation_store (tsr_call_t *call, const revocation_new_t *request, const char *revocation_id)
{
    revocation_state_t *state = call->state;
    long deadline_s = revocation_deadline_s (request->level, state->deadline_override_s);
    tsr_status_t status = s_insert (call, request, revocation_id, deadline_s);
    if (status == S_OK)
        status = s_insert_serials (call, request, revocation_id);
    if (status != S_OK)
        return status;
    if (s_audit (call, request, revocation_id, deadline_s)
    ||  revocation_emit_change (call->db, "revocation.requested", call->request->trace_id,
                                revocation_id))
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the revocation request");
    tsr_counter_inc (state->requests_counter, s_channel_names [request->channel], 1);
    tsr_log_info (call->request->trace_id, "revocation.requested", "revocation_id", revocation_id,
                  "channel", s_channel_names [request->channel], "holder_person_id",
                  request->holder_person_id, NULL);
    return S_OK;
}
