/*  What belongs to the logged-in holder: their cards, as perso lists them
    for the session's person. Every action on a card or a certificate looks
    it up here first, so a session can only ever name its own holder's
    cards; perso, revocation and mail check ownership again on their side.
*/
#include "portal_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define S_CARDS_MAX 100

tsr_status_t
portal_holder_cards (portal_request_t *r, Tessera__V1__ListCardsReply **cards, char *message,
                     size_t message_size)
{
    Tessera__V1__ListCardsRequest request = TESSERA__V1__LIST_CARDS_REQUEST__INIT;
    request.person_id = r->session.person_id;
    request.limit = S_CARDS_MAX;
    *cards = NULL;
    if (!*r->session.person_id) {
        snprintf (message, message_size, "no person for this session");
        return TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION;
    }
    return portal_bus_call (r->portal->bus, PORTAL_SERVICE_PERSO, "ListCards", &request.base,
                            &tessera__v1__list_cards_reply__descriptor,
                            (ProtobufCMessage **) cards, r->trace_id, message, message_size);
}

const Tessera__V1__Card *
portal_holder_card (portal_request_t *r, const Tessera__V1__ListCardsReply *cards,
                    const char *card_uuid)
{
    if (!cards || !card_uuid || !*card_uuid || !*r->session.person_id)
        return NULL;
    for (size_t i = 0; i < cards->n_cards; i++) {
        const Tessera__V1__Card *card = cards->cards [i];
        if (strcmp (card->person_id, r->session.person_id) == 0
        &&  strcasecmp (card->card_uuid, card_uuid) == 0)
            return card;
    }
    return NULL;
}

bool
portal_card_renewal_pending (const Tessera__V1__Card *card)
{
    return card->state == TESSERA__V1__CARD_STATE__CARD_STATE_ACTIVE
        && card->activation_code_issued_at_unix > card->activated_at_unix;
}

const Tessera__V1__Card *
portal_holder_card_of_serial (portal_request_t *r, const Tessera__V1__ListCardsReply *cards,
                              const char *serial_hex,
                              const Tessera__V1__CardCertificate **certificate)
{
    if (!cards || !serial_hex || !*serial_hex || !*r->session.person_id)
        return NULL;
    for (size_t i = 0; i < cards->n_cards; i++) {
        const Tessera__V1__Card *card = cards->cards [i];
        if (strcmp (card->person_id, r->session.person_id) != 0)
            continue;
        for (size_t j = 0; j < card->n_certificates; j++)
            if (strcasecmp (card->certificates [j]->serial_hex, serial_hex) == 0) {
                if (certificate)
                    *certificate = card->certificates [j];
                return card;
            }
    }
    return NULL;
}
