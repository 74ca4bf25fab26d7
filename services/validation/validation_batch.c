/*  ValidateBatch and RejectBatch: one decision on every pending request of
    a submitted batch, all or none, in one transaction.

    Pending: SUBMITTED at enrollment and not decided here (requests
    decided one by one before, or cancelled, are left as they are). The
    whole batch is refused when the caller entered any pending request
    (four eyes, audited) or, for a validation, when any pending request's
    dossier is incomplete. At most VALIDATION_BATCH_MAX requests: a
    validation hashes one one-time password per new holder (about 0.1 s
    each).
*/
#include "validation_decide.h"
#include "validation_enrollment.h"
#include "validation_handlers.h"
#include "validation_input.h"
#include "validation_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define VALIDATION_BATCH_MAX 500

typedef struct {
    Tessera__V1__Batch *batch;
    Tessera__V1__CardRequest **pending;     //  owned
    size_t pending_count;
    validation_decision_t *decisions;
    Tessera__V1__Decision **decision_list;
    size_t decision_count;
    const char **entered;                   //  ids the caller entered (borrowed)
    size_t entered_count;
} s_batch_t;

static void
s_batch_release (s_batch_t *self)
{
    for (size_t i = 0; i < self->pending_count; i++)
        tessera__v1__card_request__free_unpacked (self->pending [i], NULL);
    for (size_t i = 0; i < self->decision_count; i++)
        validation_decision_release (&self->decisions [i]);
    free (self->pending);
    free (self->decisions);
    free (self->decision_list);
    free (self->entered);
    if (self->batch)
        tessera__v1__batch__free_unpacked (self->batch, NULL);
    memset (self, 0, sizeof *self);
}

//  The batch from enrollment, and its pending requests, each locked here.
static tsr_status_t
s_collect (tsr_call_t *call, const char *batch_id, const char *operator_id, s_batch_t *self)
{
    validation_state_t *state = call->state;
    char message [160] = "";
    tsr_status_t status = validation_enrollment_batch (state->enrollment, call->request->trace_id,
                                                       batch_id, &self->batch, message,
                                                       sizeof message);
    if (status == TESSERA__V1__STATUS__STATUS_NOT_FOUND
    ||  status == TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                              "no batch %s at enrollment", batch_id);
    if (status != S_OK)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE,
                              "cannot read batch %s at enrollment (%.120s); retry", batch_id,
                              message);
    if (self->batch->state != TESSERA__V1__BATCH_STATE__BATCH_STATE_SUBMITTED)
        return tsr_call_fail (call, S_PRECONDITION,
                              "batch %s is not awaiting validation (state %d at enrollment)",
                              batch_id, (int) self->batch->state);
    size_t count = self->batch->n_card_request_ids;
    if (count > VALIDATION_BATCH_MAX)
        return tsr_call_fail (call, S_PRECONDITION,
                              "batch %s holds %zu requests; decide at most %d at once, or one "
                              "by one", batch_id, count, VALIDATION_BATCH_MAX);
    self->pending = calloc (count + 1, sizeof *self->pending);
    self->entered = calloc (count + 1, sizeof *self->entered);
    if (!self->pending || !self->entered)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const char *id = self->batch->card_request_ids [i];
        bool decided = false;
        if (!validation_id_valid (id))
            return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                                  "enrollment's batch %s lists a malformed request id", batch_id);
        status = validation_lock_undecided (call, id, &decided);
        if (status != S_OK)
            return status;
        if (decided)
            continue;
        Tessera__V1__CardRequest *request = NULL;
        status = validation_fetch_request (call, id, &request);
        if (status != S_OK)
            return status;
        if (request->state != TESSERA__V1__CARD_REQUEST_STATE__CARD_REQUEST_STATE_SUBMITTED) {
            tessera__v1__card_request__free_unpacked (request, NULL);
            continue;
        }
        self->pending [self->pending_count++] = request;
        if (validation_entered_by_caller (request->entered_by_operator_id, operator_id,
                                          call->caller_key))
            self->entered [self->entered_count++] = request->card_request_id;
    }
    if (self->pending_count == 0)
        return tsr_call_fail (call, S_PRECONDITION, "no request of batch %s awaits a decision",
                              batch_id);
    return S_OK;
}

static tsr_status_t
s_decide_batch (tsr_call_t *call, const char *method, const char *batch_id,
                Tessera__V1__DecisionOutcome outcome, const char *text)
{
    bool validating = outcome == TESSERA__V1__DECISION_OUTCOME__DECISION_OUTCOME_VALIDATED;
    char operator_id [VALIDATION_OPERATOR_ID_MAX + 1];
    s_batch_t batch;
    memset (&batch, 0, sizeof batch);
    tsr_status_t status = validation_caller_operator (call, operator_id);
    if (status == S_OK)
        status = s_collect (call, batch_id, operator_id, &batch);
    if (status == S_OK && batch.entered_count)
        status = validation_refuse_four_eyes (call, method, operator_id, batch.entered,
                                              batch.entered_count);
    for (size_t i = 0; status == S_OK && i < batch.pending_count; i++)
        status = validation_check_decidable (call, batch.pending [i], validating);
    if (status == S_OK) {
        batch.decisions = calloc (batch.pending_count, sizeof *batch.decisions);
        batch.decision_list = calloc (batch.pending_count, sizeof *batch.decision_list);
        if (!batch.decisions || !batch.decision_list)
            status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
    }
    for (size_t i = 0; status == S_OK && i < batch.pending_count; i++) {
        status = validation_record_decision (call, batch.pending [i], operator_id, outcome, text,
                                             &batch.decisions [i]);
        batch.decision_count = i + 1;
        batch.decision_list [i] = &batch.decisions [i].message;
    }
    if (status == S_OK) {
        Tessera__V1__BatchDecisionReply reply = TESSERA__V1__BATCH_DECISION_REPLY__INIT;
        reply.batch_id = (char *) batch_id;
        reply.n_decisions = batch.decision_count;
        reply.decisions = batch.decision_list;
        char text_out [64];
        snprintf (text_out, sizeof text_out, "%zu requests %s", batch.decision_count,
                  validating ? "validated" : "rejected");
        status = tsr_call_reply (call, &reply.base, text_out);
    }
    s_batch_release (&batch);
    return status;
}

tsr_status_t
validation_handle_validate_batch (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__ValidateBatchRequest *request = (Tessera__V1__ValidateBatchRequest *) tsr_call_unpack (
        call, &tessera__v1__validate_batch_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status;
    if (!validation_id_valid (request->batch_id))
        status = tsr_call_fail (call, S_INVALID, "batch_id must be 1 to 64 of [A-Za-z0-9._:-]");
    else
    if (!validation_text_valid (request->note, 0, VALIDATION_REASON_MAX))
        status = tsr_call_fail (call, S_INVALID, "note must be at most %d printable characters",
                                VALIDATION_REASON_MAX);
    else
        status = s_decide_batch (call, "ValidateBatch", request->batch_id,
                                 TESSERA__V1__DECISION_OUTCOME__DECISION_OUTCOME_VALIDATED,
                                 request->note);
    tessera__v1__validate_batch_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
validation_handle_reject_batch (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__RejectBatchRequest *request = (Tessera__V1__RejectBatchRequest *) tsr_call_unpack (
        call, &tessera__v1__reject_batch_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status;
    if (!validation_id_valid (request->batch_id))
        status = tsr_call_fail (call, S_INVALID, "batch_id must be 1 to 64 of [A-Za-z0-9._:-]");
    else
    if (!validation_text_valid (request->reason, 1, VALIDATION_REASON_MAX))
        status = tsr_call_fail (call, S_INVALID,
                                "reason is required: 1 to %d printable characters",
                                VALIDATION_REASON_MAX);
    else
        status = s_decide_batch (call, "RejectBatch", request->batch_id,
                                 TESSERA__V1__DECISION_OUTCOME__DECISION_OUTCOME_REJECTED,
                                 request->reason);
    tessera__v1__reject_batch_request__free_unpacked (request, NULL);
    return status;
}
