/*  GetCard, ListCards, ListCardTransitions, ChangeCardState: the cards
    and the operator-made transitions of the one table
    (perso_card_states.h).
*/
#include "perso_caller.h"
#include "perso_cards.h"
#include "perso_handlers.h"
#include "perso_input.h"
#include "perso_page.h"
#include "perso_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/roles.h"

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION

//  A card UUID as stored (lower case).
static void
s_lower (const char *in, char out [37])
{
    size_t i = 0;
    for (; in [i] && i < 36; i++)
        out [i] = (char) (in [i] >= 'A' && in [i] <= 'F' ? in [i] + 32 : in [i]);
    out [i] = 0;
}

tsr_status_t
perso_handle_get_card (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__GetCardRequest *in = (Tessera__V1__GetCardRequest *) tsr_call_unpack (
        call, &tessera__v1__get_card_request__descriptor, &status);
    if (!in)
        return status;
    if (!perso_uuid_valid (in->card_uuid))
        status = tsr_call_fail (call, S_INVALID, "card_uuid must be a UUID (8-4-4-4-12 hex)");
    else {
        char uuid [37];
        s_lower (in->card_uuid, uuid);
        perso_card_view_t view;
        int found = perso_card_view_load (call->db, uuid, true, &view);
        status = found == 1 ? tsr_call_reply (call, &view.message.base, "found")
               : found == 0 ? tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                             "no card %s", uuid)
               : tsr_call_fail (call, S_UNAVAILABLE, "cannot read the card");
        perso_card_view_release (&view);
    }
    tessera__v1__get_card_request__free_unpacked (in, NULL);
    return status;
}

tsr_status_t
perso_handle_list_cards (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ListCardsRequest *in = (Tessera__V1__ListCardsRequest *) tsr_call_unpack (
        call, &tessera__v1__list_cards_request__descriptor, &status);
    if (!in)
        return status;
    perso_page_t page = { .limit = 0 };
    PGresult *res = NULL;
    perso_card_view_t *views = NULL;
    Tessera__V1__Card **list = NULL;
    size_t count = 0;
    if (!perso_optional_id_valid (in->person_id) || !perso_optional_id_valid (in->organisation_id))
        status = tsr_call_fail (call, S_INVALID,
                                "person_id and organisation_id must be empty or 1 to 64 of [A-Za-z0-9._:-]");
    else
    if (in->state != 0 && !perso_card_state_valid ((int) in->state))
        status = tsr_call_fail (call, S_INVALID, "state must be a CardState");
    else
    if (*in->serial_hex && !perso_serial_valid (in->serial_hex))
        status = tsr_call_fail (call, S_INVALID, "serial_hex must be 2 to 40 hex digits");
    else
    if ((status = perso_page_start (call, in->limit, in->page_token, &page)) == S_OK) {
        char state [16];
        snprintf (state, sizeof state, "%d", (int) in->state);
        const char *values [] = { in->person_id, in->organisation_id, state, in->serial_hex,
                                  page.after, page.limit_text };
        res = tsr_db_query (call->db,
            "SELECT card_uuid, seq FROM cards c WHERE ($1 = '' OR person_id = $1)"
            " AND ($2 = '' OR organisation_id = $2) AND ($3::smallint = 0 OR state = $3::smallint)"
            " AND ($4 = '' OR EXISTS (SELECT 1 FROM card_certificates x"
            "      WHERE x.card_uuid = c.card_uuid AND lower(x.serial_hex) = lower($4)))"
            " AND ($5::bigint = 0 OR seq < $5::bigint) ORDER BY seq DESC LIMIT $6::int + 1",
            6, values);
        status = res ? S_OK : tsr_call_fail (call, S_UNAVAILABLE, "cannot read the cards");
    }
    if (status != S_OK)
        goto done;
    count = perso_page_end (&page, res);
    views = calloc (count + 1, sizeof *views);
    list = calloc (count + 1, sizeof *list);
    if (!views || !list) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        if (perso_card_view_load (call->db, PQgetvalue (res, (int) i, 0), false, &views [i]) != 1) {
            status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the cards");
            goto done;
        }
        list [i] = &views [i].message;
    }
    Tessera__V1__ListCardsReply reply = TESSERA__V1__LIST_CARDS_REPLY__INIT;
    reply.n_cards = count;
    reply.cards = list;
    reply.next_page_token = page.next;
    status = tsr_call_reply (call, &reply.base, "cards");
done:
    for (size_t i = 0; views && i < count; i++)
        perso_card_view_release (&views [i]);
    free (views);
    free (list);
    PQclear (res);
    tessera__v1__list_cards_request__free_unpacked (in, NULL);
    return status;
}

tsr_status_t
perso_handle_list_transitions (tsr_call_t *call)
{
    size_t count = 0;
    const perso_transition_t *table = perso_card_transitions (&count);
    Tessera__V1__CardTransition *rows = calloc (count, sizeof *rows);
    Tessera__V1__CardTransition **list = calloc (count, sizeof *list);
    Tessera__V1__OperatorRole *roles = calloc (count * (TSR_ROLE_MAX_VALUE + 1), sizeof *roles);
    tsr_status_t status;
    if (!rows || !list || !roles)
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
    else {
        for (size_t i = 0; i < count; i++) {
            tessera__v1__card_transition__init (&rows [i]);
            rows [i].from_state = table [i].from;
            rows [i].to_state = table [i].to;
            rows [i].kind = (Tessera__V1__CardTransitionKind) table [i].kind;
            rows [i].only_to_previous_state = table [i].only_to_previous_state;
            Tessera__V1__OperatorRole *mine = roles + i * (TSR_ROLE_MAX_VALUE + 1);
            for (int role = 1; role <= TSR_ROLE_MAX_VALUE; role++)
                if (table [i].roles & TSR_ROLE_BIT (role))
                    mine [rows [i].n_roles++] = (Tessera__V1__OperatorRole) role;
            rows [i].roles = mine;
            list [i] = &rows [i];
        }
        Tessera__V1__ListCardTransitionsReply reply = TESSERA__V1__LIST_CARD_TRANSITIONS_REPLY__INIT;
        reply.n_transitions = count;
        reply.transitions = list;
        status = tsr_call_reply (call, &reply.base, "the card transition table");
    }
    free (rows);
    free (list);
    free (roles);
    return status;
}

//  Every bound of the request that needs no database.
tsr_status_t
perso_change_card_state_check (tsr_call_t *call, const Tessera__V1__ChangeCardStateRequest *in)
{
    if (!perso_uuid_valid (in->card_uuid))
        return tsr_call_fail (call, S_INVALID, "card_uuid must be a UUID (8-4-4-4-12 hex)");
    if (!perso_card_state_valid ((int) in->to_state))
        return tsr_call_fail (call, S_INVALID, "to_state must be a CardState");
    if (!perso_text_valid (in->reason, 1, PERSO_REASON_MAX))
        return tsr_call_fail (call, S_INVALID, "reason is required: 1 to 512 printable characters");
    if (*in->on_behalf_of_operator_id
    &&  (!(call->caller_roles & TSR_ROLE_SERVICE) || !perso_id_valid (in->on_behalf_of_operator_id)))
        return tsr_call_fail (call, S_INVALID, "on_behalf_of_operator_id: only a service names "
                              "the operator it acts for (an operator id)");
    return S_OK;
}

tsr_status_t
perso_handle_change_card_state (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ChangeCardStateRequest *in = (Tessera__V1__ChangeCardStateRequest *) tsr_call_unpack (
        call, &tessera__v1__change_card_state_request__descriptor, &status);
    if (!in)
        return status;
    status = S_OK;
    char uuid [37] = "", operator_id [PERSO_ID_MAX + 1];
    perso_card_row_t row;
    if ((status = perso_change_card_state_check (call, in)) != S_OK || (status = perso_caller_operator (call, operator_id)) != S_OK)
        goto done;
    if (*in->on_behalf_of_operator_id)     //  a service (revocation) acting for an operator
        snprintf (operator_id, sizeof operator_id, "%s", in->on_behalf_of_operator_id);
    s_lower (in->card_uuid, uuid);
    int found = perso_card_row_load (call->db, uuid, true, &row);
    if (found != 1) {
        status = found == 0 ? tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                             "no card %s", uuid)
                            : tsr_call_fail (call, S_UNAVAILABLE, "cannot read the card");
        goto done;
    }
    perso_card_change_t change = { call->caller_key, operator_id, in->reason,
                                   call->request->trace_id };
    int applied = perso_card_apply (call->db, &row, in->to_state, PERSO_BY_OPERATOR,
                                    call->caller_roles, &change);
    const char *from = perso_card_state_name (row.state), *to = perso_card_state_name (in->to_state);
    if (applied == PERSO_TRANSITION_ROLE) {
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "from", from);
        tsr_json_str (json, "to", to);
        tsr_json_str (json, "operator_id", operator_id);
        perso_refusal_record (call, "perso.card_transition_refused", uuid, &json);
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED,
                                "your roles may not move a card from %s to %s "
                                "(see ListCardTransitions)", from, to);
    }
    else
    if (applied == PERSO_TRANSITION_NOT_PREVIOUS)
        status = tsr_call_fail (call, S_PRECONDITION, "a suspended card returns only to the "
                                "state it came from (%s)", perso_card_state_name (row.suspended_from));
    else
    if (applied == PERSO_TRANSITION_NOT_LISTED)
        status = tsr_call_fail (call, S_PRECONDITION, "a card cannot go from %s to %s by an "
                                "operator (see ListCardTransitions)", from, to);
    else
    if (applied != PERSO_TRANSITION_OK)
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the transition");
    else {
        perso_card_view_t view;
        status = perso_card_view_load (call->db, uuid, true, &view) == 1
               ? tsr_call_reply (call, &view.message.base, "card state changed")
               : tsr_call_fail (call, S_UNAVAILABLE, "cannot read the card back");
        perso_card_view_release (&view);
    }
done:
    tessera__v1__change_card_state_request__free_unpacked (in, NULL);
    return status;
}
