/*  SetShipmentState: a shipment moves on. The legal moves, one table:

        card        prepared -> posted (tracking number required)
                    posted -> delivered (acknowledgement of receipt) | returned
        PIN mailer  printed -> posted (simple mail: no tracking number)
                    posted -> returned

    Posting a card emits "card.shipped" (the PIN mailer's earliest release
    is its time + 24 h) and e-mails the recipient; posting a PIN mailer
    emits "pin_mailer.posted" and e-mails the holder. Times are the
    service's clock; a delivery or a return may carry the post's own time,
    never in the future nor before the posting.
*/
#include "mail_handlers.h"
#include "mail_notices.h"
#include "mail_records.h"
#include "mail_shipments.h"
#include "mail_state.h"
#include "tessera/log.h"

#include <stdio.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

typedef struct {
    int kind;
    int from;
    int to;
    const char *action;         //  audit action; the event type follows
    const char *event;
} s_move_t;

static const s_move_t s_moves [] = {
    { MAIL_KIND_CARD, MAIL_SHIPMENT_PREPARED, MAIL_SHIPMENT_POSTED, "mail.shipment_posted",
      "card.shipped" },
    { MAIL_KIND_CARD, MAIL_SHIPMENT_POSTED, MAIL_SHIPMENT_DELIVERED, "mail.shipment_delivered",
      "shipment.delivered" },
    { MAIL_KIND_CARD, MAIL_SHIPMENT_POSTED, MAIL_SHIPMENT_RETURNED, "mail.shipment_returned",
      "shipment.returned" },
    { MAIL_KIND_PIN_MAILER, MAIL_SHIPMENT_PRINTED, MAIL_SHIPMENT_POSTED, "mail.shipment_posted",
      "pin_mailer.posted" },
    { MAIL_KIND_PIN_MAILER, MAIL_SHIPMENT_POSTED, MAIL_SHIPMENT_RETURNED,
      "mail.shipment_returned", "shipment.returned" },
};

static const char *
s_state_name (int state)
{
    static const char *names [] = { "unknown", "prepared", "printed", "posted", "delivered",
                                    "returned" };
    return state >= 1 && state <= 5 ? names [state] : names [0];
}

//  The e-mail a posting calls for.
static int
s_notice (tsr_call_t *call, const mail_shipment_t *shipment, int64_t at)
{
    mail_state_t *state = call->state;
    char posted [32], dedup [80];
    mail_time_format (at, posted);
    snprintf (dedup, sizeof dedup, "shipment:%s:posted", shipment->message.shipment_id);
    bool card = shipment->message.kind == MAIL_KIND_CARD;
    mail_param_t params [] = {
        { "card_uuid", shipment->message.card_uuid }, { "posted_at", posted },
        { "tracking_number", shipment->message.tracking_number },
        { "holder_name", shipment->holder_name },
    };
    mail_notice_t notice = {
        .template_id = card ? TESSERA__V1__EMAIL_TEMPLATE__EMAIL_TEMPLATE_CARD_SHIPPED
                            : TESSERA__V1__EMAIL_TEMPLATE__EMAIL_TEMPLATE_PIN_MAILER_SENT,
        .params = params, .param_count = card ? 4 : 2, .dedup_key = dedup,
        .actor = call->caller_key, .trace_id = call->request->trace_id, .source_service = "",
    };
    return mail_notice_person_id (call->db, state, shipment->message.recipient_person_id, &notice);
}

//  "card.shipped": CardShipped.
static int
s_card_shipped (tsr_call_t *call, const mail_shipment_t *shipment, int64_t at)
{
    Tessera__V1__CardShipped event = TESSERA__V1__CARD_SHIPPED__INIT;
    event.shipment_id = shipment->message.shipment_id;
    event.card_uuid = shipment->message.card_uuid;
    event.card_request_id = shipment->message.card_request_id;
    event.holder_person_id = shipment->message.holder_person_id;
    event.recipient_person_id = shipment->message.recipient_person_id;
    event.tracking_number = shipment->message.tracking_number;
    event.posted_at_unix = at;
    event.pin_mailer_releasable_unix = at + MAIL_PIN_MAILER_DELAY_S;
    return mail_emit (call->db, "card.shipped", shipment->message.card_uuid,
                      call->request->trace_id, &event.base);
}

//  Every bound of the request that needs no database.
tsr_status_t
mail_shipment_state_check (tsr_call_t *call, const Tessera__V1__SetShipmentStateRequest *request)
{
    if (!mail_id_valid (request->shipment_id))
        return tsr_call_fail (call, S_INVALID, "shipment_id must be 1 to 64 of [A-Za-z0-9._:-]");
    if (request->state != MAIL_SHIPMENT_POSTED && request->state != MAIL_SHIPMENT_DELIVERED
    &&  request->state != MAIL_SHIPMENT_RETURNED)
        return tsr_call_fail (call, S_INVALID, "state must be POSTED, DELIVERED or RETURNED");
    if (*request->tracking_number && !mail_tracking_valid (request->tracking_number))
        return tsr_call_fail (call, S_INVALID, "tracking_number must be 1 to %d capital letters "
                              "and digits, as the post prints it", MAIL_TRACKING_MAX);
    if (!mail_text_valid (request->note, 0, MAIL_NOTE_MAX))
        return tsr_call_fail (call, S_INVALID, "note must be at most %d printable characters "
                              "(no line breaks)", MAIL_NOTE_MAX);
    if (request->occurred_at_unix < 0
    ||  (request->occurred_at_unix && request->state == MAIL_SHIPMENT_POSTED))
        return tsr_call_fail (call, S_INVALID, "occurred_at_unix is for DELIVERED and RETURNED "
                              "only, and not negative");
    return S_OK;
}

tsr_status_t
mail_handle_set_shipment_state (tsr_call_t *call)
{
    mail_state_t *state = call->state;
    tsr_status_t status;
    Tessera__V1__SetShipmentStateRequest *request = (Tessera__V1__SetShipmentStateRequest *)
        tsr_call_unpack (call, &tessera__v1__set_shipment_state_request__descriptor, &status);
    if (!request)
        return status;
    PGresult *res = NULL, *reread = NULL;
    char operator_id [MAIL_ID_MAX + 1] = "";
    mail_shipment_t shipment;
    if ((status = mail_shipment_state_check (call, request)) != S_OK
    ||  (status = mail_caller_operator (call, operator_id)) != S_OK)
        goto done;
    int found = mail_shipment_load (call->db, "WHERE s.shipment_id = $1", request->shipment_id,
                                    true, &shipment, &res);
    if (found <= 0) {
        status = found < 0 ? tsr_call_fail (call, S_UNAVAILABLE, "cannot read the shipments")
               : tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND, "no shipment %s",
                                request->shipment_id);
        goto done;
    }
    int kind = shipment.message.kind, from = shipment.message.state, to = request->state;
    const s_move_t *move = NULL;
    for (size_t i = 0; i < sizeof s_moves / sizeof s_moves [0]; i++)
        if (s_moves [i].kind == kind && s_moves [i].from == from && s_moves [i].to == to)
            move = &s_moves [i];
    if (!move) {
        status = tsr_call_fail (call, S_PRECONDITION, "a %s that is %s cannot become %s%s",
                                kind == MAIL_KIND_CARD ? "card shipment" : "PIN mailer",
                                s_state_name (from), s_state_name (to),
                                kind == MAIL_KIND_PIN_MAILER && to == MAIL_SHIPMENT_DELIVERED
                                ? " (simple mail has no acknowledgement of receipt)" : "");
        goto done;
    }
    if (kind == MAIL_KIND_CARD && to == MAIL_SHIPMENT_POSTED && !*request->tracking_number) {
        status = tsr_call_fail (call, S_INVALID, "tracking_number is required to post a card "
                                "(registered mail)");
        goto done;
    }
    int64_t now = mail_now (state);
    int64_t at = request->occurred_at_unix ? request->occurred_at_unix : now;
    if (to != MAIL_SHIPMENT_POSTED && (at > now || at < shipment.message.posted_at_unix)) {
        status = tsr_call_fail (call, S_INVALID, "occurred_at_unix must lie between the posting "
                                "and now");
        goto done;
    }
    char state_text [4], at_text [24];
    snprintf (state_text, sizeof state_text, "%d", to);
    snprintf (at_text, sizeof at_text, "%lld", (long long) at);
    const char *values [] = { request->shipment_id, state_text, at_text,
                              request->tracking_number, operator_id, request->note };
    PGresult *updated = tsr_db_query (call->db,
        "UPDATE shipments SET state = $2::smallint,"
        " posted_at = CASE WHEN $2 = '3' THEN to_timestamp($3::bigint) ELSE posted_at END,"
        " delivered_at = CASE WHEN $2 = '4' THEN to_timestamp($3::bigint) ELSE delivered_at END,"
        " returned_at = CASE WHEN $2 = '5' THEN to_timestamp($3::bigint) ELSE returned_at END,"
        " tracking_number = CASE WHEN $4 = '' THEN tracking_number ELSE $4 END,"
        " posted_by_operator_id = CASE WHEN $2 = '3' THEN $5 ELSE posted_by_operator_id END,"
        " note = CASE WHEN $6 = '' THEN note ELSE $6 END WHERE shipment_id = $1", 6, values);
    PQclear (updated);
    found = updated ? mail_shipment_load (call->db, "WHERE s.shipment_id = $1",
                                          request->shipment_id, false, &shipment, &reread) : -1;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "from", s_state_name (from));
    tsr_json_str (json, "to", s_state_name (to));
    tsr_json_int (json, "at_unix", at);
    tsr_json_str (json, "tracking_number", request->tracking_number);
    tsr_json_str (json, "operator_id", operator_id);
    int rc = found == 1 ? mail_audit (call->db, call->caller_key, move->action,
                                      request->shipment_id, call->request->trace_id, &json) : -1;
    tsr_json_destroy (&json);
    if (rc == 0 && to == MAIL_SHIPMENT_POSTED)
        rc = s_notice (call, &shipment, at);
    if (rc == 0)
        rc = kind == MAIL_KIND_CARD && to == MAIL_SHIPMENT_POSTED
           ? s_card_shipped (call, &shipment, at)
           : mail_shipment_emit (call->db, move->event, &shipment, to, at,
                                 call->request->trace_id);
    if (rc) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the shipment's move; retry");
        goto done;
    }
    tsr_log_info (call->request->trace_id, move->action, "shipment_id", request->shipment_id,
                  NULL);
    status = tsr_call_reply (call, &shipment.message.base, s_state_name (to));
done:
    PQclear (res);
    PQclear (reread);
    tessera__v1__set_shipment_state_request__free_unpacked (request, NULL);
    return status;
}
