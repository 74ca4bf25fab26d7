/*  CreateCardRequest, CancelCardRequest, GetCardRequest, ListCardRequests.

    A card request asks for one card for one person of the batch's
    organisation, at a policy level (** unless said) and for the uses
    authentication and/or signature; software certificates only at level
    *. It is justified by the person's open dossier, checked when the batch
    is submitted. A person has at most one undecided (draft or submitted)
    request. The caller's operator id is kept as entered_by_operator_id:
    validation never lets that operator decide the request. A RENEWAL or
    REPLACEMENT names the request it follows and may reuse its dossier
    (enrollment_renewal.c).
*/
#include "enrollment_calls.h"
#include "enrollment_input.h"
#include "enrollment_records.h"
#include "enrollment_registry.h"
#include "enrollment_renewal.h"

#include "tessera/json.h"
#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_AUTHENTICATION TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_AUTHENTICATION
#define S_SIGNATURE TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_SIGNATURE
#define S_ENCRYPTION TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_ENCRYPTION

//  An encryption certificate (key escrowed by perso, issue 13) comes with
//  an authentication or signature one on a card, never alone, never as a
//  software certificate.
static bool
s_wants_encryption (const Tessera__V1__CreateCardRequestRequest *request)
{
    for (size_t i = 0; i < request->n_uses; i++)
        if (request->uses [i] == S_ENCRYPTION)
            return true;
    return false;
}
#define S_DRAFT 1
#define S_SUBMITTED 2
#define S_CANCELLED 5

int
enrollment_card_request_record (tsr_db_t *db, const char *actor, const char *trace_id,
                                const char *card_request_id, const char *action,
                                const char *event_type, const char *reason)
{
    const char *values [] = { card_request_id };
    PGresult *res = tsr_db_query (db,
        "SELECT batch_id, person_id, organisation_id, state, decided_by, level FROM card_requests"
        " WHERE card_request_id = $1", 1, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "batch_id", PQgetvalue (res, 0, 0));
    tsr_json_str (json, "person_id", PQgetvalue (res, 0, 1));
    tsr_json_int (json, "state", strtol (PQgetvalue (res, 0, 3), NULL, 10));
    tsr_json_int (json, "level", strtol (PQgetvalue (res, 0, 5), NULL, 10));
    if (*PQgetvalue (res, 0, 4))
        tsr_json_str (json, "decided_by_operator_id", PQgetvalue (res, 0, 4));
    if (reason)
        tsr_json_str (json, "reason", reason);
    char *details = tsr_json_finish (&json);
    Tessera__V1__CardRequestChanged event = TESSERA__V1__CARD_REQUEST_CHANGED__INIT;
    event.card_request_id = (char *) card_request_id;
    event.batch_id = PQgetvalue (res, 0, 0);
    event.person_id = PQgetvalue (res, 0, 1);
    event.organisation_id = PQgetvalue (res, 0, 2);
    event.state = (Tessera__V1__CardRequestState) strtol (PQgetvalue (res, 0, 3), NULL, 10);
    int rc = details ? enrollment_record (db, actor, trace_id, action, card_request_id, details,
                                          event_type, &event.base) : -1;
    free (details);
    PQclear (res);
    return rc;
}

tsr_status_t
enrollment_reply_card_request (tsr_call_t *call, const char *card_request_id, const char *text)
{
    enrollment_arena_t *arena = enrollment_arena_new ();
    const char *values [] = { card_request_id };
    PGresult *res = arena ? enrollment_arena_keep (arena, tsr_db_query (call->db,
        ENROLLMENT_CARD_REQUEST_SELECT " WHERE r.card_request_id = $1", 1, values)) : NULL;
    tsr_status_t status;
    if (!res)
        status = enrollment_db_failed (call, "read the card request");
    else
    if (PQntuples (res) == 0)
        status = tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "no card request %s", card_request_id);
    else {
        Tessera__V1__CardRequest *request = enrollment_card_request_row (arena, res, 0);
        status = request ? tsr_call_reply (call, &request->base, text)
                         : tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    }
    enrollment_arena_destroy (&arena);
    return status;
}

//  Every bound of the request that needs no database.
tsr_status_t
enrollment_card_request_check (tsr_call_t *call,
                               const Tessera__V1__CreateCardRequestRequest *request, int *level,
                               bool *authentication, bool *signature)
{
    if (!enrollment_id_valid (request->batch_id, "bat-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "batch_id: bat- and 16 hex digits");
    if (!enrollment_id_valid (request->person_id, "per-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "person_id: per- and 16 hex digits");
    if (request->level < 0 || request->level > TESSERA__V1__POLICY_LEVEL__POLICY_LEVEL_THREE_STARS)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "level: a PolicyLevel (UNSPECIFIED means **)");
    *level = request->level ? (int) request->level : TESSERA__V1__POLICY_LEVEL__POLICY_LEVEL_TWO_STARS;
    *authentication = *signature = false;
    bool encryption = false;
    for (size_t i = 0; i < request->n_uses; i++) {
        bool *use = request->uses [i] == S_AUTHENTICATION ? authentication
                  : request->uses [i] == S_SIGNATURE ? signature
                  : request->uses [i] == S_ENCRYPTION ? &encryption : NULL;
        if (!use || *use)
            return tsr_call_fail (call, ENROLLMENT_INVALID, "uses: CERTIFICATE_USE_AUTHENTICATION,"
                                  " CERTIFICATE_USE_SIGNATURE and CERTIFICATE_USE_ENCRYPTION,"
                                  " each at most once");
        *use = true;
    }
    if (encryption && request->software_certificate)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "uses: an encryption key is escrowed and"
                              " goes on a card, never in a software certificate");
    if (!*authentication && !*signature)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "uses: at least one of"
                              " CERTIFICATE_USE_AUTHENTICATION and CERTIFICATE_USE_SIGNATURE");
    if (request->software_certificate && *level != TESSERA__V1__POLICY_LEVEL__POLICY_LEVEL_ONE_STAR)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "software_certificate: only at level *");
    return ENROLLMENT_OK;
}

//  The batch open, the person of its organisation with an open dossier
//  and no undecided request. dossier_id and organisation_id are set.
static tsr_status_t
s_check_state (tsr_call_t *call, Tessera__V1__CreateCardRequestRequest *request,
               char dossier_id [ENROLLMENT_ID_SIZE], char organisation_id [ENROLLMENT_ID_SIZE])
{
    const char *batch [] = { request->batch_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT organisation_id, state FROM batches WHERE batch_id = $1 FOR UPDATE", 1, batch);
    if (!res)
        return enrollment_db_failed (call, "read the batch");
    tsr_status_t status = ENROLLMENT_OK;
    if (PQntuples (res) == 0)
        status = tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "batch_id: no batch %s", request->batch_id);
    else
    if (strcmp (PQgetvalue (res, 0, 1), "1") != 0)
        status = tsr_call_fail (call, ENROLLMENT_PRECONDITION, "batch %s is submitted already; create"
                                " another batch", request->batch_id);
    else
        snprintf (organisation_id, ENROLLMENT_ID_SIZE, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    if (status != ENROLLMENT_OK)
        return status;
    const char *person [] = { request->person_id };
    res = tsr_db_query (call->db,
        "SELECT p.organisation_id, coalesce((SELECT d.dossier_id FROM dossiers d WHERE"
        " d.person_id = p.person_id AND d.state = 1), ''), coalesce((SELECT r.card_request_id"
        " FROM card_requests r WHERE r.person_id = p.person_id AND r.state IN (1, 2)), '')"
        " FROM persons p WHERE p.person_id = $1 FOR UPDATE OF p", 1, person);
    if (!res)
        return enrollment_db_failed (call, "read the person");
    if (PQntuples (res) == 0)
        status = tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "person_id: no person %s", request->person_id);
    else
    if (strcmp (PQgetvalue (res, 0, 0), organisation_id) != 0)
        status = tsr_call_fail (call, ENROLLMENT_INVALID, "person_id: %s is not of the batch's"
                                " organisation %s", request->person_id, organisation_id);
    else
    if (!*PQgetvalue (res, 0, 1) && request->kind <= TESSERA__V1__CARD_REQUEST_KIND__CARD_REQUEST_KIND_NEW)
        status = tsr_call_fail (call, ENROLLMENT_PRECONDITION, "person %s has no open dossier;"
                                " open one first", request->person_id);
    else
    if (*PQgetvalue (res, 0, 2))
        status = tsr_call_fail (call, ENROLLMENT_EXISTS, "person %s already has an undecided card"
                                " request %s", request->person_id, PQgetvalue (res, 0, 2));
    else
        snprintf (dossier_id, ENROLLMENT_ID_SIZE, "%s", PQgetvalue (res, 0, 1));
    PQclear (res);
    return status;
}

static tsr_status_t
s_create (tsr_call_t *call, Tessera__V1__CreateCardRequestRequest *request)
{
    int level = 0;
    bool authentication = false, signature = false;
    char dossier_id [ENROLLMENT_ID_SIZE], organisation_id [ENROLLMENT_ID_SIZE];
    char operator_id [ENROLLMENT_OPERATOR_ID_MAX], card_request_id [ENROLLMENT_ID_SIZE];
    tsr_status_t status = enrollment_card_request_check (call, request, &level, &authentication, &signature);
    if (status != ENROLLMENT_OK
    ||  (status = enrollment_renewal_check_fields (call, request)) != ENROLLMENT_OK
    ||  (status = s_check_state (call, request, dossier_id, organisation_id)) != ENROLLMENT_OK
    ||  (status = enrollment_caller_operator (call, operator_id)) != ENROLLMENT_OK)
        return status;
    //  A renewal or replacement: the previous request and the dossier.
    bool renews = request->kind > TESSERA__V1__CARD_REQUEST_KIND__CARD_REQUEST_KIND_NEW, reused = false;
    char open_dossier_id [ENROLLMENT_ID_SIZE];
    snprintf (open_dossier_id, sizeof open_dossier_id, "%s", dossier_id);
    if (renews && (status = enrollment_renewal_prepare (call, request, open_dossier_id, &level,
                                                        dossier_id, &reused)) != ENROLLMENT_OK)
        return status;
    if (enrollment_id_new ("req-", card_request_id))
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "cannot make a card request id");
    char level_text [8], kind_text [8], reason_text [8];
    snprintf (level_text, sizeof level_text, "%d", level);
    snprintf (kind_text, sizeof kind_text, "%d", renews ? (int) request->kind : 1);
    snprintf (reason_text, sizeof reason_text, "%d", (int) request->replacement_reason);
    const char *values [] = { card_request_id, request->batch_id, request->person_id, organisation_id,
                              dossier_id, level_text, authentication ? "t" : "f", signature ? "t" : "f",
                              request->software_certificate ? "t" : "f", operator_id, kind_text,
                              renews ? request->previous_card_request_id : NULL, reason_text,
                              reused ? "t" : "f", s_wants_encryption (request) ? "t" : "f" };
    PGresult *res = tsr_db_query (call->db,
        "INSERT INTO card_requests (card_request_id, batch_id, person_id, organisation_id, dossier_id,"
        " level, use_authentication, use_signature, software_certificate, entered_by, kind,"
        " previous_card_request_id, replacement_reason, dossier_reused, use_encryption)"
        " VALUES ($1, $2, $3, $4, $5, $6::smallint, $7::boolean, $8::boolean, $9::boolean, $10,"
        " $11::smallint, $12, $13::smallint, $14::boolean, $15::boolean)", 15, values);
    if (!res)
        return enrollment_db_failed (call, "store the card request");
    PQclear (res);
    if (enrollment_card_request_record (call->db, call->caller_key, call->request->trace_id,
                                        card_request_id, "enrollment.card_request_created",
                                        "request.created", NULL))
        return enrollment_db_failed (call, "record the card request");
    tsr_log_info (call->request->trace_id, "enrollment.card_request_created", "card_request_id",
                  card_request_id, "batch_id", request->batch_id, NULL);
    return enrollment_reply_card_request (call, card_request_id, "card request created");
}

tsr_status_t
enrollment_create_card_request (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__CreateCardRequestRequest *request = (Tessera__V1__CreateCardRequestRequest *)
        tsr_call_unpack (call, &tessera__v1__create_card_request_request__descriptor, &status);
    if (!request)
        return status;
    status = s_create (call, request);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

static tsr_status_t
s_cancel (tsr_call_t *call, Tessera__V1__CancelCardRequestRequest *request)
{
    if (!enrollment_id_valid (request->card_request_id, "req-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "card_request_id: req- and 16 hex digits");
    if (!tsr_text_valid (request->reason, ENROLLMENT_NOTE_MAX))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "reason: required, at most 512 characters,"
                              " no control character");
    const char *values [] = { request->card_request_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT state, batch_id FROM card_requests WHERE card_request_id = $1 FOR UPDATE", 1, values);
    if (!res)
        return enrollment_db_failed (call, "read the card request");
    tsr_status_t status = ENROLLMENT_OK;
    char batch_id [ENROLLMENT_ID_SIZE] = "", operator_id [ENROLLMENT_OPERATOR_ID_MAX];
    if (PQntuples (res) == 0)
        status = tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "no card request %s", request->card_request_id);
    else {
        int state = (int) strtol (PQgetvalue (res, 0, 0), NULL, 10);
        if (state != S_DRAFT && state != S_SUBMITTED)
            status = tsr_call_fail (call, ENROLLMENT_PRECONDITION, "card request %s is decided or"
                                    " cancelled already", request->card_request_id);
        snprintf (batch_id, sizeof batch_id, "%s", PQgetvalue (res, 0, 1));
    }
    PQclear (res);
    if (status != ENROLLMENT_OK || (status = enrollment_caller_operator (call, operator_id)) != ENROLLMENT_OK)
        return status;
    const char *update [] = { request->card_request_id, request->reason, operator_id };
    res = tsr_db_query (call->db,
        "UPDATE card_requests SET state = 5, cancel_reason = $2, cancelled_by = $3, cancelled_at = now()"
        " WHERE card_request_id = $1", 3, update);
    if (!res)
        return enrollment_db_failed (call, "cancel the card request");
    PQclear (res);
    if (enrollment_card_request_record (call->db, call->caller_key, call->request->trace_id,
                                        request->card_request_id, "enrollment.card_request_cancelled",
                                        "request.cancelled", request->reason)
    ||  enrollment_batch_settle (call->db, call->caller_key, call->request->trace_id, batch_id))
        return enrollment_db_failed (call, "record the cancellation");
    return enrollment_reply_card_request (call, request->card_request_id, "card request cancelled");
}

tsr_status_t
enrollment_cancel_card_request (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__CancelCardRequestRequest *request = (Tessera__V1__CancelCardRequestRequest *)
        tsr_call_unpack (call, &tessera__v1__cancel_card_request_request__descriptor, &status);
    if (!request)
        return status;
    status = s_cancel (call, request);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

tsr_status_t
enrollment_get_card_request (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__GetCardRequestRequest *request = (Tessera__V1__GetCardRequestRequest *)
        tsr_call_unpack (call, &tessera__v1__get_card_request_request__descriptor, &status);
    if (!request)
        return status;
    status = enrollment_id_valid (request->card_request_id, "req-")
        ? enrollment_reply_card_request (call, request->card_request_id, "found")
        : tsr_call_fail (call, ENROLLMENT_INVALID, "card_request_id: req- and 16 hex digits");
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

static tsr_status_t
s_list (tsr_call_t *call, Tessera__V1__ListCardRequestsRequest *request, enrollment_arena_t *arena)
{
    int64_t after;
    if (*request->organisation_id && !enrollment_id_valid (request->organisation_id, "org-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "organisation_id: org- and 16 hex digits");
    if (*request->person_id && !enrollment_id_valid (request->person_id, "per-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "person_id: per- and 16 hex digits");
    if (*request->batch_id && !enrollment_id_valid (request->batch_id, "bat-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "batch_id: bat- and 16 hex digits");
    if (request->state < 0 || request->state > TESSERA__V1__CARD_REQUEST_STATE__CARD_REQUEST_STATE_COMPLETED)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "state: a CardRequestState");
    if (!enrollment_page_token_parse (request->page_token, &after))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "page_token: as given by the previous page");
    uint32_t limit = enrollment_page_limit (request->limit);
    char state [8], after_text [24], limit_text [16];
    snprintf (state, sizeof state, "%d", (int) request->state);
    snprintf (after_text, sizeof after_text, "%lld", (long long) after);
    snprintf (limit_text, sizeof limit_text, "%u", limit + 1);
    const char *values [] = { request->organisation_id, request->person_id, request->batch_id, state,
                              after_text, limit_text };
    PGresult *res = enrollment_arena_keep (arena, tsr_db_query (call->db,
        ENROLLMENT_CARD_REQUEST_SELECT " WHERE ($1 = '' OR r.organisation_id = $1)"
        " AND ($2 = '' OR r.person_id = $2) AND ($3 = '' OR r.batch_id = $3)"
        " AND ($4::smallint = 0 OR r.state = $4::smallint)"
        " AND r.row_seq > $5::bigint ORDER BY r.row_seq LIMIT $6::int", 6, values));
    size_t count;
    Tessera__V1__ListCardRequestsReply reply = TESSERA__V1__LIST_CARD_REQUESTS_REPLY__INIT;
    if (!res)
        return enrollment_db_failed (call, "read the card requests");
    if (enrollment_page (arena, res, limit, &count, &reply.next_page_token)
    ||  !(reply.card_requests = enrollment_arena_alloc (arena, (count + 1) * sizeof *reply.card_requests)))
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    for (size_t i = 0; i < count; i++)
        if (!(reply.card_requests [i] = enrollment_card_request_row (arena, res, (int) i)))
            return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    reply.n_card_requests = count;
    return tsr_call_reply (call, &reply.base, "card requests");
}

tsr_status_t
enrollment_list_card_requests (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ListCardRequestsRequest *request = (Tessera__V1__ListCardRequestsRequest *)
        tsr_call_unpack (call, &tessera__v1__list_card_requests_request__descriptor, &status);
    if (!request)
        return status;
    enrollment_arena_t *arena = enrollment_arena_new ();
    status = arena ? s_list (call, request, arena) : tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    enrollment_arena_destroy (&arena);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}
