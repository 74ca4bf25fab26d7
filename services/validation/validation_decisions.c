/*  GetDecision, ListDecisions and ListPendingRequests: what was decided
    (this service's table) and what awaits a decision (enrollment's
    submitted requests, with their holder, organisation and dossier check,
    less those decided here that enrollment has not caught up with yet).
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
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_LIST_MAX 100

tsr_status_t
validation_handle_get_decision (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__GetDecisionRequest *request = (Tessera__V1__GetDecisionRequest *) tsr_call_unpack (
        call, &tessera__v1__get_decision_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status;
    validation_decision_t decision;
    memset (&decision, 0, sizeof decision);
    if (!validation_id_valid (request->card_request_id))
        status = tsr_call_fail (call, S_INVALID,
                                "card_request_id must be 1 to 64 of [A-Za-z0-9._:-]");
    else {
        int found = validation_decision_load (call->db, request->card_request_id, &decision);
        status = found < 0 ? tsr_call_fail (call, S_UNAVAILABLE, "cannot read the decisions")
               : found == 0 ? tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                             "card request %s has not been decided",
                                             request->card_request_id)
               : tsr_call_reply (call, &decision.message.base, "decision");
    }
    validation_decision_release (&decision);
    tessera__v1__get_decision_request__free_unpacked (request, NULL);
    return status;
}

//  Page tokens of ListDecisions: the seq of the last decision given.
static bool
s_seq_token (const char *token, char out [24])
{
    size_t len = strlen (token);
    if (len == 0) {
        snprintf (out, 24, "0");
        return true;
    }
    if (len > 18)
        return false;
    for (size_t i = 0; i < len; i++)
        if (token [i] < '0' || token [i] > '9')
            return false;
    snprintf (out, 24, "%s", token);
    return true;
}

tsr_status_t
validation_handle_list_decisions (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__ListDecisionsRequest *request = (Tessera__V1__ListDecisionsRequest *) tsr_call_unpack (
        call, &tessera__v1__list_decisions_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status;
    PGresult *res = NULL;
    Tessera__V1__Decision *decisions = NULL, **list = NULL;
    char after [24], outcome [8], from [24], to [24], limit [16];
    if (request->outcome < 0 || request->outcome > 2) {
        status = tsr_call_fail (call, S_INVALID, "outcome must be VALIDATED, REJECTED or unset");
        goto done;
    }
    if (!validation_optional_id_valid (request->batch_id)
    ||  (*request->decided_by_operator_id
         && !tsr_id_valid (request->decided_by_operator_id, VALIDATION_OPERATOR_ID_MAX))) {
        status = tsr_call_fail (call, S_INVALID,
                                "batch_id and decided_by_operator_id are empty or ids of "
                                "[A-Za-z0-9._:-]");
        goto done;
    }
    if (request->decided_from_unix < 0 || request->decided_to_unix < 0
    ||  !s_seq_token (request->page_token, after)) {
        status = tsr_call_fail (call, S_INVALID,
                                "times are seconds since 1970 and page_token comes from the "
                                "previous reply");
        goto done;
    }
    uint32_t page = request->limit == 0 || request->limit > S_LIST_MAX ? S_LIST_MAX
                                                                       : request->limit;
    snprintf (outcome, sizeof outcome, "%d", (int) request->outcome);
    snprintf (from, sizeof from, "%lld", (long long) request->decided_from_unix);
    snprintf (to, sizeof to, "%lld", (long long) request->decided_to_unix);
    snprintf (limit, sizeof limit, "%u", page + 1);
    const char *values [] = { outcome, request->batch_id, request->decided_by_operator_id,
                              from, to, after, limit };
    res = tsr_db_query (call->db,
        VALIDATION_DECISION_SELECT
        " WHERE ($1::smallint = 0 OR outcome = $1::smallint)"
        " AND ($2 = '' OR batch_id = $2)"
        " AND ($3 = '' OR decided_by_operator_id = $3)"
        " AND ($4::bigint = 0 OR decided_at >= to_timestamp($4::bigint))"
        " AND ($5::bigint = 0 OR decided_at < to_timestamp($5::bigint))"
        " AND ($6::bigint = 0 OR seq < $6::bigint)"
        " ORDER BY seq DESC LIMIT $7::int", 7, values);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the decisions");
        goto done;
    }
    size_t rows = (size_t) PQntuples (res);
    size_t shown = rows > page ? page : rows;
    decisions = calloc (shown + 1, sizeof *decisions);
    list = calloc (shown + 1, sizeof *list);
    if (!decisions || !list) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < shown; i++) {
        validation_decision_from_row (res, (int) i, &decisions [i]);
        list [i] = &decisions [i];
    }
    Tessera__V1__ListDecisionsReply reply = TESSERA__V1__LIST_DECISIONS_REPLY__INIT;
    reply.n_decisions = shown;
    reply.decisions = list;
    //  The seq column (12) of the last row shown, when there is more.
    reply.next_page_token = rows > page ? PQgetvalue (res, (int) shown - 1, 12) : "";
    status = tsr_call_reply (call, &reply.base, "decisions");
done:
    free (decisions);
    free (list);
    PQclear (res);
    tessera__v1__list_decisions_request__free_unpacked (request, NULL);
    return status;
}

//  What ListPendingRequests holds while it builds its reply.
typedef struct {
    Tessera__V1__ListCardRequestsReply *listed;
    Tessera__V1__PendingRequest *pending;
    Tessera__V1__PendingRequest **list;
    size_t count;
    Tessera__V1__Person **persons;
    Tessera__V1__Organisation **organisations;
    Tessera__V1__DossierCheck **checks;
} s_pending_t;

static void
s_pending_release (s_pending_t *self)
{
    size_t listed = self->listed ? self->listed->n_card_requests : 0;
    for (size_t i = 0; i < listed; i++) {
        if (self->persons && self->persons [i])
            tessera__v1__person__free_unpacked (self->persons [i], NULL);
        if (self->organisations && self->organisations [i])
            tessera__v1__organisation__free_unpacked (self->organisations [i], NULL);
        if (self->checks && self->checks [i])
            tessera__v1__dossier_check__free_unpacked (self->checks [i], NULL);
    }
    free (self->persons);
    free (self->organisations);
    free (self->checks);
    free (self->pending);
    free (self->list);
    if (self->listed)
        tessera__v1__list_card_requests_reply__free_unpacked (self->listed, NULL);
    memset (self, 0, sizeof *self);
}

//  Fills pending entry i from enrollment: holder, organisation, dossier
//  check. NOT_FOUND leaves a part absent; other failures fail the call.
static tsr_status_t
s_pending_context (tsr_call_t *call, s_pending_t *self, size_t i)
{
    validation_state_t *state = call->state;
    const char *trace_id = call->request->trace_id;
    Tessera__V1__CardRequest *request = self->listed->card_requests [i];
    char message [160] = "";
    tsr_status_t status = validation_enrollment_person (state->enrollment, trace_id,
                                                        request->person_id, &self->persons [i],
                                                        message, sizeof message);
    if (status == S_OK || status == TESSERA__V1__STATUS__STATUS_NOT_FOUND)
        status = validation_enrollment_organisation (state->enrollment, trace_id,
                                                     request->organisation_id,
                                                     &self->organisations [i],
                                                     message, sizeof message);
    if (status == S_OK || status == TESSERA__V1__STATUS__STATUS_NOT_FOUND)
        status = validation_enrollment_check_dossier (state->enrollment, trace_id,
                                                      request->dossier_id, request->level,
                                                      &self->checks [i], message,
                                                      sizeof message);
    if (status != S_OK && status != TESSERA__V1__STATUS__STATUS_NOT_FOUND)
        return tsr_call_fail (call, S_UNAVAILABLE,
                              "cannot read request %s's context at enrollment (%.120s); retry",
                              request->card_request_id, message);
    return S_OK;
}

tsr_status_t
validation_handle_list_pending (tsr_call_t *call)
{
    validation_state_t *state = call->state;
    tsr_status_t unpack_status;
    Tessera__V1__ListPendingRequestsRequest *request = (Tessera__V1__ListPendingRequestsRequest *) tsr_call_unpack (
        call, &tessera__v1__list_pending_requests_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    s_pending_t self;
    memset (&self, 0, sizeof self);
    char operator_id [VALIDATION_OPERATOR_ID_MAX + 1] = "";
    char message [160] = "";
    tsr_status_t status;
    if (!validation_optional_id_valid (request->batch_id)
    ||  !validation_optional_id_valid (request->organisation_id)
    ||  !validation_page_token_valid (request->page_token)) {
        status = tsr_call_fail (call, S_INVALID,
                                "batch_id and organisation_id are empty or 1 to 64 of "
                                "[A-Za-z0-9._:-]; page_token comes from the previous reply");
        goto done;
    }
    status = validation_caller_operator (call, operator_id);
    if (status != S_OK)
        goto done;
    uint32_t limit = request->limit == 0 || request->limit > S_LIST_MAX ? S_LIST_MAX
                                                                        : request->limit;
    status = validation_enrollment_submitted (state->enrollment, call->request->trace_id,
                                              request->batch_id, request->organisation_id, limit,
                                              request->page_token, &self.listed, message,
                                              sizeof message);
    if (status != S_OK) {
        status = tsr_call_fail (call, status == S_INVALID ? S_INVALID : S_UNAVAILABLE,
                                "cannot list the submitted requests at enrollment (%.120s)",
                                message);
        goto done;
    }
    size_t listed = self.listed->n_card_requests;
    self.pending = calloc (listed + 1, sizeof *self.pending);
    self.list = calloc (listed + 1, sizeof *self.list);
    self.persons = calloc (listed + 1, sizeof *self.persons);
    self.organisations = calloc (listed + 1, sizeof *self.organisations);
    self.checks = calloc (listed + 1, sizeof *self.checks);
    if (!self.pending || !self.list || !self.persons || !self.organisations || !self.checks) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < listed; i++) {
        Tessera__V1__CardRequest *card_request = self.listed->card_requests [i];
        validation_decision_t decision;
        int decided = validation_decision_load (call->db, card_request->card_request_id,
                                                &decision);
        validation_decision_release (&decision);
        if (decided < 0) {
            status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the decisions");
            goto done;
        }
        if (decided)
            continue;
        status = s_pending_context (call, &self, i);
        if (status != S_OK)
            goto done;
        Tessera__V1__PendingRequest *pending = &self.pending [self.count];
        tessera__v1__pending_request__init (pending);
        pending->card_request = card_request;
        pending->holder = self.persons [i];
        pending->organisation = self.organisations [i];
        pending->dossier_check = self.checks [i];
        pending->entered_by_caller = validation_entered_by_caller (
            card_request->entered_by_operator_id, operator_id, call->caller_key);
        self.list [self.count++] = pending;
    }
    Tessera__V1__ListPendingRequestsReply reply = TESSERA__V1__LIST_PENDING_REQUESTS_REPLY__INIT;
    reply.n_requests = self.count;
    reply.requests = self.list;
    reply.next_page_token = self.listed->next_page_token;
    status = tsr_call_reply (call, &reply.base, "pending requests");
done:
    s_pending_release (&self);
    tessera__v1__list_pending_requests_request__free_unpacked (request, NULL);
    return status;
}
