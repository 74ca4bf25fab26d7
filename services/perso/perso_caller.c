/*  perso_caller: callers, requests, refusals (see perso_caller.h).
*/
#include "perso_caller.h"
#include "perso_input.h"
#include "perso_records.h"
#include "perso_state.h"
#include "tessera/log.h"
#include "tessera/roles.h"
#include "tessera/v1/validation.pb-c.h"

#include <stdio.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND

tsr_status_t
perso_caller_operator (tsr_call_t *call, char operator_id [PERSO_ID_MAX + 1])
{
    perso_state_t *state = call->state;
    if (call->caller_roles & TSR_ROLE_SERVICE) {
        snprintf (operator_id, PERSO_ID_MAX + 1, "%s", call->caller_key);
        return S_OK;
    }
    Tessera__V1__GetOperatorRequest request = TESSERA__V1__GET_OPERATOR_REQUEST__INIT;
    request.public_key = (char *) call->caller_key;
    Tessera__V1__Operator *operator = NULL;
    char message [160] = "";
    tsr_status_t status = tsr_peer_call (state->enrollment, "GetOperator", &request.base,
                                         &tessera__v1__operator__descriptor,
                                         NULL, call->request->trace_id,
                                         (ProtobufCMessage **) &operator, message,
                                         sizeof message);
    if (status == S_NOT_FOUND)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED,
                              "your key is not an operator known to enrollment");
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE,
                              "cannot identify the caller at enrollment (%.120s); retry", message);
    const char *id = *operator->operator_id ? operator->operator_id : call->caller_key;
    if (!perso_id_valid (id))
        status = tsr_call_fail (call, S_UNAVAILABLE, "enrollment's operator id is malformed");
    else
        snprintf (operator_id, PERSO_ID_MAX + 1, "%s", id);
    tessera__v1__operator__free_unpacked (operator, NULL);
    return status;
}

void
perso_refusal_record (tsr_call_t *call, const char *action, const char *subject,
                      tsr_json_t **json_p)
{
    perso_state_t *state = call->state;
    const char *trace_id = call->request->trace_id;
    char err [512] = "";
    pthread_mutex_lock (&state->side_lock);
    if (!state->side_db)
        state->side_db = tsr_db_new (state->dsn, state->schema, err, sizeof err);
    tsr_db_t *db = state->side_db;
    bool ok = db && tsr_db_begin (db) == 0
           && perso_audit (db, call->caller_key, action, subject, trace_id, json_p) == 0
           && tsr_db_commit (db) == 0;
    if (!ok && db)
        tsr_db_rollback (db);
    if (!ok)
        tsr_log_error (trace_id, "perso.refusal_not_recorded", "action", action, "reason",
                       db ? tsr_db_error (db) : err, NULL);
    pthread_mutex_unlock (&state->side_lock);
    tsr_json_destroy (json_p);
    tsr_log_warn (trace_id, action, "caller", call->caller_key, "subject", subject, NULL);
}

tsr_status_t
perso_fetch_request (tsr_call_t *call, const char *card_request_id,
                     Tessera__V1__CardRequest **request_p)
{
    perso_state_t *state = call->state;
    Tessera__V1__GetCardRequestRequest request = TESSERA__V1__GET_CARD_REQUEST_REQUEST__INIT;
    request.card_request_id = (char *) card_request_id;
    char message [160] = "";
    tsr_status_t status = tsr_peer_call (state->enrollment, "GetCardRequest", &request.base,
                                         &tessera__v1__card_request__descriptor,
                                         NULL, call->request->trace_id,
                                         (ProtobufCMessage **) request_p, message,
                                         sizeof message);
    if (status == S_NOT_FOUND || status == TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT)
        return tsr_call_fail (call, S_NOT_FOUND, "no card request %s at enrollment",
                              card_request_id);
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE,
                              "cannot read card request %s at enrollment (%.120s); retry",
                              card_request_id, message);
    Tessera__V1__CardRequest *got = *request_p;
    if (strcmp (got->card_request_id, card_request_id) != 0 || !perso_id_valid (got->person_id)
    ||  !perso_id_valid (got->organisation_id) || got->level < 1 || got->level > 3) {
        tessera__v1__card_request__free_unpacked (got, NULL);
        *request_p = NULL;
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                              "enrollment's card request %s is not well formed", card_request_id);
    }
    return S_OK;
}

tsr_status_t
perso_request_usable (tsr_call_t *call, const Tessera__V1__CardRequest *request, bool software)
{
    if (request->state != TESSERA__V1__CARD_REQUEST_STATE__CARD_REQUEST_STATE_VALIDATED) {
        const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value (
            &tessera__v1__card_request_state__descriptor, (int) request->state);
        return tsr_call_fail (call, S_PRECONDITION,
                              "card request %s is %s at enrollment: only a validated request "
                              "can be personalised", request->card_request_id,
                              value ? value->name : "in an unknown state");
    }
    if (software && (!request->software_certificate
                     || request->level != TESSERA__V1__POLICY_LEVEL__POLICY_LEVEL_ONE_STAR))
        return tsr_call_fail (call, S_PRECONDITION,
                              "card request %s is not for software certificates at level *",
                              request->card_request_id);
    if (!software && request->software_certificate)
        return tsr_call_fail (call, S_PRECONDITION,
                              "card request %s is for software certificates, not a card "
                              "(IssueFromCsr, IssuePkcs12)", request->card_request_id);
    return S_OK;
}

tsr_status_t
perso_fetch_subject (tsr_call_t *call, const Tessera__V1__CardRequest *request,
                     perso_subject_t *subject)
{
    perso_state_t *state = call->state;
    memset (subject, 0, sizeof *subject);
    char message [160] = "";
    Tessera__V1__GetPersonRequest person_request = TESSERA__V1__GET_PERSON_REQUEST__INIT;
    person_request.person_id = request->person_id;
    Tessera__V1__Person *person = NULL;
    tsr_status_t status = tsr_peer_call (state->enrollment, "GetPerson", &person_request.base,
                                         &tessera__v1__person__descriptor,
                                         NULL, call->request->trace_id,
                                         (ProtobufCMessage **) &person, message, sizeof message);
    if (status != S_OK)
        return tsr_call_fail (call, status == S_NOT_FOUND ? S_PRECONDITION : S_UNAVAILABLE,
                              "cannot read the holder %s at enrollment (%.120s)",
                              request->person_id, message);
    Tessera__V1__GetOrganisationRequest org_request = TESSERA__V1__GET_ORGANISATION_REQUEST__INIT;
    org_request.organisation_id = request->organisation_id;
    Tessera__V1__Organisation *organisation = NULL;
    status = tsr_peer_call (state->enrollment, "GetOrganisation", &org_request.base,
                            &tessera__v1__organisation__descriptor, NULL,
                            call->request->trace_id, (ProtobufCMessage **) &organisation,
                            message, sizeof message);
    if (status != S_OK) {
        tessera__v1__person__free_unpacked (person, NULL);
        return tsr_call_fail (call, status == S_NOT_FOUND ? S_PRECONDITION : S_UNAVAILABLE,
                              "cannot read the organisation %s at enrollment (%.120s)",
                              request->organisation_id, message);
    }
    if (!perso_text_valid (person->given_name, 1, 64) || !perso_text_valid (person->surname, 1, 64)
    ||  !perso_text_valid (organisation->legal_name, 1, 64)
    ||  strlen (organisation->siret) != 14)
        status = tsr_call_fail (call, S_PRECONDITION,
                                "the holder's names or the organisation's name and SIRET at "
                                "enrollment cannot make a certificate subject");
    else {
        snprintf (subject->given_name, sizeof subject->given_name, "%s", person->given_name);
        snprintf (subject->surname, sizeof subject->surname, "%s", person->surname);
        snprintf (subject->organization, sizeof subject->organization, "%s",
                  organisation->legal_name);
        snprintf (subject->organization_id, sizeof subject->organization_id, "%s",
                  organisation->siret);
        //  ca checks the address itself before it goes in a certificate.
        if (perso_text_valid (person->email, 3, PERSO_EMAIL_MAX) && strchr (person->email, '@'))
            snprintf (subject->email, sizeof subject->email, "%s", person->email);
    }
    tessera__v1__person__free_unpacked (person, NULL);
    tessera__v1__organisation__free_unpacked (organisation, NULL);
    return status;
}

tsr_status_t
perso_fetch_account (tsr_call_t *call, const char *card_request_id,
                     char account_id [PERSO_ID_MAX + 1])
{
    perso_state_t *state = call->state;
    Tessera__V1__GetDecisionRequest request = TESSERA__V1__GET_DECISION_REQUEST__INIT;
    request.card_request_id = (char *) card_request_id;
    Tessera__V1__Decision *decision = NULL;
    char message [160] = "";
    tsr_status_t status = tsr_peer_call (state->validation, "GetDecision", &request.base,
                                         &tessera__v1__decision__descriptor,
                                         NULL, call->request->trace_id,
                                         (ProtobufCMessage **) &decision, message,
                                         sizeof message);
    if (status != S_OK)
        return tsr_call_fail (call, status == S_NOT_FOUND ? S_PRECONDITION : S_UNAVAILABLE,
                              "cannot read validation's decision on %s (%.120s)", card_request_id,
                              message);
    if (decision->outcome != TESSERA__V1__DECISION_OUTCOME__DECISION_OUTCOME_VALIDATED)
        status = tsr_call_fail (call, S_PRECONDITION,
                                "validation did not validate card request %s", card_request_id);
    else
    if (!perso_optional_id_valid (decision->account_id))
        status = tsr_call_fail (call, S_UNAVAILABLE, "validation's account id is malformed");
    else
        snprintf (account_id, PERSO_ID_MAX + 1, "%s", decision->account_id);
    tessera__v1__decision__free_unpacked (decision, NULL);
    return status;
}
