/*  SuspendCertificates: a holder's certificates put on hold at ca
    (certificateHold) by a revocation or service-desk operator's decision,
    taken on their own or at the request of the holder, their RL or an MC
    (checked as the channels check it), with a reason code and a note.

    Named by serial, each must be good at ca and all the same holder's;
    named by card, every good certificate of the card (perso's GetCard) is
    held and the card moves to SUSPENDED (ChangeCardState on behalf of the
    operator); the card's certificates that are not good (on hold until
    activation, revoked) are left as they are and not in the suspension.

    Everything is checked before anything is changed: a refusal changes
    nothing. perso and ca are then asked with request ids derived from the
    suspension's id (itself derived from the call's request id), perso
    first (its table decides whether the card may be suspended), and
    finally one transaction records the suspension, its certificates, the
    audit rows and "certificate.suspended". When ca or perso fails
    half-way, the answer is UNAVAILABLE and a retry with the same request
    id completes the suspension (ca and perso answer their first replies).
*/
#include "revocation_checks.h"
#include "revocation_handlers.h"
#include "revocation_records.h"
#include "revocation_state.h"
#include "revocation_suspension.h"
#include "tessera/v1/ca.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_GOOD TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_GOOD
#define S_REVOKED TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_REVOKED
#define S_ON_HOLD TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_ON_HOLD
#define S_HOLD TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_CERTIFICATE_HOLD

//  What the handler gathers before it changes anything.
typedef struct {
    revocation_suspension_head_t head;          //  first; serials: the candidates
    char holder_id [REVOCATION_ID_MAX + 1];
    char organisation_id [REVOCATION_ID_MAX + 1];
    int requester_role;
    int card_previous_state;
    int states [REVOCATION_SERIALS_MAX];        //  at ca before
    bool held [REVOCATION_SERIALS_MAX];         //  put on hold by this suspension
} s_suspend_t;

//  Each candidate at ca: the holder's (the first one's, when named), and
//  good; or, named, on hold by this very suspension (a retry). A card's
//  certificates that are not good are skipped.
static tsr_status_t
s_certificates (tsr_call_t *call, s_suspend_t *self, bool by_card)
{
    revocation_state_t *state = call->state;
    for (size_t i = 0; i < self->head.count; i++) {
        Tessera__V1__GetCertificateRequest request = TESSERA__V1__GET_CERTIFICATE_REQUEST__INIT;
        request.serial_hex = self->head.serials [i];
        Tessera__V1__CertificateRecord *record = NULL;
        char message [160] = "";
        tsr_status_t status = tsr_peer_call (
            state->ca, "GetCertificate", &request.base,
            &tessera__v1__certificate_record__descriptor, NULL, call->request->trace_id,
            (ProtobufCMessage **) &record, message, sizeof message);
        if (status == S_NOT_FOUND || status == S_INVALID)
            return tsr_call_fail (call, S_NOT_FOUND, "serials[%zu]: ca issued no certificate %s",
                                  i, self->head.serials [i]);
        if (status != S_OK)
            return tsr_call_fail (call, S_UNAVAILABLE, "cannot read certificate %s at ca "
                                  "(%.120s); retry", self->head.serials [i], message);
        if (!*self->holder_id && revocation_id_valid (record->holder_id))
            snprintf (self->holder_id, sizeof self->holder_id, "%s", record->holder_id);
        bool holders = strcmp (record->holder_id, self->holder_id) == 0;
        self->states [i] = record->status ? (int) record->status->state : 0;
        tessera__v1__certificate_record__free_unpacked (record, NULL);
        if (!holders)
            return tsr_call_fail (call, S_PRECONDITION, "serials[%zu]: certificate %s is not "
                                  "holder %s's: one holder per suspension", i,
                                  self->head.serials [i], self->holder_id);
        if (!by_card && self->states [i] == S_REVOKED)
            return tsr_call_fail (call, S_PRECONDITION, "serials[%zu]: certificate %s is "
                                  "revoked: there is nothing to suspend", i,
                                  self->head.serials [i]);
    }
    return S_OK;
}

//  Refuses a card or a certificate already in an open suspension here.
static tsr_status_t
s_open_check (tsr_call_t *call, const s_suspend_t *self)
{
    tsr_status_t status = S_OK;
    if (*self->head.card_uuid) {
        const char *values [] = { self->head.card_uuid };
        PGresult *res = tsr_db_query (call->db, "SELECT suspension_id FROM suspensions"
                                      " WHERE card_uuid = $1 AND state = 1", 1, values);
        if (!res)
            return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the suspensions");
        if (PQntuples (res) > 0)
            status = tsr_call_fail (call, S_PRECONDITION, "card_uuid: card %s is suspended "
                                    "already (suspension %s)", self->head.card_uuid,
                                    PQgetvalue (res, 0, 0));
        PQclear (res);
    }
    for (size_t i = 0; status == S_OK && i < self->head.count; i++) {
        const char *values [] = { self->head.serials [i] };
        PGresult *res = tsr_db_query (call->db, "SELECT suspension_id FROM suspension_serials"
                                      " WHERE serial_hex = $1 AND open", 1, values);
        if (!res)
            return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the suspensions");
        if (PQntuples (res) > 0)
            status = tsr_call_fail (call, S_PRECONDITION, "serials[%zu]: certificate %s is "
                                    "suspended already (suspension %s)", i, self->head.serials [i],
                                    PQgetvalue (res, 0, 0));
        PQclear (res);
    }
    return status;
}

//  Puts the candidates on hold at ca. Those on hold before: only a retry
//  of this suspension gets OK for them (ca's stored reply); otherwise a
//  named one is refused, and a card's (on hold until activation) skipped.
//  Named ones on hold are tried first, so a refusal changes nothing.
static tsr_status_t
s_hold (tsr_call_t *call, s_suspend_t *self, bool by_card, bool first_pass)
{
    for (size_t i = 0; i < self->head.count; i++) {
        bool on_hold = self->states [i] == S_ON_HOLD;
        if (first_pass != on_hold || self->states [i] == S_REVOKED)
            continue;
        char message [160] = "";
        int after = 0;
        tsr_status_t code = revocation_hold_call (call, "hold", self->head.id,
                                                  self->head.serials [i], S_HOLD, &after,
                                                  message, sizeof message);
        if (code == S_OK)
            self->held [i] = true;
        else
        if (code == S_PRECONDITION && on_hold && by_card)
            continue;
        else
        if (code == S_PRECONDITION && on_hold)
            return tsr_call_fail (call, S_PRECONDITION, "serials[%zu]: certificate %s is on "
                                  "hold already", i, self->head.serials [i]);
        else
            return tsr_call_fail (call, code == S_PRECONDITION ? S_PRECONDITION : S_UNAVAILABLE,
                                  "ca did not put %s on hold (%s: %.120s); retry with the same "
                                  "request id", self->head.serials [i], tsr_status_name (code),
                                  message);
    }
    return S_OK;
}

//  The suspension, its certificates, the audit rows and the event; then
//  the reply.
static tsr_status_t
s_record (tsr_call_t *call, const s_suspend_t *self,
          const Tessera__V1__SuspendCertificatesRequest *request)
{
    char role [4], reason [4], previous [4], position [8];
    snprintf (role, sizeof role, "%d", self->requester_role);
    snprintf (reason, sizeof reason, "%d", (int) request->reason);
    snprintf (previous, sizeof previous, "%d", self->card_previous_state);
    const char *values [] = { self->head.id, self->holder_id, self->organisation_id,
                              request->requester_person_id, role,
                              *self->head.card_uuid ? self->head.card_uuid : NULL,
                              *self->head.card_uuid ? previous : NULL, reason, request->note,
                              self->head.operator_id, call->caller_key };
    PGresult *res = tsr_db_query (call->db,
        "INSERT INTO suspensions (suspension_id, state, holder_person_id, organisation_id,"
        " requester_person_id, requester_role, card_uuid, card_previous_state, reason, note,"
        " suspended_by_operator_id, suspended_by_key)"
        " VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)", 11, values);
    PQclear (res);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the suspension");
    const char *held [REVOCATION_SERIALS_MAX];
    size_t held_count = 0;
    for (size_t i = 0; i < self->head.count; i++) {
        if (!self->held [i])
            continue;
        snprintf (position, sizeof position, "%zu", held_count);
        const char *row [] = { self->head.id, position, self->head.serials [i] };
        res = tsr_db_query (call->db, "INSERT INTO suspension_serials (suspension_id, position,"
                            " serial_hex) VALUES ($1, $2, $3)", 3, row);
        PQclear (res);
        if (!res)
            return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the suspension");
        held [held_count++] = self->head.serials [i];
    }
    revocation_suspension_step_t step = {
        .action = "revocation.suspended", .event = "certificate.suspended",
        .suspension_id = self->head.id,
        .state = TESSERA__V1__SUSPENSION_STATE__SUSPENSION_STATE_SUSPENDED,
        .holder_id = self->holder_id, .requester_id = request->requester_person_id,
        .requester_role = self->requester_role, .card_uuid = self->head.card_uuid,
        .card_state = self->card_previous_state, .serials = held, .count = held_count,
        .reason = (int) request->reason,
        .reason_name = revocation_suspension_reason_name ((int) request->reason),
        .note = request->note, .operator_id = self->head.operator_id };
    return revocation_suspension_finish (call, &step, "suspended: the certificates are on hold");
}

//  The card: its holder and candidates. It must be personalised, shipped
//  or active (perso's table says so again when asked), or suspended by a
//  first try of this very call.
static tsr_status_t
s_card (tsr_call_t *call, s_suspend_t *self)
{
    Tessera__V1__Card *card = NULL;
    tsr_status_t status = revocation_card_get (call, self->head.card_uuid, &card);
    if (status != S_OK)
        return status;
    snprintf (self->holder_id, sizeof self->holder_id, "%s", card->person_id);
    for (size_t i = 0; i < card->n_certificates; i++) {
        char serial [REVOCATION_SERIAL_HEX_MAX + 1];
        if (revocation_serial_normalise (card->certificates [i]->serial_hex, serial))
            snprintf (self->head.serials [self->head.count++], REVOCATION_SERIAL_HEX_MAX + 1,
                      "%s", serial);
    }
    tessera__v1__card__free_unpacked (card, NULL);
    return S_OK;
}

//  Holder's organisation and requester: GetPerson through the parties
//  check (the holder for themselves when nobody else asked).
static tsr_status_t
s_parties (tsr_call_t *call, s_suspend_t *self, const char *requester_id)
{
    revocation_parties_t parties;
    tsr_status_t status = revocation_parties_check (
        call, *requester_id ? requester_id : self->holder_id,
        *requester_id ? "requester_person_id" : "holder", self->holder_id, "holder", &parties);
    if (status == S_OK) {
        self->requester_role = *requester_id ? parties.requester_role : 0;
        snprintf (self->organisation_id, sizeof self->organisation_id, "%s",
                  parties.holder->organisation_id);
    }
    revocation_parties_release (&parties);
    return status;
}

tsr_status_t
revocation_handle_suspend (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__SuspendCertificatesRequest *request =
        (Tessera__V1__SuspendCertificatesRequest *) tsr_call_unpack (
            call, &tessera__v1__suspend_certificates_request__descriptor, &status);
    if (!request)
        return status;
    Tessera__V1__Card *card = NULL;
    revocation_suspension_input_t input = {
        .card_uuid = request->card_uuid, .serials = request->serials,
        .serial_count = request->n_serials, .requester_person_id = request->requester_person_id,
        .reason = (int) request->reason, .reason_max = 6, .note = request->note };
    s_suspend_t *self = revocation_suspension_open (call, &input, "su", sizeof *self, &status);
    if (!self)
        goto done;
    bool by_card = *self->head.card_uuid != 0;
    if ((by_card && (status = s_card (call, self)) != S_OK)
    ||  (status = s_certificates (call, self, by_card)) != S_OK
    ||  (!*self->holder_id && (status = tsr_call_fail (call, S_PRECONDITION, "ca gives no "
                                                       "holder for these certificates")) != S_OK)
    ||  (status = s_parties (call, self, request->requester_person_id)) != S_OK
    ||  (status = s_open_check (call, self)) != S_OK
    ||  (status = s_hold (call, self, by_card, true)) != S_OK)
        goto done;
    if (by_card) {
        if ((status = revocation_card_change (
                call, self->head.card_uuid, TESSERA__V1__CARD_STATE__CARD_STATE_SUSPENDED,
                "suspension", self->head.id,
                revocation_suspension_reason_name ((int) request->reason), request->note,
                self->head.operator_id, "suspend", &card)) != S_OK)
            goto done;
        self->card_previous_state = (int) card->suspended_from_state;
    }
    if ((status = s_hold (call, self, by_card, false)) == S_OK)
        status = s_record (call, self, request);
done:
    if (card)
        tessera__v1__card__free_unpacked (card, NULL);
    free (self);
    tessera__v1__suspend_certificates_request__free_unpacked (request, NULL);
    return status;
}
