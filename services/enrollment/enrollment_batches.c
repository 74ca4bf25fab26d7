/*  CreateBatch, GetBatch, ListBatches, and the settling of a batch.

    A batch gathers card requests of one organisation to be submitted to
    validation together (enrollment_submission.c). Its life: open (requests
    are added or cancelled), submitted (with validation), decided (none of
    its requests awaits a decision any more).
*/
#include "enrollment_calls.h"
#include "enrollment_input.h"
#include "enrollment_records.h"
#include "enrollment_registry.h"

#include "tessera/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tsr_status_t
enrollment_reply_batch (tsr_call_t *call, const char *batch_id, const char *text)
{
    enrollment_arena_t *arena = enrollment_arena_new ();
    const char *values [] = { batch_id };
    PGresult *res = arena ? enrollment_arena_keep (arena, tsr_db_query (call->db,
        ENROLLMENT_BATCH_SELECT " WHERE b.batch_id = $1", 1, values)) : NULL;
    tsr_status_t status;
    if (!res)
        status = enrollment_db_failed (call, "read the batch");
    else
    if (PQntuples (res) == 0)
        status = tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "no batch %s", batch_id);
    else {
        Tessera__V1__Batch *batch = enrollment_batch_row (arena, res, 0);
        status = batch ? tsr_call_reply (call, &batch->base, text)
                       : tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    }
    enrollment_arena_destroy (&arena);
    return status;
}

int
enrollment_batch_settle (tsr_db_t *db, const char *actor, const char *trace_id, const char *batch_id)
{
    const char *values [] = { batch_id };
    PGresult *res = tsr_db_query (db,
        "UPDATE batches SET state = 3, decided_at = now() WHERE batch_id = $1 AND state = 2"
        " AND NOT EXISTS (SELECT 1 FROM card_requests r WHERE r.batch_id = $1 AND r.state IN (1, 2))"
        " RETURNING organisation_id", 1, values);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples (res) == 1) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "organisation_id", PQgetvalue (res, 0, 0));
        char *details = tsr_json_finish (&json);
        rc = details ? enrollment_record (db, actor, trace_id, "enrollment.batch_decided", batch_id,
                                          details, "batch.decided", NULL) : -1;
        free (details);
    }
    PQclear (res);
    return rc;
}

static tsr_status_t
s_create (tsr_call_t *call, Tessera__V1__CreateBatchRequest *request)
{
    if (!enrollment_id_valid (request->organisation_id, "org-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "organisation_id: org- and 16 hex digits");
    if (!tsr_free_text_valid (request->label, ENROLLMENT_LABEL_MAX))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "label: at most 128 characters, no control character");
    const char *org [] = { request->organisation_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT 1 FROM organisations WHERE organisation_id = $1 FOR SHARE", 1, org);
    if (!res)
        return enrollment_db_failed (call, "read the organisations");
    bool known = PQntuples (res) == 1;
    PQclear (res);
    if (!known)
        return tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "organisation_id: no organisation %s",
                              request->organisation_id);
    char operator_id [ENROLLMENT_OPERATOR_ID_MAX], batch_id [ENROLLMENT_ID_SIZE];
    tsr_status_t status = enrollment_caller_operator (call, operator_id);
    if (status != ENROLLMENT_OK)
        return status;
    if (enrollment_id_new ("bat-", batch_id))
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "cannot make a batch id");
    const char *values [] = { batch_id, request->organisation_id, request->label, operator_id };
    res = tsr_db_query (call->db,
        "INSERT INTO batches (batch_id, organisation_id, label, created_by) VALUES ($1, $2, $3, $4)",
        4, values);
    if (!res)
        return enrollment_db_failed (call, "store the batch");
    PQclear (res);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "organisation_id", request->organisation_id);
    tsr_json_str (json, "label", request->label);
    char *details = tsr_json_finish (&json);
    int rc = details ? enrollment_record (call->db, call->caller_key, call->request->trace_id,
                                          "enrollment.batch_created", batch_id, details,
                                          "batch.created", NULL) : -1;
    free (details);
    if (rc)
        return enrollment_db_failed (call, "record the batch");
    return enrollment_reply_batch (call, batch_id, "batch created");
}

tsr_status_t
enrollment_create_batch (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__CreateBatchRequest *request = (Tessera__V1__CreateBatchRequest *)
        tsr_call_unpack (call, &tessera__v1__create_batch_request__descriptor, &status);
    if (!request)
        return status;
    status = s_create (call, request);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

tsr_status_t
enrollment_get_batch (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__GetBatchRequest *request = (Tessera__V1__GetBatchRequest *)
        tsr_call_unpack (call, &tessera__v1__get_batch_request__descriptor, &status);
    if (!request)
        return status;
    status = enrollment_id_valid (request->batch_id, "bat-")
        ? enrollment_reply_batch (call, request->batch_id, "found")
        : tsr_call_fail (call, ENROLLMENT_INVALID, "batch_id: bat- and 16 hex digits");
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

static tsr_status_t
s_list (tsr_call_t *call, Tessera__V1__ListBatchesRequest *request, enrollment_arena_t *arena)
{
    int64_t after;
    if (*request->organisation_id && !enrollment_id_valid (request->organisation_id, "org-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "organisation_id: org- and 16 hex digits");
    if (request->state < 0 || request->state > TESSERA__V1__BATCH_STATE__BATCH_STATE_DECIDED)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "state: a BatchState");
    if (!enrollment_page_token_parse (request->page_token, &after))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "page_token: as given by the previous page");
    uint32_t limit = enrollment_page_limit (request->limit);
    char state [8], after_text [24], limit_text [16];
    snprintf (state, sizeof state, "%d", (int) request->state);
    snprintf (after_text, sizeof after_text, "%lld", (long long) after);
    snprintf (limit_text, sizeof limit_text, "%u", limit + 1);
    const char *values [] = { request->organisation_id, state, after_text, limit_text };
    PGresult *res = enrollment_arena_keep (arena, tsr_db_query (call->db,
        ENROLLMENT_BATCH_SELECT " WHERE ($1 = '' OR b.organisation_id = $1)"
        " AND ($2::smallint = 0 OR b.state = $2::smallint)"
        " AND b.row_seq > $3::bigint ORDER BY b.row_seq LIMIT $4::int", 4, values));
    size_t count;
    Tessera__V1__ListBatchesReply reply = TESSERA__V1__LIST_BATCHES_REPLY__INIT;
    if (!res)
        return enrollment_db_failed (call, "read the batches");
    if (enrollment_page (arena, res, limit, &count, &reply.next_page_token)
    ||  !(reply.batches = enrollment_arena_alloc (arena, (count + 1) * sizeof *reply.batches)))
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    for (size_t i = 0; i < count; i++)
        if (!(reply.batches [i] = enrollment_batch_row (arena, res, (int) i)))
            return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    reply.n_batches = count;
    return tsr_call_reply (call, &reply.base, "batches");
}

tsr_status_t
enrollment_list_batches (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ListBatchesRequest *request = (Tessera__V1__ListBatchesRequest *)
        tsr_call_unpack (call, &tessera__v1__list_batches_request__descriptor, &status);
    if (!request)
        return status;
    enrollment_arena_t *arena = enrollment_arena_new ();
    status = arena ? s_list (call, request, arena) : tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    enrollment_arena_destroy (&arena);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}
