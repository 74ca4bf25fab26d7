/*  validation_decide: the steps of a decision on a card request, shared by
    the single and the batch methods.

    1. The caller's operator id: enrollment's GetOperator by the caller's
       authenticated key.
    2. The request, locked for this transaction (an advisory lock on its
       id) and not decided here before.
    3. The request as enrollment has it now (GetCardRequest).
    4. Four eyes: refused (PERMISSION_DENIED) when enrollment says the
       caller entered it (entered_by_operator_id is the caller's operator
       id or key), whatever roles the caller holds; the refusal is audited
       in a transaction of its own (validation_refusal.h). A request that
       does not say who entered it is refused too.
    5. Only a SUBMITTED request is decided; a validation also needs its
       dossier complete now (CheckDossier at the request's level).
    6. The decision row, the holder's account on a validation, the audit
       row and the event ("request.validated" or "request.rejected"), all
       in the request's transaction.
*/
#ifndef VALIDATION_DECIDE_H
#define VALIDATION_DECIDE_H

#include <stdbool.h>
#include "tessera/bus.h"
#include "tessera/v1/enrollment.pb-c.h"
#include "validation_records.h"

#define VALIDATION_OPERATOR_ID_MAX 128

//  Step 1. STATUS_OK with operator_id, or a failure (message set).
tsr_status_t validation_caller_operator (tsr_call_t *call,
                                         char operator_id [VALIDATION_OPERATOR_ID_MAX + 1]);

//  Step 4's test: did the caller enter the request? (An empty entered_by
//  counts as yes: four eyes cannot be shown.)
bool validation_entered_by_caller (const char *entered_by, const char *operator_id,
                                   const char *caller_key);

//  Step 2. STATUS_OK when card_request_id is now locked and undecided;
//  *decided (when not NULL) is set instead of failing when it was decided.
tsr_status_t validation_lock_undecided (tsr_call_t *call, const char *card_request_id,
                                        bool *decided);

//  Step 3. STATUS_OK with *request_p (free with
//  tessera__v1__card_request__free_unpacked), or a failure.
tsr_status_t validation_fetch_request (tsr_call_t *call, const char *card_request_id,
                                       Tessera__V1__CardRequest **request_p);

//  Step 4's refusal: audits "validation.four_eyes_refused" for the ids
//  and returns PERMISSION_DENIED with the message set.
tsr_status_t validation_refuse_four_eyes (tsr_call_t *call, const char *method,
                                          const char *operator_id, const char *const *ids,
                                          size_t count);

//  Step 5. STATUS_OK when request may be decided (validated: its dossier
//  is complete), or a failure.
tsr_status_t validation_check_decidable (tsr_call_t *call,
                                         const Tessera__V1__CardRequest *request,
                                         bool validating);

//  Step 6. outcome: DECISION_OUTCOME_VALIDATED (text: the note) or
//  _REJECTED (text: the reason). decision is filled from the stored row
//  (release it in every case).
tsr_status_t validation_record_decision (tsr_call_t *call,
                                         const Tessera__V1__CardRequest *request,
                                         const char *operator_id,
                                         Tessera__V1__DecisionOutcome outcome, const char *text,
                                         validation_decision_t *decision);

#endif
