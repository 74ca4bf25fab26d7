/*  Shipments as messages, GetShipment and ListShipments (see
    mail_shipments.h).
*/
#include "mail_shipments.h"
#include "mail_handlers.h"
#include "mail_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

void
mail_shipment_from_row (PGresult *res, int row, mail_shipment_t *shipment)
{
    memset (shipment, 0, sizeof *shipment);
    Tessera__V1__Shipment *message = &shipment->message;
    tessera__v1__shipment__init (message);
    tessera__v1__postal_address__init (&shipment->address);
    message->shipment_id = PQgetvalue (res, row, 0);
    message->kind = (Tessera__V1__ShipmentKind) mail_row_int (res, row, 1);
    message->card_uuid = PQgetvalue (res, row, 2);
    message->card_request_id = PQgetvalue (res, row, 3);
    message->holder_person_id = PQgetvalue (res, row, 4);
    message->recipient_person_id = PQgetvalue (res, row, 5);
    message->recipient_name = PQgetvalue (res, row, 6);
    snprintf (shipment->lines_text, sizeof shipment->lines_text, "%s", PQgetvalue (res, row, 7));
    for (char *line = shipment->lines_text; *line
         && shipment->address.n_lines < MAIL_ADDRESS_LINES_MAX; ) {
        shipment->lines [shipment->address.n_lines++] = line;
        char *end = strchr (line, '\n');
        if (!end)
            break;
        *end = 0;
        line = end + 1;
    }
    shipment->address.lines = shipment->lines;
    shipment->address.postal_code = PQgetvalue (res, row, 8);
    shipment->address.city = PQgetvalue (res, row, 9);
    shipment->address.country_code = PQgetvalue (res, row, 10);
    message->recipient_address = &shipment->address;
    message->state = (Tessera__V1__ShipmentState) mail_row_int (res, row, 11);
    message->tracking_number = PQgetvalue (res, row, 12);
    message->prepared_at_unix = mail_row_int (res, row, 13);
    message->posted_at_unix = mail_row_int (res, row, 14);
    message->delivered_at_unix = mail_row_int (res, row, 15);
    message->returned_at_unix = mail_row_int (res, row, 16);
    message->prepared_by_operator_id = PQgetvalue (res, row, 17);
    message->posted_by_operator_id = PQgetvalue (res, row, 18);
    message->card_shipment_id = PQgetvalue (res, row, 19);
    message->releasable_at_unix = mail_row_int (res, row, 20);
    message->pdf_sha256 = PQgetvalue (res, row, 21);
    message->printed_by_operator_id = PQgetvalue (res, row, 22);
    message->printed_at_unix = mail_row_int (res, row, 23);
    message->note = PQgetvalue (res, row, 24);
    shipment->seq = mail_row_int (res, row, 25);
    shipment->language = PQgetvalue (res, row, 26);
    shipment->organisation_id = PQgetvalue (res, row, 27);
    shipment->superseded = mail_row_bool (res, row, 28);
    shipment->reissue = mail_row_bool (res, row, 29);
    shipment->holder_name = PQgetvalue (res, row, 30);
    shipment->card_shipment_state = (int) mail_row_int (res, row, 31);
    //  A card shipment that was never posted gives no release time.
    if (message->kind == MAIL_KIND_PIN_MAILER && PQgetisnull (res, row, 20))
        message->releasable_at_unix = 0;
}

int
mail_shipment_load (tsr_db_t *db, const char *where, const char *value, bool lock,
                    mail_shipment_t *shipment, PGresult **res_p)
{
    char sql [2048];
    snprintf (sql, sizeof sql, "%s %s%s", MAIL_SHIPMENT_SELECT, where,
              lock ? " FOR UPDATE OF s" : "");
    const char *values [] = { value };
    *res_p = tsr_db_query (db, sql, 1, values);
    if (!*res_p)
        return -1;
    if (PQntuples (*res_p) < 1)
        return 0;
    mail_shipment_from_row (*res_p, 0, shipment);
    return 1;
}

int
mail_shipment_emit (tsr_db_t *db, const char *type, const mail_shipment_t *shipment, int state,
                    int64_t at_unix, const char *trace_id)
{
    Tessera__V1__ShipmentChanged event = TESSERA__V1__SHIPMENT_CHANGED__INIT;
    event.shipment_id = shipment->message.shipment_id;
    event.kind = shipment->message.kind;
    event.card_uuid = shipment->message.card_uuid;
    event.holder_person_id = shipment->message.holder_person_id;
    event.state = (Tessera__V1__ShipmentState) state;
    event.at_unix = at_unix;
    return mail_emit (db, type, shipment->message.shipment_id, trace_id, &event.base);
}

int
mail_lock_card (tsr_db_t *db, const char *card_uuid)
{
    const char *values [] = { card_uuid };
    PGresult *res = tsr_db_query (db,
        "SELECT pg_advisory_xact_lock(hashtextextended('mail.card/' || lower($1), 0))",
        1, values);
    PQclear (res);
    return res ? 0 : -1;
}

tsr_status_t
mail_handle_get_shipment (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__GetShipmentRequest *request = (Tessera__V1__GetShipmentRequest *)
        tsr_call_unpack (call, &tessera__v1__get_shipment_request__descriptor, &status);
    if (!request)
        return status;
    PGresult *res = NULL;
    mail_shipment_t shipment;
    if (!mail_id_valid (request->shipment_id))
        status = tsr_call_fail (call, S_INVALID, "shipment_id must be 1 to 64 of [A-Za-z0-9._:-]");
    else {
        int found = mail_shipment_load (call->db, "WHERE s.shipment_id = $1", request->shipment_id,
                                        false, &shipment, &res);
        status = found < 0 ? tsr_call_fail (call, S_UNAVAILABLE, "cannot read the shipments")
               : found == 0 ? tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                             "no shipment %s", request->shipment_id)
               : tsr_call_reply (call, &shipment.message.base, "shipment");
    }
    PQclear (res);
    tessera__v1__get_shipment_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
mail_handle_list_shipments (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ListShipmentsRequest *request = (Tessera__V1__ListShipmentsRequest *)
        tsr_call_unpack (call, &tessera__v1__list_shipments_request__descriptor, &status);
    if (!request)
        return status;
    int64_t before = 0;
    PGresult *res = NULL;
    mail_shipment_t *shipments = NULL;
    Tessera__V1__Shipment **list = NULL;
    if ((int) request->kind < 0 || request->kind > 2 || (int) request->state < 0
    ||  request->state > 5) {
        status = tsr_call_fail (call, S_INVALID, "kind must be 0..2 and state 0..5");
        goto done;
    }
    if ((*request->card_uuid && !mail_card_uuid_valid (request->card_uuid))
    ||  !mail_optional_id_valid (request->holder_person_id)
    ||  !mail_page_token_parse (request->page_token, &before)) {
        status = tsr_call_fail (call, S_INVALID, "card_uuid is a UUID, holder_person_id 1 to 64 "
                                "of [A-Za-z0-9._:-], page_token from the previous reply");
        goto done;
    }
    uint32_t limit = mail_page_limit (request->limit);
    char kind [4], state [4], before_text [24], limit_text [8];
    snprintf (kind, sizeof kind, "%d", (int) request->kind);
    snprintf (state, sizeof state, "%d", (int) request->state);
    snprintf (before_text, sizeof before_text, "%lld", (long long) before);
    snprintf (limit_text, sizeof limit_text, "%u", limit + 1);
    const char *values [] = { kind, state, request->card_uuid, request->holder_person_id,
                              before_text, limit_text };
    res = tsr_db_query (call->db, MAIL_SHIPMENT_SELECT
        " WHERE ($1 = '0' OR s.kind = $1::smallint) AND ($2 = '0' OR s.state = $2::smallint)"
        " AND ($3 = '' OR lower(s.card_uuid) = lower($3)) AND ($4 = '' OR s.holder_person_id = $4)"
        " AND s.seq < $5::bigint ORDER BY s.seq DESC LIMIT $6::int", 6, values);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the shipments");
        goto done;
    }
    size_t rows = (size_t) PQntuples (res), count = rows > limit ? limit : rows;
    shipments = calloc (count + 1, sizeof *shipments);
    list = calloc (count + 1, sizeof *list);
    if (!shipments || !list) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        mail_shipment_from_row (res, (int) i, &shipments [i]);
        shipments [i].message.recipient_address = &shipments [i].address;
        shipments [i].address.lines = shipments [i].lines;
        list [i] = &shipments [i].message;
    }
    char next [24] = "";
    if (rows > limit)
        snprintf (next, sizeof next, "%lld", (long long) shipments [count - 1].seq);
    Tessera__V1__ListShipmentsReply reply = TESSERA__V1__LIST_SHIPMENTS_REPLY__INIT;
    reply.n_shipments = count;
    reply.shipments = list;
    reply.next_page_token = next;
    status = tsr_call_reply (call, &reply.base, "shipments");
done:
    free (list);
    free (shipments);
    PQclear (res);
    tessera__v1__list_shipments_request__free_unpacked (request, NULL);
    return status;
}
