/*  ValidateCardRequest and RejectCardRequest: one decision on one request,
    by the steps of validation_decide.h.
*/
#include "validation_decide.h"
#include "validation_handlers.h"
#include "validation_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT

static tsr_status_t
s_decide (tsr_call_t *call, const char *method, const char *card_request_id,
          Tessera__V1__DecisionOutcome outcome, const char *text)
{
    bool validating = outcome == TESSERA__V1__DECISION_OUTCOME__DECISION_OUTCOME_VALIDATED;
    char operator_id [VALIDATION_OPERATOR_ID_MAX + 1];
    Tessera__V1__CardRequest *request = NULL;
    validation_decision_t decision;
    memset (&decision, 0, sizeof decision);
    tsr_status_t status = validation_caller_operator (call, operator_id);
    if (status == S_OK)
        status = validation_lock_undecided (call, card_request_id, NULL);
    if (status == S_OK)
        status = validation_fetch_request (call, card_request_id, &request);
    if (status == S_OK
    &&  validation_entered_by_caller (request->entered_by_operator_id, operator_id,
                                      call->caller_key)) {
        const char *ids [] = { card_request_id };
        status = validation_refuse_four_eyes (call, method, operator_id, ids, 1);
    }
    if (status == S_OK)
        status = validation_check_decidable (call, request, validating);
    if (status == S_OK)
        status = validation_record_decision (call, request, operator_id, outcome, text, &decision);
    if (status == S_OK)
        status = tsr_call_reply (call, &decision.message.base,
                                 validating ? (decision.message.account_created
                                               ? "validated; the holder's account was created "
                                                 "and its one-time password goes to mail"
                                               : "validated; the holder's account exists already")
                                            : "rejected");
    validation_decision_release (&decision);
    if (request)
        tessera__v1__card_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
validation_handle_validate (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__ValidateCardRequestRequest *request = (Tessera__V1__ValidateCardRequestRequest *) tsr_call_unpack (
        call, &tessera__v1__validate_card_request_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status;
    if (!validation_id_valid (request->card_request_id))
        status = tsr_call_fail (call, S_INVALID,
                                "card_request_id must be 1 to 64 of [A-Za-z0-9._:-]");
    else
    if (!validation_text_valid (request->note, 0, VALIDATION_REASON_MAX))
        status = tsr_call_fail (call, S_INVALID, "note must be at most %d printable characters",
                                VALIDATION_REASON_MAX);
    else
        status = s_decide (call, "ValidateCardRequest", request->card_request_id,
                           TESSERA__V1__DECISION_OUTCOME__DECISION_OUTCOME_VALIDATED,
                           request->note);
    tessera__v1__validate_card_request_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
validation_handle_reject (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__RejectCardRequestRequest *request = (Tessera__V1__RejectCardRequestRequest *) tsr_call_unpack (
        call, &tessera__v1__reject_card_request_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status;
    if (!validation_id_valid (request->card_request_id))
        status = tsr_call_fail (call, S_INVALID,
                                "card_request_id must be 1 to 64 of [A-Za-z0-9._:-]");
    else
    if (!validation_text_valid (request->reason, 1, VALIDATION_REASON_MAX))
        status = tsr_call_fail (call, S_INVALID,
                                "reason is required: 1 to %d printable characters",
                                VALIDATION_REASON_MAX);
    else
        status = s_decide (call, "RejectCardRequest", request->card_request_id,
                           TESSERA__V1__DECISION_OUTCOME__DECISION_OUTCOME_REJECTED,
                           request->reason);
    tessera__v1__reject_card_request_request__free_unpacked (request, NULL);
    return status;
}
