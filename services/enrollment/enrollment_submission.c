/*  CheckBatch, SubmitBatch.

    A batch goes to validation only when every dossier behind it is
    complete: the dossier of each of its undecided requests' persons, at
    the request's level, and the organisation's own. CheckBatch lists every
    defect as fields; SubmitBatch refuses with STATUS_FAILED_PRECONDITION
    and the same defects in its status message, or submits: the requests
    and the batch become submitted, each change audited, and
    "batch.submitted" is appended for mail to notify the validation
    operators. Both go through enrollment_completeness, so they agree.
*/
#include "enrollment_calls.h"
#include "enrollment_completeness.h"
#include "enrollment_registry.h"

#include "tessera/json.h"
#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_BATCH_OPEN "1"

//  The dossier checks behind one batch: the organisation's first, then
//  one per request (request_ids [i] for checks [i], NULL for the
//  organisation's).
typedef struct {
    enrollment_completeness_t *checks;
    const char **request_ids;
    size_t count;
    size_t defect_count;
    size_t request_count;
} s_collected_t;

//  The batch's organisation and state, locked when for_update.
static tsr_status_t
s_batch (tsr_call_t *call, const char *batch_id, bool for_update, char organisation_id [ENROLLMENT_ID_SIZE],
         char state [4])
{
    if (!enrollment_id_valid (batch_id, "bat-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "batch_id: bat- and 16 hex digits");
    const char *values [] = { batch_id };
    PGresult *res = tsr_db_query (call->db, for_update
        ? "SELECT organisation_id, state FROM batches WHERE batch_id = $1 FOR UPDATE"
        : "SELECT organisation_id, state FROM batches WHERE batch_id = $1", 1, values);
    if (!res)
        return enrollment_db_failed (call, "read the batch");
    tsr_status_t status = ENROLLMENT_OK;
    if (PQntuples (res) == 0)
        status = tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "no batch %s", batch_id);
    else {
        snprintf (organisation_id, ENROLLMENT_ID_SIZE, "%s", PQgetvalue (res, 0, 0));
        snprintf (state, 4, "%s", PQgetvalue (res, 0, 1));
    }
    PQclear (res);
    return status;
}

//  Every dossier check of the batch's undecided requests. Arena-owned.
static tsr_status_t
s_collect (tsr_call_t *call, enrollment_arena_t *arena, const char *batch_id,
           const char *organisation_id, s_collected_t *collected)
{
    memset (collected, 0, sizeof *collected);
    const char *values [] = { batch_id };
    PGresult *res = enrollment_arena_keep (arena, tsr_db_query (call->db,
        "SELECT card_request_id, dossier_id, level FROM card_requests WHERE batch_id = $1"
        " AND state IN (1, 2) ORDER BY row_seq", 1, values));
    if (!res)
        return enrollment_db_failed (call, "read the card requests");
    size_t requests = (size_t) PQntuples (res);
    collected->checks = enrollment_arena_alloc (arena, (requests + 1) * sizeof *collected->checks);
    collected->request_ids = enrollment_arena_alloc (arena, (requests + 1) * sizeof *collected->request_ids);
    if (!collected->checks || !collected->request_ids)
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    int64_t now = (int64_t) time (NULL);
    char organisation_dossier [ENROLLMENT_ID_SIZE];
    for (size_t i = 0; i <= requests; i++) {
        enrollment_completeness_t *check = &collected->checks [i];
        int found;
        if (i < requests) {
            collected->request_ids [i] = PQgetvalue (res, (int) i, 0);
            found = enrollment_completeness_check (call->db, PQgetvalue (res, (int) i, 1),
                                                   (int) strtol (PQgetvalue (res, (int) i, 2), NULL, 10),
                                                   now, check);
        }
        else {
            found = enrollment_organisation_dossier (call->db, organisation_id, organisation_dossier);
            if (found == 1)
                found = enrollment_completeness_check (call->db, organisation_dossier, 0, now, check);
        }
        if (found != 1)
            return enrollment_db_failed (call, "check the dossiers");
        collected->defect_count += check->defect_count;
    }
    collected->count = requests + 1;
    collected->request_count = requests;
    return ENROLLMENT_OK;
}

static tsr_status_t
s_check (tsr_call_t *call, Tessera__V1__CheckBatchRequest *request, enrollment_arena_t *arena)
{
    char organisation_id [ENROLLMENT_ID_SIZE], state [4];
    s_collected_t collected;
    tsr_status_t status = s_batch (call, request->batch_id, false, organisation_id, state);
    if (status != ENROLLMENT_OK
    ||  (status = s_collect (call, arena, request->batch_id, organisation_id, &collected)) != ENROLLMENT_OK)
        return status;
    Tessera__V1__CheckBatchReply reply = TESSERA__V1__CHECK_BATCH_REPLY__INIT;
    reply.batch_id = request->batch_id;
    reply.defects = enrollment_arena_alloc (arena, (collected.defect_count + 1) * sizeof *reply.defects);
    if (!reply.defects)
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    for (size_t i = 0; i < collected.count; i++) {
        if (enrollment_completeness_defects (arena, &collected.checks [i], collected.request_ids [i],
                                             reply.defects + reply.n_defects))
            return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
        reply.n_defects += collected.checks [i].defect_count;
    }
    reply.complete = reply.n_defects == 0;
    return tsr_call_reply (call, &reply.base, reply.complete ? "complete" : "incomplete");
}

tsr_status_t
enrollment_check_batch (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__CheckBatchRequest *request = (Tessera__V1__CheckBatchRequest *)
        tsr_call_unpack (call, &tessera__v1__check_batch_request__descriptor, &status);
    if (!request)
        return status;
    enrollment_arena_t *arena = enrollment_arena_new ();
    status = arena ? s_check (call, request, arena) : tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    enrollment_arena_destroy (&arena);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

//  The refusal: every defect in one status message.
static tsr_status_t
s_refuse (tsr_call_t *call, enrollment_arena_t *arena, const char *batch_id, const s_collected_t *collected)
{
    enrollment_defect_line_t *lines = enrollment_arena_alloc (arena, collected->defect_count * sizeof *lines);
    if (!lines)
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    size_t count = 0;
    for (size_t i = 0; i < collected->count; i++)
        for (size_t j = 0; j < collected->checks [i].defect_count; j++)
            lines [count++] = (enrollment_defect_line_t) { collected->checks [i].who,
                                                           collected->checks [i].defects [j].detail };
    char summary [TSR_CALL_MESSAGE_MAX];
    enrollment_defects_summary (lines, count, summary, sizeof summary);
    tsr_log_info (call->request->trace_id, "enrollment.batch_refused", "batch_id", batch_id,
                  "defects", summary, NULL);
    return tsr_call_fail (call, ENROLLMENT_PRECONDITION, "%s", summary);
}

static int
s_record (tsr_call_t *call, const char *batch_id, const char *organisation_id, const char *operator_id,
          const s_collected_t *collected, int64_t submitted_at)
{
    for (size_t i = 0; i < collected->request_count; i++)
        if (enrollment_card_request_record (call->db, call->caller_key, call->request->trace_id,
                                            collected->request_ids [i], "enrollment.card_request_submitted",
                                            "request.submitted", NULL))
            return -1;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "organisation_id", organisation_id);
    tsr_json_int (json, "card_requests", (int64_t) collected->request_count);
    char *details = tsr_json_finish (&json);
    Tessera__V1__BatchSubmitted event = TESSERA__V1__BATCH_SUBMITTED__INIT;
    event.batch_id = (char *) batch_id;
    event.organisation_id = (char *) organisation_id;
    event.card_request_ids = (char **) collected->request_ids;
    event.n_card_request_ids = collected->request_count;
    event.submitted_by_operator_id = (char *) operator_id;
    event.submitted_at_unix = submitted_at;
    int rc = details ? enrollment_record (call->db, call->caller_key, call->request->trace_id,
                                          "enrollment.batch_submitted", batch_id, details,
                                          "batch.submitted", &event.base) : -1;
    free (details);
    return rc;
}

static tsr_status_t
s_submit (tsr_call_t *call, Tessera__V1__SubmitBatchRequest *request, enrollment_arena_t *arena)
{
    char organisation_id [ENROLLMENT_ID_SIZE], state [4], operator_id [ENROLLMENT_OPERATOR_ID_MAX];
    s_collected_t collected;
    tsr_status_t status = s_batch (call, request->batch_id, true, organisation_id, state);
    if (status != ENROLLMENT_OK)
        return status;
    if (strcmp (state, S_BATCH_OPEN) != 0)
        return tsr_call_fail (call, ENROLLMENT_PRECONDITION, "batch %s is submitted already", request->batch_id);
    //  The dossiers checked stay as checked until the submission commits:
    //  RecordDocument and WithdrawDocument wait on these locks.
    const char *lock [] = { request->batch_id, organisation_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT x.dossier_id FROM dossiers x WHERE x.dossier_id IN (SELECT r.dossier_id"
        " FROM card_requests r WHERE r.batch_id = $1 AND r.state = 1)"
        " OR (x.organisation_id = $2 AND x.person_id IS NULL AND x.state = 1) FOR UPDATE", 2, lock);
    if (!res)
        return enrollment_db_failed (call, "lock the dossiers");
    PQclear (res);
    if ((status = s_collect (call, arena, request->batch_id, organisation_id, &collected)) != ENROLLMENT_OK)
        return status;
    if (collected.request_count == 0)
        return tsr_call_fail (call, ENROLLMENT_PRECONDITION, "batch %s has no card request",
                              request->batch_id);
    if (collected.defect_count > 0)
        return s_refuse (call, arena, request->batch_id, &collected);
    if ((status = enrollment_caller_operator (call, operator_id)) != ENROLLMENT_OK)
        return status;
    const char *values [] = { request->batch_id, operator_id };
    res = tsr_db_query (call->db,
        "WITH requests AS (UPDATE card_requests SET state = 2, submitted_at = now()"
        " WHERE batch_id = $1 AND state = 1)"
        " UPDATE batches SET state = 2, submitted_by = $2, submitted_at = now() WHERE batch_id = $1"
        " RETURNING " ENROLLMENT_UNIX ("submitted_at"), 2, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return enrollment_db_failed (call, "submit the batch");
    }
    int64_t submitted_at = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    if (s_record (call, request->batch_id, organisation_id, operator_id, &collected, submitted_at))
        return enrollment_db_failed (call, "record the submission");
    tsr_log_info (call->request->trace_id, "enrollment.batch_submitted", "batch_id", request->batch_id,
                  "organisation_id", organisation_id, NULL);
    return enrollment_reply_batch (call, request->batch_id, "batch submitted to validation");
}

tsr_status_t
enrollment_submit_batch (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__SubmitBatchRequest *request = (Tessera__V1__SubmitBatchRequest *)
        tsr_call_unpack (call, &tessera__v1__submit_batch_request__descriptor, &status);
    if (!request)
        return status;
    enrollment_arena_t *arena = enrollment_arena_new ();
    status = arena ? s_submit (call, request, arena) : tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    enrollment_arena_destroy (&arena);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}
