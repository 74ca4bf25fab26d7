/*  Revocation by the holder: one certificate, or every certificate of a
    card. Three steps: the form (reason, details), a confirmation page that
    repeats what will happen, and the confirmed request, which goes to
    revocation's RevokeOnline (applied at once, no operator decision).
    The request always names serials: a card's are those of its
    certificates still good or on hold, resolved here from the holder's own
    card. Only the holder's own cards and certificates can be named.
*/
#include "portal_internal.h"
#include "tessera/v1/ca.pb-c.h"
#include "tessera/v1/revocation.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PORTAL_CARD_CERTIFICATES_MAX 16

#define S_OK TESSERA__V1__STATUS__STATUS_OK

typedef struct {
    const char *value;          //  the form's value
    const char *key;            //  its label in the catalogue
    Tessera__V1__RevocationReason reason;
} s_reason_t;

//  What a holder may give as a reason (RFC 5280): never certificateHold
//  or removeFromCRL, nor the CA's own.
static const s_reason_t s_reasons [] = {
    { "key_compromise", "reason_key_compromise",
      TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_KEY_COMPROMISE },
    { "affiliation_changed", "reason_affiliation_changed",
      TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_AFFILIATION_CHANGED },
    { "superseded", "reason_superseded",
      TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_SUPERSEDED },
    { "cessation_of_operation", "reason_cessation_of_operation",
      TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_CESSATION_OF_OPERATION },
    { "unspecified", "reason_unspecified",
      TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_UNSPECIFIED },
};
#define S_REASON_COUNT (sizeof s_reasons / sizeof s_reasons [0])

static const s_reason_t *
s_reason (const char *value)
{
    for (size_t i = 0; value && i < S_REASON_COUNT; i++)
        if (strcmp (s_reasons [i].value, value) == 0)
            return &s_reasons [i];
    return NULL;
}

typedef struct {
    const char *card_uuid;      //  "" when one certificate
    const char *serial;         //  "" when the whole card
    const char *reason;         //  form value, may be NULL
    const char *statement;
} s_target_t;

static void
s_target_text (portal_request_t *r, const s_target_t *target, char *out, size_t size)
{
    if (*target->serial)
        snprintf (out, size, "%s", target->serial);
    else
        snprintf (out, size, "%s (%s)", target->card_uuid, portal_words (r, "revoke_all_of_card"));
}

static void
s_form (portal_request_t *r, unsigned status, const s_target_t *target, const char *notice)
{
    portal_buf_t options;
    portal_buf_init (&options);
    for (size_t i = 0; i < S_REASON_COUNT; i++) {
        bool selected = target->reason && strcmp (target->reason, s_reasons [i].value) == 0;
        const portal_var_t vars [] = {
            { "value", s_reasons [i].value, false },
            { "selected", selected ? " selected" : "", true },
            { "label", portal_words (r, s_reasons [i].key), false } };
        char *option = portal_fragment (r, "reason_option.html", vars, 3);
        if (!option) {
            portal_buf_free (&options);
            return;
        }
        portal_buf_puts (&options, option);
        free (option);
    }
    char *option_html = portal_buf_take (&options, NULL);
    char target_text [256];
    s_target_text (r, target, target_text, sizeof target_text);
    const portal_var_t vars [] = {
        { "csrf", r->session.csrf, false }, { "uuid", target->card_uuid, false },
        { "serial", target->serial, false }, { "target", target_text, false },
        { "options", option_html ? option_html : "", true },
        { "statement", target->statement ? target->statement : "", false } };
    char *content = option_html ? portal_fragment (r, "revoke.html", vars, 6) : NULL;
    free (option_html);
    if (!content)
        return;
    portal_page (r, status, portal_words (r, "revoke_title"), content, notice ? "error" : NULL, notice);
    free (content);
}

static void
s_confirm_page (portal_request_t *r, const s_target_t *target, const s_reason_t *reason)
{
    char target_text [256];
    s_target_text (r, target, target_text, sizeof target_text);
    const portal_var_t vars [] = {
        { "csrf", r->session.csrf, false }, { "uuid", target->card_uuid, false },
        { "serial", target->serial, false }, { "target", target_text, false },
        { "reason", reason->value, false },
        { "reason_label", portal_words (r, reason->key), false },
        { "statement", target->statement ? target->statement : "", false } };
    char *content = portal_fragment (r, "revoke_confirm.html", vars, 7);
    if (!content)
        return;
    portal_page (r, 200, portal_words (r, "revoke_confirm_title"), content, NULL, NULL);
    free (content);
}

//  Whether ca still has the certificate good or on hold (true when ca
//  does not answer: revocation will say).
static bool
s_live (portal_request_t *r, const char *serial_hex)
{
    Tessera__V1__GetStatusRequest request = TESSERA__V1__GET_STATUS_REQUEST__INIT;
    request.serial_hex = (char *) serial_hex;
    ProtobufCMessage *reply = NULL;
    char message [256];
    if (portal_bus_call (r->portal->bus, PORTAL_SERVICE_CA, "GetStatus", &request.base,
                         &tessera__v1__certificate_status__descriptor, &reply, r->trace_id,
                         message, sizeof message) != S_OK)
        return true;
    Tessera__V1__CertificateState state = ((Tessera__V1__CertificateStatus *) reply)->state;
    protobuf_c_message_free_unpacked (reply, NULL);
    return state == TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_GOOD
        || state == TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_ON_HOLD;
}

//  The request names the one serial asked, or the whole card (revocation
//  reads its certificates from perso and keeps the card on the request).
//  The card's certificates still good or on hold are listed here too, for
//  the journal and to say at once when nothing is left to revoke.
static void
s_revoke (portal_request_t *r, const s_target_t *target, const s_reason_t *reason,
          const Tessera__V1__Card *card)
{
    char *serials [PORTAL_CARD_CERTIFICATES_MAX];
    size_t count = 0;
    char serial_list [1024] = "";
    for (size_t i = 0; i < card->n_certificates && count < PORTAL_CARD_CERTIFICATES_MAX; i++) {
        char *serial = card->certificates [i]->serial_hex;
        if (*target->serial ? strcasecmp (serial, target->serial) == 0 : s_live (r, serial)) {
            size_t used = strlen (serial_list);
            snprintf (serial_list + used, sizeof serial_list - used, "%s%s", count ? "," : "",
                      serial);
            serials [count++] = serial;
        }
    }
    if (count == 0) {
        portal_message (r, 409, "revoke_nothing", NULL, "/cards", "back_to_cards");
        return;
    }
    Tessera__V1__RevokeOnlineRequest request = TESSERA__V1__REVOKE_ONLINE_REQUEST__INIT;
    request.account_id = r->session.account_id;
    if (*target->serial) {
        request.n_serials = count;
        request.serials = serials;
    }
    else
        request.card_uuid = card->card_uuid;
    request.reason = reason->reason;
    request.statement = (char *) (target->statement ? target->statement : "");
    request.client_address = r->client_address;
    request.user_agent = r->user_agent;
    ProtobufCMessage *reply = NULL;
    char message [256];
    tsr_status_t status = portal_bus_call (r->portal->bus, PORTAL_SERVICE_REVOCATION,
                                           "RevokeOnline", &request.base,
                                           &tessera__v1__revocation_record__descriptor, &reply,
                                           r->trace_id, message, sizeof message);
    char detail [160] = "";
    if (status == S_OK)
        snprintf (detail, sizeof detail, "revocation %s",
                  ((Tessera__V1__RevocationRecord *) reply)->revocation_id);
    protobuf_c_message_free_unpacked (reply, NULL);
    portal_audit_entry_t entry = { .action = "revocation",
                                   .outcome = status == S_OK ? "ok" : "error",
                                   .card_uuid = card->card_uuid, .serials = serial_list,
                                   .reason = reason->value,
                                   .detail = status == S_OK ? detail : message };
    portal_audit_action (r, &entry);
    if (status == S_OK)
        portal_redirect (r, "/cards?notice=revoked");
    else
        portal_bus_failure (r, status, message, "revoke_refused");
}

//  The target from the query (GET) or the form (POST): a card of the
//  holder, or a serial on one of the holder's cards. Answers 400/404 and
//  returns NULL otherwise.
static const Tessera__V1__Card *
s_find (portal_request_t *r, const Tessera__V1__ListCardsReply *cards, s_target_t *target)
{
    bool by_serial = *target->serial != '\0';
    if (by_serial == (*target->card_uuid != '\0')
    ||  (by_serial ? !portal_id_valid (target->serial, PORTAL_SERIAL_MAX)
                   : !portal_id_valid (target->card_uuid, PORTAL_BUS_ID_MAX))) {
        portal_message (r, 400, "bad_request", NULL, "/cards", "back_to_cards");
        return NULL;
    }
    const Tessera__V1__CardCertificate *certificate = NULL;
    const Tessera__V1__Card *card = by_serial
        ? portal_holder_card_of_serial (r, cards, target->serial, &certificate)
        : portal_holder_card (r, cards, target->card_uuid);
    if (!card) {
        portal_audit_entry_t entry = { .action = "revocation", .outcome = "refused",
                                       .card_uuid = target->card_uuid, .serials = target->serial,
                                       .detail = "not a card or certificate of this holder" };
        portal_audit_action (r, &entry);
        portal_message (r, 404, "card_not_found", NULL, "/cards", "back_to_cards");
        return NULL;
    }
    if (certificate)
        target->serial = certificate->serial_hex;
    else
        target->card_uuid = card->card_uuid;
    return card;
}

void
portal_page_revoke (portal_request_t *r)
{
    if (!portal_require_holder (r, true))
        return;
    if (r->is_post && !portal_require_csrf (r))
        return;
    s_target_t target = { "", "", NULL, NULL };
    const char *card_uuid, *serial;
    if (r->is_post) {
        card_uuid = portal_form_get (&r->form, "card_uuid");
        serial = portal_form_get (&r->form, "serial");
        target.reason = portal_form_get (&r->form, "reason");
        target.statement = portal_form_get (&r->form, "statement");
    }
    else {
        card_uuid = MHD_lookup_connection_value (r->connection, MHD_GET_ARGUMENT_KIND, "card");
        serial = MHD_lookup_connection_value (r->connection, MHD_GET_ARGUMENT_KIND, "serial");
    }
    target.card_uuid = card_uuid ? card_uuid : "";
    target.serial = serial ? serial : "";
    Tessera__V1__ListCardsReply *cards = NULL;
    char message [256];
    tsr_status_t status = portal_holder_cards (r, &cards, message, sizeof message);
    if (status != S_OK) {
        portal_bus_failure (r, status, message, "revoke_refused");
        return;
    }
    const Tessera__V1__Card *card = s_find (r, cards, &target);
    if (card) {
        const s_reason_t *reason = s_reason (target.reason);
        bool statement_ok = !target.statement
                         || portal_text_valid (target.statement, 0, PORTAL_STATEMENT_MAX,
                                               4 * PORTAL_STATEMENT_MAX, true);
        const char *confirm = portal_form_get (&r->form, "confirm");
        if (!r->is_post)
            s_form (r, 200, &target, NULL);
        else
        if (!reason || !statement_ok)
            s_form (r, 400, &target, portal_words (r, "revoke_invalid"));
        else
        if (!confirm || strcmp (confirm, "yes") != 0)
            s_confirm_page (r, &target, reason);
        else
            s_revoke (r, &target, reason, card);
    }
    protobuf_c_message_free_unpacked (&cards->base, NULL);
}
