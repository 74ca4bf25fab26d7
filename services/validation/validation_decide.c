/*  validation_decide: the steps of a decision (see validation_decide.h).
*/
#include "validation_decide.h"
#include "validation_accounts.h"
#include "validation_enrollment.h"
#include "validation_input.h"
#include "validation_refusal.h"
#include "validation_state.h"
#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_VALIDATED TESSERA__V1__DECISION_OUTCOME__DECISION_OUTCOME_VALIDATED

tsr_status_t
validation_caller_operator (tsr_call_t *call, char operator_id [VALIDATION_OPERATOR_ID_MAX + 1])
{
    validation_state_t *state = call->state;
    Tessera__V1__Operator *operator = NULL;
    char message [160] = "";
    tsr_status_t status = validation_enrollment_operator_by_key (
        state->enrollment, call->request->trace_id, call->caller_key, &operator,
        message, sizeof message);
    if (status == TESSERA__V1__STATUS__STATUS_NOT_FOUND)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED,
                              "your key is not an operator known to enrollment");
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE,
                              "cannot identify the caller at enrollment (%.120s); retry", message);
    const char *id = *operator->operator_id ? operator->operator_id : call->caller_key;
    if (operator->disabled)
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED,
                                "your operator record is disabled");
    else
    if (strlen (id) > VALIDATION_OPERATOR_ID_MAX)
        status = tsr_call_fail (call, S_UNAVAILABLE, "enrollment's operator id is too long");
    else
        snprintf (operator_id, VALIDATION_OPERATOR_ID_MAX + 1, "%s", id);
    tessera__v1__operator__free_unpacked (operator, NULL);
    return status;
}

bool
validation_entered_by_caller (const char *entered_by, const char *operator_id,
                              const char *caller_key)
{
    if (!entered_by || !*entered_by)
        return true;
    return (operator_id && strcmp (entered_by, operator_id) == 0)
        || (caller_key && strcmp (entered_by, caller_key) == 0);
}

tsr_status_t
validation_lock_undecided (tsr_call_t *call, const char *card_request_id, bool *decided)
{
    const char *values [] = { card_request_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT pg_advisory_xact_lock(hashtextextended('validation.request/' || $1, 0))",
        1, values);
    PQclear (res);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot lock the card request");
    validation_decision_t decision;
    int found = validation_decision_load (call->db, card_request_id, &decision);
    tsr_status_t status = S_OK;
    if (decided)
        *decided = found == 1;
    if (found < 0)
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the decisions");
    else
    if (found == 1 && !decided)
        status = tsr_call_fail (call, S_PRECONDITION,
                                "card request %s was %s already (decision %s); a decision is final",
                                card_request_id,
                                decision.message.outcome == S_VALIDATED ? "validated" : "rejected",
                                decision.message.decision_id);
    validation_decision_release (&decision);
    return status;
}

tsr_status_t
validation_fetch_request (tsr_call_t *call, const char *card_request_id,
                          Tessera__V1__CardRequest **request_p)
{
    validation_state_t *state = call->state;
    char message [160] = "";
    tsr_status_t status = validation_enrollment_card_request (
        state->enrollment, call->request->trace_id, card_request_id, request_p,
        message, sizeof message);
    //  An id enrollment finds malformed names no request it could hold.
    if (status == TESSERA__V1__STATUS__STATUS_NOT_FOUND
    ||  status == TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                              "no card request %s at enrollment", card_request_id);
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE,
                              "cannot read card request %s at enrollment (%.120s); retry",
                              card_request_id, message);
    if (strcmp ((*request_p)->card_request_id, card_request_id) != 0
    ||  !validation_id_valid ((*request_p)->batch_id)
    ||  !validation_id_valid ((*request_p)->person_id)
    ||  !validation_optional_id_valid ((*request_p)->organisation_id)) {
        tessera__v1__card_request__free_unpacked (*request_p, NULL);
        *request_p = NULL;
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                              "enrollment's card request %s is not well formed", card_request_id);
    }
    return S_OK;
}

tsr_status_t
validation_refuse_four_eyes (tsr_call_t *call, const char *method, const char *operator_id,
                             const char *const *ids, size_t count)
{
    char *array = tsr_json_string_array (ids, count);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "method", method);
    tsr_json_str (json, "caller_operator_id", operator_id);
    tsr_json_str (json, "request_id", call->request->request_id);
    if (array)
        tsr_json_raw (json, "card_request_ids", array);
    validation_refusal_record (call, "validation.four_eyes_refused", ids [0], &json, NULL,
                               NULL, NULL);
    free (array);
    tsr_log_warn (call->request->trace_id, "validation.four_eyes_refused", "caller",
                  call->caller_key, "card_request_id", ids [0], NULL);
    if (count == 1)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED,
                              "you entered card request %s: another validation operator must "
                              "decide it", ids [0]);
    return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED,
                          "you entered %zu of the batch's requests (%s first): another "
                          "validation operator must decide them", count, ids [0]);
}

tsr_status_t
validation_check_decidable (tsr_call_t *call, const Tessera__V1__CardRequest *request,
                            bool validating)
{
    validation_state_t *state = call->state;
    if (request->state != TESSERA__V1__CARD_REQUEST_STATE__CARD_REQUEST_STATE_SUBMITTED) {
        const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value (
            &tessera__v1__card_request_state__descriptor, (int) request->state);
        return tsr_call_fail (call, S_PRECONDITION,
                              "card request %s is %s at enrollment: only a submitted request "
                              "can be decided", request->card_request_id,
                              value ? value->name : "in an unknown state");
    }
    if (!validating)
        return S_OK;
    Tessera__V1__DossierCheck *check = NULL;
    char message [160] = "";
    tsr_status_t status = validation_enrollment_check_dossier (
        state->enrollment, call->request->trace_id, request->dossier_id, request->level, &check,
        message, sizeof message);
    if (status != S_OK)
        return tsr_call_fail (call, status == TESSERA__V1__STATUS__STATUS_NOT_FOUND
                                    ? S_PRECONDITION : S_UNAVAILABLE,
                              "cannot check the dossier of card request %s (%.120s)",
                              request->card_request_id, message);
    if (!check->complete)
        status = tsr_call_fail (call, S_PRECONDITION,
                                "the dossier of card request %s is no longer complete: %.100s "
                                "(%zu defects; see CheckDossier)", request->card_request_id,
                                check->n_defects ? check->defects [0]->detail : "",
                                check->n_defects);
    tessera__v1__dossier_check__free_unpacked (check, NULL);
    return status;
}

static int
s_audit_decision (tsr_call_t *call, const Tessera__V1__CardRequest *request,
                  const char *decision_id, const char *operator_id, bool validated,
                  const char *text, const char *account_id, bool account_created)
{
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "decision_id", decision_id);
    tsr_json_str (json, "batch_id", request->batch_id);
    tsr_json_str (json, "person_id", request->person_id);
    tsr_json_str (json, "entered_by_operator_id", request->entered_by_operator_id);
    tsr_json_str (json, "decided_by_operator_id", operator_id);
    tsr_json_str (json, validated ? "note" : "reason", text);
    if (validated) {
        tsr_json_str (json, "account_id", account_id);
        tsr_json_bool (json, "account_created", account_created);
    }
    return validation_audit (call->db, call->caller_key,
                             validated ? "validation.request_validated"
                                       : "validation.request_rejected",
                             request->card_request_id, call->request->trace_id, &json);
}

static int
s_emit_decision (tsr_call_t *call, const Tessera__V1__CardRequest *request,
                 const Tessera__V1__Decision *decision)
{
    if (decision->outcome == S_VALIDATED) {
        Tessera__V1__RequestValidated event = TESSERA__V1__REQUEST_VALIDATED__INIT;
        event.card_request_id = request->card_request_id;
        event.batch_id = request->batch_id;
        event.person_id = request->person_id;
        event.organisation_id = request->organisation_id;
        event.level = request->level;
        event.n_uses = request->n_uses;
        event.uses = request->uses;
        event.software_certificate = request->software_certificate;
        event.decided_by_operator_id = decision->decided_by_operator_id;
        event.decided_at_unix = decision->decided_at_unix;
        event.account_id = decision->account_id;
        return validation_emit (call->db, "request.validated", request->card_request_id,
                                call->request->trace_id, &event.base);
    }
    Tessera__V1__RequestRejected event = TESSERA__V1__REQUEST_REJECTED__INIT;
    event.card_request_id = request->card_request_id;
    event.batch_id = request->batch_id;
    event.person_id = request->person_id;
    event.reason = decision->reason;
    event.decided_by_operator_id = decision->decided_by_operator_id;
    event.decided_at_unix = decision->decided_at_unix;
    return validation_emit (call->db, "request.rejected", request->card_request_id,
                            call->request->trace_id, &event.base);
}

//  The holder's account for a validation (the person's e-mail from enrollment).
static tsr_status_t
s_account (tsr_call_t *call, const Tessera__V1__CardRequest *request, const char *decision_id,
           char account_id [VALIDATION_ID_MAX + 1], bool *created)
{
    validation_state_t *state = call->state;
    Tessera__V1__Person *person = NULL;
    char message [160] = "";
    tsr_status_t status = validation_enrollment_person (state->enrollment,
                                                        call->request->trace_id,
                                                        request->person_id, &person,
                                                        message, sizeof message);
    if (status != S_OK)
        return tsr_call_fail (call, status == TESSERA__V1__STATUS__STATUS_NOT_FOUND
                                    ? S_PRECONDITION : S_UNAVAILABLE,
                              "cannot read the holder %s at enrollment (%.120s)",
                              request->person_id, message);
    status = validation_account_for_person (call, request->person_id, person->email, decision_id,
                                            account_id, created);
    tessera__v1__person__free_unpacked (person, NULL);
    return status;
}

tsr_status_t
validation_record_decision (tsr_call_t *call, const Tessera__V1__CardRequest *request,
                            const char *operator_id, Tessera__V1__DecisionOutcome outcome,
                            const char *text, validation_decision_t *decision)
{
    memset (decision, 0, sizeof *decision);
    bool validated = outcome == S_VALIDATED;
    char decision_id [TSR_ID_HEX_SIZE], account_id [VALIDATION_ID_MAX + 1] = "";
    bool created = false;
    tsr_random_id (decision_id);
    if (validated) {
        tsr_status_t status = s_account (call, request, decision_id, account_id, &created);
        if (status != S_OK)
            return status;
    }
    const char *values [] = {
        decision_id, request->card_request_id, request->batch_id, request->person_id,
        request->organisation_id, validated ? "1" : "2", validated ? "" : text,
        validated ? text : "", operator_id, call->caller_key, request->entered_by_operator_id,
        validated ? account_id : NULL, created ? "true" : "false" };
    PGresult *res = tsr_db_query (call->db,
        "INSERT INTO decisions (decision_id, card_request_id, batch_id, person_id,"
        " organisation_id, outcome, reason, note, decided_by_operator_id, decided_by_key,"
        " entered_by_operator_id, account_id, account_created)"
        " VALUES ($1, $2, $3, $4, $5, $6::smallint, $7, $8, $9, $10, $11, $12, $13::boolean)",
        13, values);
    if (!res) {
        if (strcmp (tsr_db_sqlstate (call->db), "23505") == 0)
            return tsr_call_fail (call, S_PRECONDITION, "card request %s was decided meanwhile",
                                  request->card_request_id);
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the decision");
    }
    PQclear (res);
    if (validation_decision_load (call->db, request->card_request_id, decision) != 1
    ||  s_audit_decision (call, request, decision_id, operator_id, validated, text, account_id,
                          created)
    ||  s_emit_decision (call, request, &decision->message))
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the decision");
    tsr_log_info (call->request->trace_id,
                  validated ? "validation.request_validated" : "validation.request_rejected",
                  "card_request_id", request->card_request_id, "decision_id", decision_id, NULL);
    return S_OK;
}
