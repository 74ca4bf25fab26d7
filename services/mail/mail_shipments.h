/*  mail_shipments: the shipments table seen as Shipment messages, shared
    by the shipment, PIN mailer and acceptance handlers.

    A PIN mailer is tied to its card by card_uuid: its card shipment is the
    card's live one (not returned), and its earliest release is that
    shipment's posted_at + 24 h, computed when read, so it is always the
    truth of the table.
*/
#ifndef MAIL_SHIPMENTS_H
#define MAIL_SHIPMENTS_H

#include <stdbool.h>
#include <stdint.h>
#include "mail_address.h"
#include "mail_input.h"
#include "tessera/bus.h"
#include "tessera/v1/mail.pb-c.h"

#define MAIL_KIND_CARD 1
#define MAIL_KIND_PIN_MAILER 2
#define MAIL_SHIPMENT_PREPARED 1
#define MAIL_SHIPMENT_PRINTED 2
#define MAIL_SHIPMENT_POSTED 3
#define MAIL_SHIPMENT_DELIVERED 4
#define MAIL_SHIPMENT_RETURNED 5
//  The PIN mailer leaves at least this long after the card.
#define MAIL_PIN_MAILER_DELAY_S 86400

//  The query mail_shipment_from_row reads ("s" is the shipment, "c" its
//  card's live shipment for a PIN mailer).
#define MAIL_SHIPMENT_SELECT \
    "SELECT s.shipment_id, s.kind, s.card_uuid, s.card_request_id, s.holder_person_id," \
    " s.recipient_person_id, s.recipient_name, array_to_string(s.address_lines, E'\\n')," \
    " s.postal_code, s.city, s.country_code, s.state, s.tracking_number," \
    " extract(epoch FROM s.prepared_at)::bigint, extract(epoch FROM s.posted_at)::bigint," \
    " extract(epoch FROM s.delivered_at)::bigint, extract(epoch FROM s.returned_at)::bigint," \
    " s.prepared_by_operator_id, s.posted_by_operator_id, coalesce(c.shipment_id, '')," \
    " extract(epoch FROM c.posted_at)::bigint + 86400, s.pdf_sha256," \
    " s.printed_by_operator_id, extract(epoch FROM s.printed_at)::bigint, s.note, s.seq," \
    " s.language, s.organisation_id, s.superseded, s.reissue, s.holder_name," \
    " coalesce(c.state, 0)" \
    " FROM shipments s LEFT JOIN LATERAL (SELECT c.shipment_id, c.posted_at, c.state" \
    "  FROM shipments c WHERE s.kind = 2 AND c.card_uuid = s.card_uuid AND c.kind = 1" \
    "  AND c.state <> 5 ORDER BY c.seq DESC LIMIT 1) c ON true"

//  One shipment (strings borrowed from the result).
typedef struct {
    Tessera__V1__Shipment message;
    Tessera__V1__PostalAddress address;
    char *lines [MAIL_ADDRESS_LINES_MAX];
    char lines_text [MAIL_POSTAL_LINES_SIZE];
    int64_t seq;
    const char *language;
    const char *organisation_id;
    const char *holder_name;
    bool superseded;
    bool reissue;
    int card_shipment_state;        //  PIN mailer: its card's live shipment (0: none)
} mail_shipment_t;

void mail_shipment_from_row (PGresult *res, int row, mail_shipment_t *shipment);

//  Loads the first shipment of MAIL_SHIPMENT_SELECT + where (one parameter
//  $1 = value), locking it when lock. 1 found, 0 none, -1 database error;
//  PQclear *res_p in every case.
int mail_shipment_load (tsr_db_t *db, const char *where, const char *value, bool lock,
                        mail_shipment_t *shipment, PGresult **res_p);

//  "pin_mailer.posted", "shipment.delivered", "shipment.returned". 0/-1.
int mail_shipment_emit (tsr_db_t *db, const char *type, const mail_shipment_t *shipment,
                        int state, int64_t at_unix, const char *trace_id);

//  Serialises the work on one card across transactions. 0, or -1.
int mail_lock_card (tsr_db_t *db, const char *card_uuid);

#endif
