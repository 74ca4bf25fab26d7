/*  The holder's actions on a card: activation with the code of the PIN
    mailer (perso ActivateCard releases the certificates' hold), and the
    explicit acceptance of the certificates (mail RecordAcceptance, channel
    portal, with time, client address and user agent, naming the card
    request the card answers now: after a same-card renewal, the renewal's,
    accepted once its code has activated the new certificates).

    Activation codes are guessable in a way passwords are not (short,
    typed from paper), so the portal limits them itself before perso does:
    attempts per client address and failures per account lock for
    TSR_PORTAL_LOCKOUT_S; perso locks the card for good after five wrong
    codes, and a code works once. A card that is not the holder's counts
    as a failure too, and perso is never asked about it.
*/
#include "portal_internal.h"
#include "tessera/v1/mail.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_UNIMPLEMENTED TESSERA__V1__STATUS__STATUS_UNIMPLEMENTED
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION

//  "a,b,c": the card's serials, for the audit line.
static void
s_serials (const Tessera__V1__Card *card, char *out, size_t size)
{
    size_t used = 0;
    out [0] = '\0';
    for (size_t i = 0; i < card->n_certificates && used < size; i++) {
        int written = snprintf (out + used, size - used, "%s%s", i ? "," : "",
                                card->certificates [i]->serial_hex);
        if (written < 0)
            break;
        used += (size_t) written;
    }
}

//  --- activation ------------------------------------------------------------

static void
s_activation_failed (portal_request_t *r, const char *card_uuid, const char *outcome,
                     const char *detail)
{
    bool locked = portal_limiter_fail (r->portal->activation_account, r->session.account_id,
                                       r->now_ms);
    locked = portal_limiter_fail (r->portal->activation_address, r->client_address, r->now_ms)
          || locked;
    portal_audit_entry_t entry = { .action = "activation", .outcome = locked ? "locked" : outcome,
                                   .card_uuid = card_uuid, .detail = detail };
    portal_audit_action (r, &entry);
}

static void
s_activate (portal_request_t *r, const char *card_uuid, const char *code)
{
    Tessera__V1__ListCardsReply *cards = NULL;
    char message [256];
    tsr_status_t status = portal_holder_cards (r, &cards, message, sizeof message);
    if (status != S_OK) {
        portal_bus_failure (r, status, message, "activation_refused");
        return;
    }
    const Tessera__V1__Card *card = portal_holder_card (r, cards, card_uuid);
    if (!card) {
        s_activation_failed (r, card_uuid, "refused", "not a card of this holder");
        portal_message (r, 404, "card_not_found", NULL, "/cards", "back_to_cards");
        goto done;
    }
    if (card->activation_locked) {
        portal_audit_entry_t entry = { .action = "activation", .outcome = "refused",
                                       .card_uuid = card_uuid, .detail = "activation locked" };
        portal_audit_action (r, &entry);
        portal_cards_with_notice (r, 423, "error", portal_words (r, "activation_locked"));
        goto done;
    }
    Tessera__V1__ActivateCardRequest request = TESSERA__V1__ACTIVATE_CARD_REQUEST__INIT;
    request.account_id = r->session.account_id;
    request.card_uuid = card->card_uuid;
    request.activation_code = (char *) code;
    request.client_address = r->client_address;
    request.user_agent = r->user_agent;
    Tessera__V1__ActivateCardReply *reply = NULL;
    status = portal_bus_call (r->portal->bus, PORTAL_SERVICE_PERSO, "ActivateCard", &request.base,
                              &tessera__v1__activate_card_reply__descriptor,
                              (ProtobufCMessage **) &reply, r->trace_id, message, sizeof message);
    if (status != S_OK) {
        portal_audit_entry_t entry = { .action = "activation", .outcome = "error",
                                       .card_uuid = card_uuid, .detail = message };
        portal_audit_action (r, &entry);
        if (status == S_PRECONDITION) {
            char text [512];
            snprintf (text, sizeof text, "%s %s", portal_words (r, "activation_refused"), message);
            portal_cards_with_notice (r, 409, "error", text);
        }
        else
            portal_bus_failure (r, status, message, "activation_refused");
        goto done;
    }
    if (reply->activated) {
        portal_limiter_reset (r->portal->activation_account, r->session.account_id);
        portal_limiter_reset (r->portal->activation_address, r->client_address);
        char serials [1024];
        s_serials (reply->card ? reply->card : card, serials, sizeof serials);
        portal_audit_entry_t entry = { .action = "activation", .outcome = "ok",
                                       .card_uuid = card_uuid, .serials = serials };
        portal_audit_action (r, &entry);
        portal_redirect (r, "/cards?notice=activated");
    }
    else {
        char detail [64];
        snprintf (detail, sizeof detail, "wrong code; perso: %u attempts left",
                  reply->attempts_left);
        s_activation_failed (r, card_uuid, "failed", detail);
        unsigned left = portal_limiter_failures_left (r->portal->activation_account,
                                                      r->session.account_id, r->now_ms);
        if (reply->attempts_left < left)
            left = reply->attempts_left;
        if ((reply->card && reply->card->activation_locked) || left == 0)
            portal_cards_with_notice (r, 423, "error", portal_words (r, "activation_locked"));
        else {
            char text [256];
            snprintf (text, sizeof text, "%s %s %u", portal_words (r, "activation_wrong"),
                      portal_words (r, "attempts_left"), left);
            portal_cards_with_notice (r, 200, "error", text);
        }
    }
    protobuf_c_message_free_unpacked (&reply->base, NULL);
done:
    protobuf_c_message_free_unpacked (cards ? &cards->base : NULL, NULL);
}

void
portal_page_activate (portal_request_t *r)
{
    if (!portal_require_holder (r, true) || !portal_require_csrf (r))
        return;
    const char *card_uuid = portal_form_get (&r->form, "card_uuid");
    const char *code = portal_form_get (&r->form, "activation_code");
    if (!portal_id_valid (card_uuid, PORTAL_BUS_ID_MAX)
    ||  !portal_text_valid (code, 1, PORTAL_CODE_MAX, PORTAL_CODE_MAX, false)) {
        portal_message (r, 400, "bad_request", NULL, "/cards", "back_to_cards");
        return;
    }
    int64_t wait_account = portal_limiter_attempt (r->portal->activation_account,
                                                   r->session.account_id, r->now_ms);
    int64_t wait_address = portal_limiter_attempt (r->portal->activation_address,
                                                   r->client_address, r->now_ms);
    if (wait_account || wait_address) {
        portal_audit_entry_t entry = { .action = "activation", .outcome = "rate_limited",
                                       .card_uuid = card_uuid,
                                       .detail = wait_account ? "account" : "client address" };
        portal_audit_action (r, &entry);
        portal_cards_with_notice (r, 429, "error", portal_words (r, "activation_paused"));
        return;
    }
    s_activate (r, card_uuid, code);
}

//  --- acceptance ------------------------------------------------------------

//  Mail keeps the acceptance (with its audit trail and the event that
//  closes the dossier). While mail does not serve RecordAcceptance yet,
//  the portal's journal keeps it; without a journal it is refused: an
//  acceptance nobody keeps is no acceptance.
static void
s_record_acceptance (portal_request_t *r, const Tessera__V1__Card *card)
{
    char serials [1024];
    s_serials (card, serials, sizeof serials);
    char **serial_list = calloc (card->n_certificates ? card->n_certificates : 1, sizeof (char *));
    if (!serial_list) {
        portal_message (r, 503, "accept_unavailable", NULL, "/cards", "back_to_cards");
        return;
    }
    for (size_t i = 0; i < card->n_certificates; i++)
        serial_list [i] = card->certificates [i]->serial_hex;
    Tessera__V1__RecordAcceptanceRequest request = TESSERA__V1__RECORD_ACCEPTANCE_REQUEST__INIT;
    request.channel = TESSERA__V1__ACCEPTANCE_CHANNEL__ACCEPTANCE_CHANNEL_PORTAL;
    request.card_uuid = card->card_uuid;
    request.card_request_id = card->card_request_id;
    request.n_serials = card->n_certificates;
    request.serials = serial_list;
    request.account_id = r->session.account_id;
    request.client_address = r->client_address;
    request.user_agent = r->user_agent;
    ProtobufCMessage *reply = NULL;
    char message [256];
    tsr_status_t status = portal_bus_call (r->portal->bus, PORTAL_SERVICE_MAIL, "RecordAcceptance",
                                           &request.base, &tessera__v1__acceptance__descriptor,
                                           &reply, r->trace_id, message, sizeof message);
    free (serial_list);
    protobuf_c_message_free_unpacked (reply, NULL);
    portal_audit_entry_t entry = { .action = "acceptance", .card_uuid = card->card_uuid,
                                   .serials = serials };
    if (status == S_OK) {
        entry.outcome = "ok";
        entry.detail = "recorded by mail";
        portal_audit_action (r, &entry);
        portal_redirect (r, "/cards?notice=accepted");
        return;
    }
    if (status == S_UNIMPLEMENTED && portal_audit_has_journal (r->portal->audit)) {
        entry.outcome = "ok";
        entry.detail = "recorded in the portal journal (mail does not serve RecordAcceptance)";
        if (portal_audit_action (r, &entry) == 0) {
            portal_audit_note_acceptance (r->portal->audit, card->card_uuid, r->now_ms / 1000);
            portal_redirect (r, "/cards?notice=accepted");
            return;
        }
    }
    entry.outcome = "error";
    entry.detail = message;
    portal_audit_action (r, &entry);
    if (status == S_PRECONDITION || status == TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
    ||  status == TESSERA__V1__STATUS__STATUS_ALREADY_EXISTS)
        portal_cards_with_notice (r, 409, "error", message);
    else {
        portal_bus_log (r, status, message);
        portal_cards_with_notice (r, 503, "error", portal_words (r, "accept_unavailable"));
    }
}

void
portal_page_accept (portal_request_t *r)
{
    if (!portal_require_holder (r, true) || !portal_require_csrf (r))
        return;
    const char *card_uuid = portal_form_get (&r->form, "card_uuid");
    const char *accept = portal_form_get (&r->form, "accept");
    if (!portal_id_valid (card_uuid, PORTAL_BUS_ID_MAX)) {
        portal_message (r, 400, "bad_request", NULL, "/cards", "back_to_cards");
        return;
    }
    if (!accept || strcmp (accept, "yes") != 0) {
        portal_cards_with_notice (r, 400, "error", portal_words (r, "accept_required"));
        return;
    }
    Tessera__V1__ListCardsReply *cards = NULL;
    char message [256];
    tsr_status_t status = portal_holder_cards (r, &cards, message, sizeof message);
    if (status != S_OK) {
        portal_bus_failure (r, status, message, "accept_unavailable");
        return;
    }
    const Tessera__V1__Card *card = portal_holder_card (r, cards, card_uuid);
    if (!card) {
        portal_audit_entry_t entry = { .action = "acceptance", .outcome = "refused",
                                       .card_uuid = card_uuid, .detail = "not a card of this holder" };
        portal_audit_action (r, &entry);
        portal_message (r, 404, "card_not_found", NULL, "/cards", "back_to_cards");
    }
    else
    if (card->state != TESSERA__V1__CARD_STATE__CARD_STATE_ACTIVE
    ||  portal_card_renewal_pending (card))
        portal_cards_with_notice (r, 409, "error", portal_words (r, "accept_not_active"));
    else
        s_record_acceptance (r, card);
    protobuf_c_message_free_unpacked (&cards->base, NULL);
}
