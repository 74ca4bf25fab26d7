/*  revocation_checks: operators, persons, certificates (see
    revocation_checks.h).
*/
#include "revocation_checks.h"
#include "revocation_policy.h"
#include "revocation_refusal.h"
#include "revocation_state.h"
#include "revocation_suspension.h"
#include "tessera/v1/ca.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_DENIED TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

tsr_status_t
revocation_caller_operator (tsr_call_t *call, char operator_id [REVOCATION_ID_MAX + 1])
{
    revocation_state_t *state = call->state;
    Tessera__V1__GetOperatorRequest request = TESSERA__V1__GET_OPERATOR_REQUEST__INIT;
    request.public_key = (char *) call->caller_key;
    Tessera__V1__Operator *operator = NULL;
    char message [160] = "";
    tsr_status_t status = tsr_peer_call (
        state->enrollment, "GetOperator", &request.base, &tessera__v1__operator__descriptor,
        NULL, call->request->trace_id, (ProtobufCMessage **) &operator, message, sizeof message);
    if (status == S_NOT_FOUND)
        return tsr_call_fail (call, S_DENIED, "your key is not an operator known to enrollment");
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE,
                              "cannot identify the caller at enrollment (%.120s); retry", message);
    if (operator->disabled)
        status = tsr_call_fail (call, S_DENIED, "your operator record is disabled");
    else
    if (!revocation_id_valid (operator->operator_id))
        status = tsr_call_fail (call, S_UNAVAILABLE, "enrollment's operator id is not well formed");
    else
        snprintf (operator_id, REVOCATION_ID_MAX + 1, "%s", operator->operator_id);
    tessera__v1__operator__free_unpacked (operator, NULL);
    return status;
}

//  One person from enrollment, checked well formed.
static tsr_status_t
s_person (tsr_call_t *call, const char *field, const char *person_id,
          Tessera__V1__Person **person_p)
{
    revocation_state_t *state = call->state;
    Tessera__V1__GetPersonRequest request = TESSERA__V1__GET_PERSON_REQUEST__INIT;
    request.person_id = (char *) person_id;
    char message [160] = "";
    tsr_status_t status = tsr_peer_call (
        state->enrollment, "GetPerson", &request.base, &tessera__v1__person__descriptor, NULL,
        call->request->trace_id, (ProtobufCMessage **) person_p, message, sizeof message);
    if (status == S_NOT_FOUND || status == S_INVALID)
        return tsr_call_fail (call, S_NOT_FOUND, "%s: no person %s at enrollment", field,
                              person_id);
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read person %s at enrollment (%.120s); "
                              "retry", person_id, message);
    Tessera__V1__Person *person = *person_p;
    if (strcmp (person->person_id, person_id) != 0
    ||  !revocation_id_valid (person->organisation_id)
    ||  person->role < 1 || person->role > 3) {
        tessera__v1__person__free_unpacked (person, NULL);
        *person_p = NULL;
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                              "enrollment's person %s is not well formed", person_id);
    }
    return S_OK;
}

tsr_status_t
revocation_parties_check (tsr_call_t *call, const char *requester_id, const char *requester_field,
                          const char *holder_id, const char *holder_field,
                          revocation_parties_t *parties)
{
    memset (parties, 0, sizeof *parties);
    tsr_status_t status = s_person (call, requester_field, requester_id, &parties->requester);
    if (status != S_OK)
        return status;
    if (!*holder_id || strcmp (holder_id, requester_id) == 0)
        parties->holder = parties->requester;
    else
    if ((status = s_person (call, holder_field, holder_id, &parties->holder)) != S_OK)
        return status;
    revocation_party_t requester = {
        .person_id = parties->requester->person_id,
        .organisation_id = parties->requester->organisation_id,
        .role = (int) parties->requester->role };
    revocation_party_t holder = {
        .person_id = parties->holder->person_id,
        .organisation_id = parties->holder->organisation_id,
        .role = (int) parties->holder->role };
    const char *why = NULL;
    parties->requester_role = revocation_requester_role (&requester, &holder, &why);
    if (parties->requester_role)
        return S_OK;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "requester_person_id", requester.person_id);
    tsr_json_str (json, "requester_organisation_id", requester.organisation_id);
    tsr_json_int (json, "requester_role", requester.role);
    tsr_json_str (json, "holder_person_id", holder.person_id);
    tsr_json_str (json, "holder_organisation_id", holder.organisation_id);
    char message [TSR_CALL_MESSAGE_MAX];
    snprintf (message, sizeof message, "%s: %s (holder %s)", requester_field, why,
              holder.person_id);
    return revocation_refuse (call, S_DENIED, "requester_not_allowed", holder.person_id, &json,
                              message);
}

void
revocation_parties_release (revocation_parties_t *parties)
{
    if (parties->holder && parties->holder != parties->requester)
        tessera__v1__person__free_unpacked (parties->holder, NULL);
    if (parties->requester)
        tessera__v1__person__free_unpacked (parties->requester, NULL);
    parties->holder = parties->requester = NULL;
}

//  A certificate that is not the holder's: refused, and kept on record.
static tsr_status_t
s_not_holders (tsr_call_t *call, size_t index, const char *serial_hex, const char *holder_id,
               const char *owner_id)
{
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "serial", serial_hex);
    tsr_json_str (json, "holder_person_id", holder_id);
    tsr_json_str (json, "certificate_holder_id", owner_id);
    char message [TSR_CALL_MESSAGE_MAX];
    snprintf (message, sizeof message, "serials[%zu]: certificate %s is not one of holder %s's",
              index, serial_hex, holder_id);
    return revocation_refuse (call, S_DENIED, "certificate_not_holders", holder_id, &json,
                              message);
}

//  revocation_certificates_check; by_card: the serials are a card's, and
//  those revoked already are left out (*count lowered) instead of refused.
static tsr_status_t
s_certificates (tsr_call_t *call, const char *holder_id,
                char serials [][REVOCATION_SERIAL_HEX_MAX + 1], size_t *count, int *levels,
                int *max_level, bool by_card)
{
    revocation_state_t *state = call->state;
    *max_level = 0;
    for (size_t i = 0; i < *count; ) {
        Tessera__V1__GetCertificateRequest request = TESSERA__V1__GET_CERTIFICATE_REQUEST__INIT;
        request.serial_hex = serials [i];
        Tessera__V1__CertificateRecord *record = NULL;
        char message [160] = "";
        tsr_status_t status = tsr_peer_call (
            state->ca, "GetCertificate", &request.base, &tessera__v1__certificate_record__descriptor,
            NULL, call->request->trace_id, (ProtobufCMessage **) &record, message, sizeof message);
        if (status == S_NOT_FOUND || status == S_INVALID)
            return tsr_call_fail (call, S_NOT_FOUND, "serials[%zu]: ca issued no certificate %s",
                                  i, serials [i]);
        if (status != S_OK)
            return tsr_call_fail (call, S_UNAVAILABLE, "cannot read certificate %s at ca "
                                  "(%.120s); retry", serials [i], message);
        int certificate_state = record->status ? (int) record->status->state : 0;
        int level = (int) record->level;
        if (strcmp (record->holder_id, holder_id) != 0) {
            char owner [REVOCATION_ID_MAX + 1];
            snprintf (owner, sizeof owner, "%s", record->holder_id);
            tessera__v1__certificate_record__free_unpacked (record, NULL);
            return s_not_holders (call, i, serials [i], holder_id, owner);
        }
        tessera__v1__certificate_record__free_unpacked (record, NULL);
        if (certificate_state == TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_REVOKED
        &&  by_card) {
            memmove (serials [i], serials [i + 1], (*count - i - 1) * sizeof serials [0]);
            (*count)--;
            continue;
        }
        if (certificate_state == TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_REVOKED)
            return tsr_call_fail (call, S_PRECONDITION, "serials[%zu]: certificate %s is revoked "
                                  "already", i, serials [i]);
        if (certificate_state != TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_GOOD
        &&  certificate_state != TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_ON_HOLD)
            return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                                  "ca gave certificate %s no usable status", serials [i]);
        levels [i] = level >= 1 && level <= 3 ? level : (int) state->policy_level;
        if (levels [i] > *max_level)
            *max_level = levels [i];
        i++;
    }
    return S_OK;
}

tsr_status_t
revocation_certificates_check (tsr_call_t *call, const char *holder_id,
                               char serials [][REVOCATION_SERIAL_HEX_MAX + 1], size_t count,
                               int *levels, int *max_level)
{
    return s_certificates (call, holder_id, serials, &count, levels, max_level, false);
}

tsr_status_t
revocation_request_certificates (tsr_call_t *call, const char *card_uuid, const char *holder_id,
                                 char serials [][REVOCATION_SERIAL_HEX_MAX + 1], size_t *count,
                                 int *levels, int *max_level)
{
    return *card_uuid ? revocation_card_certificates (call, card_uuid, holder_id, serials, count,
                                                      levels, max_level)
                      : s_certificates (call, holder_id, serials, count, levels, max_level, false);
}

tsr_status_t
revocation_card_certificates (tsr_call_t *call, const char *card_uuid, const char *holder_id,
                              char serials [][REVOCATION_SERIAL_HEX_MAX + 1], size_t *count,
                              int *levels, int *max_level)
{
    *count = 0;
    *max_level = 0;
    Tessera__V1__Card *card = NULL;
    tsr_status_t status = revocation_card_get (call, card_uuid, &card);
    if (status != S_OK)
        return status;
    if (strcmp (card->person_id, holder_id) != 0) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "card_uuid", card_uuid);
        tsr_json_str (json, "holder_person_id", holder_id);
        tsr_json_str (json, "card_holder_id", card->person_id);
        tessera__v1__card__free_unpacked (card, NULL);
        char message [TSR_CALL_MESSAGE_MAX];
        snprintf (message, sizeof message, "card_uuid: card %s is not one of holder %s's",
                  card_uuid, holder_id);
        return revocation_refuse (call, S_DENIED, "card_not_holders", holder_id, &json, message);
    }
    size_t taken = 0;
    for (size_t i = 0; i < card->n_certificates; i++)
        if (revocation_serial_normalise (card->certificates [i]->serial_hex, serials [taken]))
            taken++;
    tessera__v1__card__free_unpacked (card, NULL);
    //  At ca: each the holder's; those revoked already are left out.
    if (taken > 0)
        status = s_certificates (call, holder_id, serials, &taken, levels, max_level, true);
    if (status == S_OK && taken == 0)
        return tsr_call_fail (call, S_PRECONDITION, "card_uuid: card %s carries no certificate "
                              "that is not revoked already", card_uuid);
    *count = taken;
    return status;
}

tsr_status_t
revocation_open_check (tsr_call_t *call, char serials [][REVOCATION_SERIAL_HEX_MAX + 1],
                       size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const char *values [] = { serials [i] };
        PGresult *res = tsr_db_query (call->db,
            "SELECT revocation_id FROM revocation_serials WHERE serial_hex = $1 AND open", 1,
            values);
        if (!res)
            return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the revocation requests");
        tsr_status_t status = S_OK;
        if (PQntuples (res) > 0)
            status = tsr_call_fail (call, S_PRECONDITION, "serials[%zu]: certificate %s is in "
                                    "open revocation request %s already", i, serials [i],
                                    PQgetvalue (res, 0, 0));
        PQclear (res);
        if (status != S_OK)
            return status;
    }
    return S_OK;
}
