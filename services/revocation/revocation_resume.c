/*  ResumeCertificates: a suspension lifted, by the same kind of decision as
    SuspendCertificates (revocation_suspend.c): the holds it put are
    released at ca (removeFromCRL) and its card returns to the state it
    came from (perso's table allows nothing else).

    Named by card: the card's open suspension, all of it. Named by serial:
    certificates of one suspension made by serial (a card's are resumed
    with the card), each still on hold; a part may be resumed, and the
    suspension ends when none is left. A certificate revoked while
    suspended stays revoked: named, it is refused (FAILED_PRECONDITION, as
    is one that is revoked, or not suspended here); in a card's
    suspension it is recorded as "revoked meanwhile" and left alone.

    As for a suspension, everything is checked first, perso is asked before
    ca, with request ids derived from the call's, and one transaction
    records the outcome, the audit rows and "certificate.resumed".
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
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_GOOD TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_GOOD
#define S_REVOKED TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_REVOKED
#define S_ON_HOLD TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_ON_HOLD
#define S_REMOVE TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_REMOVE_FROM_CRL

typedef struct {
    revocation_suspension_head_t head;          //  first; id: this resume's
    char suspension_id [REVOCATION_ID_MAX + 1];
    char holder_id [REVOCATION_ID_MAX + 1];
    int card_previous_state;
    int requester_role;
    const char *outcomes [REVOCATION_SERIALS_MAX];
} s_resume_t;

//  The suspension (locked) and what it says of the card and holder.
static tsr_status_t
s_suspension (tsr_call_t *call, s_resume_t *self, const char *where, const char *key,
              const char *field)
{
    char query [400];
    snprintf (query, sizeof query, "SELECT s.suspension_id, s.holder_person_id,"
              " coalesce(s.card_uuid, ''), coalesce(s.card_previous_state, 0)"
              " FROM suspensions s WHERE %s FOR UPDATE OF s", where);
    const char *values [] = { key };
    PGresult *res = tsr_db_query (call->db, query, 1, values);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the suspensions");
    tsr_status_t status = S_OK;
    if (PQntuples (res) != 1)
        status = tsr_call_fail (call, S_PRECONDITION, "%s: %s is not suspended here", field, key);
    else {
        snprintf (self->suspension_id, sizeof self->suspension_id, "%s", PQgetvalue (res, 0, 0));
        snprintf (self->holder_id, sizeof self->holder_id, "%s", PQgetvalue (res, 0, 1));
        snprintf (self->head.card_uuid, sizeof self->head.card_uuid, "%s",
                  PQgetvalue (res, 0, 2));
        self->card_previous_state = (int) strtol (PQgetvalue (res, 0, 3), NULL, 10);
    }
    PQclear (res);
    return status;
}

//  A named certificate that is in no open suspension: why, from ca.
static tsr_status_t
s_not_suspended (tsr_call_t *call, size_t index, const char *serial_hex)
{
    int state = revocation_ca_state (call, serial_hex);
    if (state == S_REVOKED)
        return tsr_call_fail (call, S_PRECONDITION, "serials[%zu]: certificate %s is revoked, "
                              "not on hold: a revocation is final", index, serial_hex);
    if (state == S_ON_HOLD)
        return tsr_call_fail (call, S_PRECONDITION, "serials[%zu]: certificate %s is on hold, "
                              "but not by a suspension (it may await activation)", index,
                              serial_hex);
    if (state == S_GOOD)
        return tsr_call_fail (call, S_PRECONDITION, "serials[%zu]: certificate %s is not "
                              "suspended", index, serial_hex);
    if (state == 0)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read certificate %s at ca; retry",
                              serial_hex);
    return tsr_call_fail (call, S_NOT_FOUND, "serials[%zu]: ca issued no certificate %s",
                          index, serial_hex);
}

//  Named serials: all in one open suspension made by serial, each still on
//  hold at ca.
static tsr_status_t
s_by_serials (tsr_call_t *call, s_resume_t *self)
{
    for (size_t i = 0; i < self->head.count; i++) {
        const char *values [] = { self->head.serials [i] };
        PGresult *res = tsr_db_query (call->db, "SELECT suspension_id FROM suspension_serials"
                                      " WHERE serial_hex = $1 AND open", 1, values);
        if (!res)
            return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the suspensions");
        char suspension_id [REVOCATION_ID_MAX + 1] = "";
        if (PQntuples (res) == 1)
            snprintf (suspension_id, sizeof suspension_id, "%s", PQgetvalue (res, 0, 0));
        PQclear (res);
        if (!*suspension_id)
            return s_not_suspended (call, i, self->head.serials [i]);
        tsr_status_t status;
        if (i == 0
        &&  (status = s_suspension (call, self, "s.suspension_id = $1 AND s.state = 1",
                                    suspension_id, "serials[0]")) != S_OK)
            return status;
        if (strcmp (suspension_id, self->suspension_id) != 0)
            return tsr_call_fail (call, S_PRECONDITION, "serials[%zu]: certificate %s is in "
                                  "suspension %s, serials[0] in %s: resume one suspension at "
                                  "a time", i, self->head.serials [i], suspension_id,
                                  self->suspension_id);
        if (*self->head.card_uuid)
            return tsr_call_fail (call, S_PRECONDITION, "serials[%zu]: certificate %s was "
                                  "suspended with card %s: resume the card", i,
                                  self->head.serials [i], self->head.card_uuid);
        if (revocation_ca_state (call, self->head.serials [i]) == S_REVOKED)
            return tsr_call_fail (call, S_PRECONDITION, "serials[%zu]: certificate %s was "
                                  "revoked while suspended: a revocation is final", i,
                                  self->head.serials [i]);
    }
    return S_OK;
}

//  A card's suspension: its open certificates.
static tsr_status_t
s_by_card (tsr_call_t *call, s_resume_t *self)
{
    char card_uuid [REVOCATION_UUID_MAX + 1];
    snprintf (card_uuid, sizeof card_uuid, "%s", self->head.card_uuid);
    tsr_status_t status = s_suspension (call, self, "s.card_uuid = $1 AND s.state = 1",
                                        card_uuid, "card_uuid");
    if (status != S_OK)
        return status;
    const char *values [] = { self->suspension_id };
    PGresult *res = tsr_db_query (call->db, "SELECT serial_hex FROM suspension_serials WHERE"
                                  " suspension_id = $1 AND open ORDER BY position", 1, values);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the suspensions");
    for (int i = 0; i < PQntuples (res) && self->head.count < REVOCATION_SERIALS_MAX; i++)
        snprintf (self->head.serials [self->head.count++], REVOCATION_SERIAL_HEX_MAX + 1,
                  "%s", PQgetvalue (res, i, 0));
    PQclear (res);
    return S_OK;
}

//  Releases each hold at ca. One revoked meanwhile (only a card's gets
//  here) is left revoked; one released by a first try counts as done.
static tsr_status_t
s_release (tsr_call_t *call, s_resume_t *self)
{
    for (size_t i = 0; i < self->head.count; i++) {
        char message [160] = "";
        int after = 0;
        tsr_status_t code = revocation_hold_call (call, "release", self->head.id,
                                                  self->head.serials [i], S_REMOVE, &after,
                                                  message, sizeof message);
        int state = code == S_PRECONDITION ? revocation_ca_state (call, self->head.serials [i]) : 0;
        self->outcomes [i] = code == S_OK ? "released"
                           : state == S_REVOKED ? "revoked meanwhile"
                           : state == S_GOOD ? "released already" : NULL;
        if (!self->outcomes [i])
            return tsr_call_fail (call, S_UNAVAILABLE, "ca did not release %s (%s: %.120s); "
                                  "retry with the same request id", self->head.serials [i],
                                  tsr_status_name (code), message);
    }
    return S_OK;
}

//  The outcome, the audit rows and the event; then the reply.
static tsr_status_t
s_record (tsr_call_t *call, const s_resume_t *self,
          const Tessera__V1__ResumeCertificatesRequest *request)
{
    const char *released [REVOCATION_SERIALS_MAX];
    for (size_t i = 0; i < self->head.count; i++) {
        const char *values [] = { self->suspension_id, self->head.serials [i],
                                  self->outcomes [i] };
        PGresult *res = tsr_db_query (call->db, "UPDATE suspension_serials SET open = false,"
                                      " released_at = now(), ca_outcome = $3"
                                      " WHERE suspension_id = $1 AND serial_hex = $2", 3, values);
        PQclear (res);
        if (!res)
            return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the resume");
        released [i] = self->head.serials [i];
    }
    char role [4], reason [4];
    snprintf (role, sizeof role, "%d", self->requester_role);
    snprintf (reason, sizeof reason, "%d", (int) request->reason);
    const char *values [] = { self->suspension_id, request->requester_person_id, role, reason,
                              request->note, self->head.operator_id, call->caller_key };
    PGresult *res = tsr_db_query (call->db,
        "UPDATE suspensions SET resume_requester_person_id = $2, resume_requester_role = $3,"
        " resume_reason = $4, resume_note = $5, resumed_by_operator_id = $6,"
        " resumed_by_key = $7, resumed_at = date_trunc('second', now()),"
        " state = CASE WHEN EXISTS (SELECT 1 FROM suspension_serials"
        "   WHERE suspension_id = $1 AND open) THEN 1 ELSE 2 END"
        " WHERE suspension_id = $1 RETURNING state", 7, values);
    int state = res && PQntuples (res) == 1 ? (int) strtol (PQgetvalue (res, 0, 0), NULL, 10) : 0;
    PQclear (res);
    if (!state)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the resume");
    revocation_suspension_step_t step = {
        .action = "revocation.resumed", .event = "certificate.resumed",
        .suspension_id = self->suspension_id, .resume_id = self->head.id, .state = state,
        .holder_id = self->holder_id, .requester_id = request->requester_person_id,
        .requester_role = self->requester_role, .card_uuid = self->head.card_uuid,
        .card_state = self->card_previous_state, .serials = released, .count = self->head.count,
        .reason = (int) request->reason,
        .reason_name = revocation_resume_reason_name ((int) request->reason),
        .note = request->note, .operator_id = self->head.operator_id };
    return revocation_suspension_finish (call, &step, "resumed: the holds are released");
}

tsr_status_t
revocation_handle_resume (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ResumeCertificatesRequest *request =
        (Tessera__V1__ResumeCertificatesRequest *) tsr_call_unpack (
            call, &tessera__v1__resume_certificates_request__descriptor, &status);
    if (!request)
        return status;
    Tessera__V1__Card *card = NULL;
    revocation_suspension_input_t input = {
        .card_uuid = request->card_uuid, .serials = request->serials,
        .serial_count = request->n_serials, .requester_person_id = request->requester_person_id,
        .reason = (int) request->reason, .reason_max = 5, .note = request->note };
    s_resume_t *self = revocation_suspension_open (call, &input, "re", sizeof *self, &status);
    if (!self)
        goto done;
    bool by_card = *self->head.card_uuid != 0;
    if ((status = by_card ? s_by_card (call, self) : s_by_serials (call, self)) != S_OK
    ||  (status = revocation_suspension_requester (call, request->requester_person_id,
                                                   self->holder_id, &self->requester_role))
            != S_OK)
        goto done;
    if (by_card
    &&  (status = revocation_card_change (
            call, self->head.card_uuid, self->card_previous_state, "resume", self->head.id,
            revocation_resume_reason_name ((int) request->reason), request->note,
            self->head.operator_id, "resume", &card)) != S_OK)
        goto done;
    if ((status = s_release (call, self)) == S_OK)
        status = s_record (call, self, request);
done:
    if (card)
        tessera__v1__card__free_unpacked (card, NULL);
    free (self);
    tessera__v1__resume_certificates_request__free_unpacked (request, NULL);
    return status;
}
