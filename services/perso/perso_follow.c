/*  perso_follow: mail's events that move a card (card operations of the
    transition table): "card.shipped" (personalised or returned ->
    shipped) and "shipment.returned" for a card's registered mail
    (shipped -> returned). An event about a card perso does not know, or
    whose transition the table does not allow from the card's state now,
    is logged and skipped: replaying it later would change nothing.
*/
#include "perso_cards.h"
#include "perso_handlers.h"
#include "perso_input.h"
#include "perso_records.h"
#include "tessera/log.h"
#include "tessera/v1/mail.pb-c.h"

#include <string.h>

static int
s_move (tsr_db_t *db, const Tessera__V1__Event *event, const char *card_uuid,
        perso_card_state_t to, const char *reason)
{
    if (!perso_uuid_valid (card_uuid)) {
        tsr_log_warn (event->trace_id, "perso.mail_event_skipped", "type", event->type,
                      "reason", "no card UUID", NULL);
        return 0;
    }
    perso_card_row_t row;
    int found = perso_card_row_load (db, card_uuid, true, &row);
    if (found < 0)
        return -1;
    if (found == 0) {
        tsr_log_warn (event->trace_id, "perso.mail_event_skipped", "type", event->type,
                      "card_uuid", card_uuid, "reason", "unknown card", NULL);
        return 0;
    }
    perso_card_change_t change = { "mail", "", reason, event->trace_id };
    int applied = perso_card_apply (db, &row, to, PERSO_BY_CARD_OPERATION, 0, &change);
    if (applied < 0)
        return -1;
    if (applied != PERSO_TRANSITION_OK)
        tsr_log_warn (event->trace_id, "perso.mail_event_skipped", "type", event->type,
                      "card_uuid", card_uuid, "reason", "transition not allowed from the card's state",
                      "state", perso_card_state_name (row.state), NULL);
    return 0;
}

int
perso_follow_mail (void *state, tsr_db_t *db, const Tessera__V1__Event *event)
{
    (void) state;
    if (strcmp (event->type, "card.shipped") == 0) {
        Tessera__V1__CardShipped *shipped = tessera__v1__card_shipped__unpack (
            NULL, event->payload.len, event->payload.data);
        if (!shipped) {
            tsr_log_warn (event->trace_id, "perso.mail_event_skipped", "type", event->type,
                          "reason", "payload does not decode", NULL);
            return 0;
        }
        int rc = s_move (db, event, shipped->card_uuid, PERSO_CARD_SHIPPED,
                         "registered mail posted");
        tessera__v1__card_shipped__free_unpacked (shipped, NULL);
        return rc;
    }
    if (strcmp (event->type, "shipment.returned") == 0) {
        Tessera__V1__ShipmentChanged *changed = tessera__v1__shipment_changed__unpack (
            NULL, event->payload.len, event->payload.data);
        if (!changed)
            return 0;
        int rc = changed->kind == TESSERA__V1__SHIPMENT_KIND__SHIPMENT_KIND_CARD
               ? s_move (db, event, changed->card_uuid, PERSO_CARD_RETURNED,
                         "registered mail returned")
               : 0;
        tessera__v1__shipment_changed__free_unpacked (changed, NULL);
        return rc;
    }
    return 0;
}
