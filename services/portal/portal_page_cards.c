/*  My cards and certificates: the holder's cards from perso, each
    certificate's status and validity from ca (GetCertificate), whether the
    holder accepted them (mail's ListAcceptances), and the actions each card
    allows now: activate (shipped), accept (active), revoke (any
    certificate still good or on hold). A card is activated after the post
    (shipped) or when handed over at the desk (personalised), as perso's
    transition table allows. A card renewed on itself stays active with a
    new activation code (issued after its activation): it is activated
    again with that code, then its new certificates, which answer the
    renewal request, are accepted again.
*/
#include "portal_internal.h"
#include "tessera/v1/ca.pb-c.h"
#include "tessera/v1/mail.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK

static const char *
s_card_state_key (Tessera__V1__CardState state)
{
    switch (state) {
        case TESSERA__V1__CARD_STATE__CARD_STATE_FORMATTED: return "state_formatted";
        case TESSERA__V1__CARD_STATE__CARD_STATE_PERSONALISED: return "state_personalised";
        case TESSERA__V1__CARD_STATE__CARD_STATE_SHIPPED: return "state_shipped";
        case TESSERA__V1__CARD_STATE__CARD_STATE_ACTIVE: return "state_active";
        case TESSERA__V1__CARD_STATE__CARD_STATE_SUSPENDED: return "state_suspended";
        case TESSERA__V1__CARD_STATE__CARD_STATE_LOST: return "state_lost";
        case TESSERA__V1__CARD_STATE__CARD_STATE_DAMAGED: return "state_damaged";
        case TESSERA__V1__CARD_STATE__CARD_STATE_RETURNED: return "state_returned";
        case TESSERA__V1__CARD_STATE__CARD_STATE_DESTROYED: return "state_destroyed";
        default: return "state_unspecified";
    }
}

static const char *
s_use_key (Tessera__V1__CertificateUse use)
{
    switch (use) {
        case TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_AUTHENTICATION: return "use_authentication";
        case TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_SIGNATURE: return "use_signature";
        default: return "use_other";
    }
}

//  The certificate as ca knows it (NULL when ca does not answer).
static Tessera__V1__CertificateRecord *
s_certificate (portal_request_t *r, const char *serial_hex)
{
    Tessera__V1__GetCertificateRequest request = TESSERA__V1__GET_CERTIFICATE_REQUEST__INIT;
    request.serial_hex = (char *) serial_hex;
    ProtobufCMessage *reply = NULL;
    char message [256];
    if (portal_bus_call_if_up (r->portal->bus, PORTAL_SERVICE_CA, "GetCertificate", &request.base,
                         &tessera__v1__certificate_record__descriptor, &reply, r->trace_id,
                         message, sizeof message) != S_OK)
        return NULL;
    return (Tessera__V1__CertificateRecord *) reply;
}

//  A revoke link for a card (serial NULL) or one certificate.
static char *
s_revoke_link (portal_request_t *r, const char *card_uuid, const char *serial)
{
    char query [160], id [96];
    snprintf (query, sizeof query, serial ? "serial=%s" : "card=%s", serial ? serial : card_uuid);
    snprintf (id, sizeof id, "%s", serial ? serial : card_uuid);
    const portal_var_t vars [] = {
        { "query", query, false }, { "id", id, false },
        { "label", portal_words (r, serial ? "revoke_link" : "revoke_card_link"), false } };
    return portal_fragment (r, "revoke_link.html", vars, 3);
}

//  The certificates table of one card; *revocable tells whether any is
//  still good or on hold.
static char *
s_certificates (portal_request_t *r, const Tessera__V1__Card *card, bool *revocable)
{
    *revocable = false;
    if (card->n_certificates == 0)
        return strdup ("");
    portal_buf_t rows;
    portal_buf_init (&rows);
    for (size_t i = 0; i < card->n_certificates; i++) {
        const Tessera__V1__CardCertificate *certificate = card->certificates [i];
        Tessera__V1__CertificateRecord *record = s_certificate (r, certificate->serial_hex);
        Tessera__V1__CertificateState state = record && record->status
            ? record->status->state : TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_UNSPECIFIED;
        const char *status_key = "cert_status_unavailable", *status_class = "unknown";
        switch (state) {
            case TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_GOOD:
                status_key = "cert_good"; status_class = "good"; break;
            case TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_REVOKED:
                status_key = "cert_revoked"; status_class = "revoked"; break;
            case TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_ON_HOLD:
                status_key = "cert_on_hold"; status_class = "on_hold"; break;
            case TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_UNKNOWN:
                status_key = "cert_unknown"; break;
            default: break;
        }
        bool live = state == TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_GOOD
                 || state == TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_ON_HOLD;
        *revocable = *revocable || live;
        char not_before [64], not_after [64];
        portal_format_time (r->lang, record ? record->not_before_unix : 0, not_before,
                            sizeof not_before);
        portal_format_time (r->lang, record ? record->not_after_unix : certificate->not_after_unix,
                            not_after, sizeof not_after);
        char *revoke = live ? s_revoke_link (r, card->card_uuid, certificate->serial_hex)
                            : strdup ("");
        protobuf_c_message_free_unpacked (record ? &record->base : NULL, NULL);
        if (!revoke) {
            portal_buf_free (&rows);
            return NULL;
        }
        const portal_var_t vars [] = {
            { "use", portal_words (r, s_use_key (certificate->use)), false },
            { "slot", certificate->slot, false },
            { "serial", certificate->serial_hex, false },
            { "status", portal_words (r, status_key), false },
            { "status_class", status_class, false },
            { "not_before", not_before, false },
            { "not_after", not_after, false },
            { "revoke", revoke, true },
        };
        char *row = portal_fragment (r, "certificate_row.html", vars, sizeof vars / sizeof vars [0]);
        free (revoke);
        if (!row) {
            portal_buf_free (&rows);
            return NULL;
        }
        portal_buf_puts (&rows, row);
        free (row);
    }
    char *row_html = portal_buf_take (&rows, NULL);
    if (!row_html)
        return NULL;
    const portal_var_t vars [] = { { "rows", row_html, true } };
    char *table = portal_fragment (r, "certificates.html", vars, 1);
    free (row_html);
    return table;
}

//  When the holder accepted this card's certificates, those of the card
//  request it answers now (0: not known to have): mail's record, else the
//  portal journal's while mail does not keep them, if made since the
//  card's last activation (an earlier one was for the certificates a
//  renewal replaced).
static int64_t
s_accepted_at (portal_request_t *r, const Tessera__V1__ListAcceptancesReply *acceptances,
               const Tessera__V1__Card *card)
{
    for (size_t i = 0; acceptances && i < acceptances->n_acceptances; i++) {
        const Tessera__V1__Acceptance *acceptance = acceptances->acceptances [i];
        if (strcasecmp (acceptance->card_uuid, card->card_uuid) == 0
        &&  strcmp (acceptance->card_request_id, card->card_request_id) == 0)
            return acceptance->recorded_at_unix ? acceptance->recorded_at_unix : 1;
    }
    int64_t noted = portal_audit_accepted_at (r->portal->audit, card->card_uuid);
    return noted >= card->activated_at_unix ? noted : 0;
}

static char *
s_actions (portal_request_t *r, const Tessera__V1__Card *card, bool revocable,
           const Tessera__V1__ListAcceptancesReply *acceptances)
{
    portal_buf_t buf;
    portal_buf_init (&buf);
    const portal_var_t vars [] = {
        { "uuid", card->card_uuid, false }, { "csrf", r->session.csrf, false } };
    char *part = NULL;
    //  Activation after the post, for a card handed over at the desk, or
    //  again with a same-card renewal's code.
    bool renewal = portal_card_renewal_pending (card);
    bool awaiting = card->state == TESSERA__V1__CARD_STATE__CARD_STATE_SHIPPED
                 || card->state == TESSERA__V1__CARD_STATE__CARD_STATE_PERSONALISED || renewal;
    if (awaiting && !card->activation_locked)
        part = portal_fragment (r, "activate.html", vars, 2);
    else
    if (awaiting) {
        const portal_var_t notice [] = {
            { "kind", "error", false }, { "text", portal_words (r, "activation_locked"), false } };
        part = portal_fragment (r, "notice.html", notice, 2);
    }
    else
    if (card->state == TESSERA__V1__CARD_STATE__CARD_STATE_ACTIVE) {
        int64_t accepted = s_accepted_at (r, acceptances, card);
        if (accepted) {
            char when [64];
            portal_format_time (r->lang, accepted, when, sizeof when);
            const portal_var_t done [] = {
                { "uuid", card->card_uuid, false }, { "when", when, false } };
            part = portal_fragment (r, "accepted.html", done, 2);
        }
        else
            part = portal_fragment (r, "accept.html", vars, 2);
    }
    else
        part = strdup ("");
    if (!part) {
        portal_buf_free (&buf);
        return NULL;
    }
    portal_buf_puts (&buf, part);
    free (part);
    //  A blocked PIN: the PUK, released once after the secret questions.
    if (card->state == TESSERA__V1__CARD_STATE__CARD_STATE_ACTIVE || awaiting) {
        char *unblock = portal_fragment (r, "unblock_link.html", vars, 2);
        if (!unblock) {
            portal_buf_free (&buf);
            return NULL;
        }
        portal_buf_puts (&buf, unblock);
        free (unblock);
    }
    if (revocable && card->n_certificates > 1) {
        char *link = s_revoke_link (r, card->card_uuid, NULL);
        if (!link) {
            portal_buf_free (&buf);
            return NULL;
        }
        portal_buf_printf (&buf, "<p>%s</p>", link);
        free (link);
    }
    return portal_buf_take (&buf, NULL);
}

static char *
s_card (portal_request_t *r, const Tessera__V1__Card *card,
        const Tessera__V1__ListAcceptancesReply *acceptances)
{
    bool revocable = false;
    char *certificates = s_certificates (r, card, &revocable);
    char *actions = certificates ? s_actions (r, card, revocable, acceptances) : NULL;
    char *html = NULL;
    if (actions) {
        char activated [96] = "";
        if (card->activated_at_unix) {
            char when [64];
            portal_format_time (r->lang, card->activated_at_unix, when, sizeof when);
            snprintf (activated, sizeof activated, " — %s %s", portal_words (r, "card_activated_at"),
                      when);
        }
        const portal_var_t vars [] = {
            { "uuid", card->card_uuid, false },
            { "state", portal_words (r, s_card_state_key (card->state)), false },
            { "activated", activated, false },
            { "certificates", *certificates ? certificates : "", true },
            { "actions", actions, true },
        };
        html = portal_fragment (r, "card.html", vars, sizeof vars / sizeof vars [0]);
    }
    free (certificates);
    free (actions);
    return html;
}

static Tessera__V1__ListAcceptancesReply *
s_acceptances (portal_request_t *r)
{
    Tessera__V1__ListAcceptancesRequest request = TESSERA__V1__LIST_ACCEPTANCES_REQUEST__INIT;
    request.person_id = r->session.person_id;
    request.limit = 100;
    ProtobufCMessage *reply = NULL;
    char message [256];
    if (portal_bus_call_if_up (r->portal->bus, PORTAL_SERVICE_MAIL, "ListAcceptances", &request.base,
                         &tessera__v1__list_acceptances_reply__descriptor, &reply, r->trace_id,
                         message, sizeof message) != S_OK)
        return NULL;
    return (Tessera__V1__ListAcceptancesReply *) reply;
}

void
portal_cards_with_notice (portal_request_t *r, unsigned status, const char *notice_kind,
                          const char *notice_text)
{
    Tessera__V1__ListCardsReply *cards = NULL;
    char message [256];
    tsr_status_t listed = portal_holder_cards (r, &cards, message, sizeof message);
    portal_buf_t buf;
    portal_buf_init (&buf);
    unsigned page_status = status;
    if (listed != S_OK) {
        portal_bus_log (r, listed, message);
        portal_buf_printf (&buf, "<p class=\"notice error\" id=\"cards-unavailable\">");
        portal_buf_escape (&buf, portal_words (r, "cards_unavailable"));
        portal_buf_puts (&buf, "</p>");
        if (page_status < 400)
            page_status = 503;
    }
    else {
        Tessera__V1__ListAcceptancesReply *acceptances = s_acceptances (r);
        size_t shown = 0;
        for (size_t i = 0; i < cards->n_cards; i++) {
            const Tessera__V1__Card *card = cards->cards [i];
            if (strcmp (card->person_id, r->session.person_id) != 0)
                continue;       //  never another holder's, whatever perso sent
            char *html = s_card (r, card, acceptances);
            if (!html) {
                protobuf_c_message_free_unpacked (acceptances ? &acceptances->base : NULL, NULL);
                protobuf_c_message_free_unpacked (&cards->base, NULL);
                portal_buf_free (&buf);
                return;
            }
            portal_buf_puts (&buf, html);
            free (html);
            shown++;
        }
        protobuf_c_message_free_unpacked (acceptances ? &acceptances->base : NULL, NULL);
        if (!shown) {
            portal_buf_puts (&buf, "<p id=\"no-cards\">");
            portal_buf_escape (&buf, portal_words (r, "cards_none"));
            portal_buf_puts (&buf, "</p>");
        }
    }
    protobuf_c_message_free_unpacked (cards ? &cards->base : NULL, NULL);
    char *cards_html = portal_buf_take (&buf, NULL);
    if (!cards_html) {
        portal_message (r, 500, "service_unavailable", NULL, "/cards", "back_to_cards");
        return;
    }
    const portal_var_t vars [] = { { "cards", cards_html, true } };
    char *content = portal_fragment (r, "cards.html", vars, 1);
    free (cards_html);
    if (!content)
        return;
    portal_page (r, page_status, portal_words (r, "cards_title"), content, notice_kind, notice_text);
    free (content);
}

void
portal_page_cards (portal_request_t *r)
{
    if (!portal_require_holder (r, true))
        return;
    static const char *s_notices [] = {
        "activated", "accepted", "revoked", "password_changed", "questions_saved" };
    const char *notice = MHD_lookup_connection_value (r->connection, MHD_GET_ARGUMENT_KIND, "notice");
    const char *text = NULL;
    for (size_t i = 0; notice && i < sizeof s_notices / sizeof s_notices [0]; i++)
        if (strcmp (notice, s_notices [i]) == 0)
            text = portal_words (r, s_notices [i]);
    portal_cards_with_notice (r, 200, text ? "ok" : NULL, text);
}
