/*  RecordAcceptance and ListAcceptances: the holder's acceptance of a card
    and its certificates.

    Paper (shipping or entry operators): the signed acceptance and the
    hand-over report (PV) came back by post; their scans' SHA-256 are
    recorded (never the scans) and the acceptance closes the dossier:
    "acceptance.recorded" with closes_dossier, which enrollment follows to
    close and archive it. Portal (a service key, the portal): the holder's
    explicit acceptance with their account, address and browser; the
    account must be the card holder's (validation's GetHolderAccount).
    Either way the card must have been posted, and the certificates are
    those ca issued for the card request (known from its events). One
    acceptance per card, card request and channel.

    A same-card renewal (perso re-personalised the card for a new request)
    has no posting and no hand-over: its acceptance names the renewal
    request, which perso's card must answer now, activated with the
    renewal's code, and mail must have known the card under another request
    before. It is the renewal's only acceptance return, so by either
    channel it completes the request and closes the dossier.
*/
#include "mail_directory.h"
#include "mail_handlers.h"
#include "mail_records.h"
#include "mail_shipments.h"
#include "mail_state.h"
#include "tessera/log.h"
#include "tessera/roles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_DENIED TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PAPER TESSERA__V1__ACCEPTANCE_CHANNEL__ACCEPTANCE_CHANNEL_PAPER
#define S_PORTAL TESSERA__V1__ACCEPTANCE_CHANNEL__ACCEPTANCE_CHANNEL_PORTAL
#define S_SERIALS_SIZE (MAIL_SERIALS_MAX * 41 + 1)

//  What is accepted: the card, the request it answers, its holder, and
//  whether the acceptance completes the request (strings borrowed).
typedef struct {
    const char *card_uuid;
    const char *card_request_id;
    const char *holder_person_id;
    bool closes_dossier;
} s_target_t;

#define S_SELECT \
    "SELECT acceptance_id, channel, card_uuid, card_request_id, person_id," \
    " array_to_string(serials, ','), signed_acceptance_sha256, handover_report_sha256," \
    " extract(epoch FROM received_at)::bigint, recorded_by_operator_id, account_id," \
    " client_address, user_agent, extract(epoch FROM recorded_at)::bigint, closes_dossier, seq" \
    " FROM acceptances"

typedef struct {
    Tessera__V1__Acceptance message;
    char serials_text [S_SERIALS_SIZE];
    char *serials [MAIL_SERIALS_MAX];
    int64_t seq;
} s_acceptance_t;

static void
s_from_row (PGresult *res, int row, s_acceptance_t *acceptance)
{
    memset (acceptance, 0, sizeof *acceptance);
    Tessera__V1__Acceptance *message = &acceptance->message;
    tessera__v1__acceptance__init (message);
    message->acceptance_id = PQgetvalue (res, row, 0);
    message->channel = (Tessera__V1__AcceptanceChannel) mail_row_int (res, row, 1);
    message->card_uuid = PQgetvalue (res, row, 2);
    message->card_request_id = PQgetvalue (res, row, 3);
    message->person_id = PQgetvalue (res, row, 4);
    snprintf (acceptance->serials_text, sizeof acceptance->serials_text, "%s",
              PQgetvalue (res, row, 5));
    for (char *serial = acceptance->serials_text; *serial
         && message->n_serials < MAIL_SERIALS_MAX; ) {
        acceptance->serials [message->n_serials++] = serial;
        char *comma = strchr (serial, ',');
        if (!comma)
            break;
        *comma = 0;
        serial = comma + 1;
    }
    message->serials = acceptance->serials;
    message->signed_acceptance_sha256 = PQgetvalue (res, row, 6);
    message->handover_report_sha256 = PQgetvalue (res, row, 7);
    message->received_unix = mail_row_int (res, row, 8);
    message->recorded_by_operator_id = PQgetvalue (res, row, 9);
    message->account_id = PQgetvalue (res, row, 10);
    message->client_address = PQgetvalue (res, row, 11);
    message->user_agent = PQgetvalue (res, row, 12);
    message->recorded_at_unix = mail_row_int (res, row, 13);
    message->closes_dossier = mail_row_bool (res, row, 14);
    acceptance->seq = mail_row_int (res, row, 15);
}

//  The request's fields for its channel, and the caller's right to it.
tsr_status_t
mail_acceptance_check (tsr_call_t *call, const Tessera__V1__RecordAcceptanceRequest *request,
                       int64_t now)
{
    bool paper = request->channel == S_PAPER;
    if (!paper && request->channel != S_PORTAL)
        return tsr_call_fail (call, S_INVALID, "channel must be PAPER or PORTAL");
    if (paper && !(call->caller_roles & (TSR_ROLE_SHIPPING | TSR_ROLE_ENTRY)))
        return tsr_call_fail (call, S_DENIED, "paper acceptances are recorded by shipping or "
                              "entry operators");
    if (!paper && !(call->caller_roles & TSR_ROLE_SERVICE))
        return tsr_call_fail (call, S_DENIED, "portal acceptances come from the holder portal");
    if (!mail_card_uuid_valid (request->card_uuid))
        return tsr_call_fail (call, S_INVALID, "card_uuid must be a UUID");
    if (!mail_optional_id_valid (request->card_request_id))
        return tsr_call_fail (call, S_INVALID, "card_request_id must be empty or 1 to 64 of "
                              "[A-Za-z0-9._:-]");
    if (request->n_serials > MAIL_SERIALS_MAX)
        return tsr_call_fail (call, S_INVALID, "at most %d serials", MAIL_SERIALS_MAX);
    for (size_t i = 0; i < request->n_serials; i++)
        if (!mail_serial_valid (request->serials [i]))
            return tsr_call_fail (call, S_INVALID, "serials[%zu] must be 2 to 40 lower-case hex "
                                  "digits", i);
    if (paper) {
        if (!mail_sha256_hex_valid (request->signed_acceptance_sha256)
        ||  !mail_sha256_hex_valid (request->handover_report_sha256))
            return tsr_call_fail (call, S_INVALID, "signed_acceptance_sha256 and "
                                  "handover_report_sha256 are required: 64 lower-case hex digits");
        if (request->received_unix < 0 || request->received_unix > now)
            return tsr_call_fail (call, S_INVALID, "received_unix must not be in the future");
        if (*request->account_id || *request->client_address || *request->user_agent)
            return tsr_call_fail (call, S_INVALID, "account_id, client_address and user_agent are "
                                  "for the portal channel");
        return S_OK;
    }
    if (!mail_id_valid (request->account_id))
        return tsr_call_fail (call, S_INVALID, "account_id is required: 1 to 64 of "
                              "[A-Za-z0-9._:-]");
    if (!mail_text_valid (request->client_address, 0, MAIL_CLIENT_ADDRESS_MAX)
    ||  !mail_text_valid (request->user_agent, 0, MAIL_USER_AGENT_MAX))
        return tsr_call_fail (call, S_INVALID, "client_address and user_agent are at most %d and "
                              "%d printable characters", MAIL_CLIENT_ADDRESS_MAX,
                              MAIL_USER_AGENT_MAX);
    if (*request->signed_acceptance_sha256 || *request->handover_report_sha256
    ||  request->received_unix)
        return tsr_call_fail (call, S_INVALID, "the scans' digests and received_unix are for the "
                              "paper channel");
    return S_OK;
}

//  The portal's account must be the card holder's.
static tsr_status_t
s_account_holder (tsr_call_t *call, const char *account_id, const char *holder_person_id)
{
    mail_state_t *state = call->state;
    Tessera__V1__HolderAccount *account = NULL;
    char message [160] = "";
    tsr_status_t status = mail_directory_account (state->validation, call->request->trace_id,
                                                  account_id, &account, message, sizeof message);
    if (status != S_OK)
        return mail_peer_status (status) == TESSERA__V1__STATUS__STATUS_NOT_FOUND
            ? tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND, "validation knows no "
                             "account %s", account_id)
            : tsr_call_fail (call, S_UNAVAILABLE, "cannot read account %s at validation "
                             "(%.120s); retry", account_id, message);
    if (strcmp (account->person_id, holder_person_id))
        status = tsr_call_fail (call, S_DENIED, "the card is not the account holder's");
    tessera__v1__holder_account__free_unpacked (account, NULL);
    return status;
}

//  The serials accepted, joined with ',': those asked for, each one of
//  the card request's certificates (not revoked), or all of them.
static tsr_status_t
s_serials (tsr_call_t *call, const Tessera__V1__RecordAcceptanceRequest *request,
           const char *card_request_id, char serials [S_SERIALS_SIZE])
{
    const char *values [] = { card_request_id };
    PGresult *res = tsr_db_query (call->db, "SELECT serial_hex FROM certificates"
                                  " WHERE card_request_id = $1 AND state <> 2 ORDER BY serial_hex",
                                  1, values);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the certificates");
    tsr_status_t status = S_OK;
    size_t used = 0, rows = (size_t) PQntuples (res);
    serials [0] = 0;
    if (rows == 0 || rows > MAIL_SERIALS_MAX)
        status = tsr_call_fail (call, S_PRECONDITION, "no certificate of card request %s is "
                                "known to mail (ca's certificate.issued), or none is valid",
                                card_request_id);
    for (size_t i = 0; status == S_OK && i < (request->n_serials ? request->n_serials : rows); i++) {
        const char *serial = request->n_serials ? request->serials [i]
                                                : PQgetvalue (res, (int) i, 0);
        bool known = false;
        for (size_t j = 0; j < rows && !known; j++)
            known = strcmp (serial, PQgetvalue (res, (int) j, 0)) == 0;
        if (!known)
            status = tsr_call_fail (call, S_PRECONDITION, "certificate %s is not a valid "
                                    "certificate of card request %s", serial, card_request_id);
        else
            used += (size_t) snprintf (serials + used, S_SERIALS_SIZE - used, "%s%s",
                                       used ? "," : "", serial);
    }
    PQclear (res);
    return status;
}

//  A same-card renewal's acceptance: mail holds the renewal's PIN mailer
//  (perso's "pin_mailer.ready" for the request named) and knew the card
//  under another request before; perso's card answers the request named,
//  is active and was activated since its last code (the renewal's).
//  posted: the card's live card shipment, NULL when it has none.
static tsr_status_t
s_renewal (tsr_call_t *call, const Tessera__V1__RecordAcceptanceRequest *request,
           const mail_shipment_t *posted, Tessera__V1__Card **card_p, s_target_t *target)
{
    mail_state_t *state = call->state;
    const char *values [] = { request->card_uuid, request->card_request_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT count(*) FILTER (WHERE kind = 2 AND card_request_id = $2),"
        " count(*) FILTER (WHERE card_request_id <> $2 AND card_request_id <> '')"
        " FROM shipments WHERE lower(card_uuid) = lower($1)", 2, values);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the shipments");
    bool pin_mailer = strcmp (PQgetvalue (res, 0, 0), "0") != 0;
    bool known_before = strcmp (PQgetvalue (res, 0, 1), "0") != 0;
    PQclear (res);
    if (!pin_mailer && posted)
        return tsr_call_fail (call, S_INVALID, "card %s answers card request %s, not %s",
                              request->card_uuid, posted->message.card_request_id,
                              request->card_request_id);
    if (!pin_mailer || !known_before)
        return tsr_call_fail (call, S_PRECONDITION, "card %s has not been posted: an "
                              "acceptance follows the card's hand-over", request->card_uuid);
    char message [160] = "";
    tsr_status_t status = mail_directory_card (state->perso, call->request->trace_id,
                                               request->card_uuid, card_p, message,
                                               sizeof message);
    if (status != S_OK)
        return mail_peer_status (status) == TESSERA__V1__STATUS__STATUS_NOT_FOUND
            ? tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND, "perso knows no card %s",
                             request->card_uuid)
            : tsr_call_fail (call, S_UNAVAILABLE, "cannot read card %s at perso (%.120s); retry",
                             request->card_uuid, message);
    const Tessera__V1__Card *card = *card_p;
    if (!mail_card_uuid_valid (card->card_uuid) || !mail_id_valid (card->person_id)
    ||  !mail_optional_id_valid (card->card_request_id))
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                              "perso's card %s does not name its holder properly",
                              request->card_uuid);
    if (strcmp (card->card_request_id, request->card_request_id))
        return tsr_call_fail (call, S_INVALID, "card %s answers card request %s, not %s",
                              request->card_uuid, card->card_request_id,
                              request->card_request_id);
    if (card->state != TESSERA__V1__CARD_STATE__CARD_STATE_ACTIVE || card->activated_at_unix <= 0
    ||  card->activated_at_unix < card->activation_code_issued_at_unix)
        return tsr_call_fail (call, S_PRECONDITION, "card %s has not been activated with the "
                              "activation code of card request %s: activate it first",
                              request->card_uuid, request->card_request_id);
    target->card_uuid = card->card_uuid;
    target->card_request_id = card->card_request_id;
    target->holder_person_id = card->person_id;
    target->closes_dossier = true;
    return S_OK;
}

static tsr_status_t
s_store (tsr_call_t *call, const Tessera__V1__RecordAcceptanceRequest *request,
         const s_target_t *target, const char *serials, const char *operator_id, int64_t now)
{
    bool paper = request->channel == S_PAPER;
    char acceptance_id [TSR_ID_HEX_SIZE], channel [4], received [24], recorded [24];
    tsr_random_id (acceptance_id);
    snprintf (channel, sizeof channel, "%d", (int) request->channel);
    snprintf (received, sizeof received, "%lld",
              (long long) (paper ? (request->received_unix ? request->received_unix : now) : 0));
    snprintf (recorded, sizeof recorded, "%lld", (long long) now);
    const char *values [] = {
        acceptance_id, channel, target->card_uuid, target->card_request_id,
        target->holder_person_id, serials, request->signed_acceptance_sha256,
        request->handover_report_sha256, received, paper ? operator_id : "",
        request->account_id, request->client_address, request->user_agent, recorded,
        target->closes_dossier ? "t" : "f"
    };
    PGresult *res = tsr_db_query (call->db,
        "INSERT INTO acceptances (acceptance_id, channel, card_uuid, card_request_id, person_id,"
        " serials, signed_acceptance_sha256, handover_report_sha256, received_at,"
        " recorded_by_operator_id, account_id, client_address, user_agent, recorded_at,"
        " closes_dossier) VALUES ($1, $2::smallint, $3, $4, $5, string_to_array($6, ','), $7, $8,"
        " CASE WHEN $9 = '0' THEN NULL ELSE to_timestamp($9::bigint) END, $10, $11, $12, $13,"
        " to_timestamp($14::bigint), $15::boolean)"
        " ON CONFLICT (card_uuid, card_request_id, channel) DO NOTHING RETURNING acceptance_id",
        15, values);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the acceptance");
    bool inserted = PQntuples (res) == 1;
    PQclear (res);
    if (!inserted)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_ALREADY_EXISTS, "card %s has an "
                              "acceptance of card request %s by this channel already",
                              target->card_uuid, target->card_request_id);
    const char *id [] = { acceptance_id };
    res = tsr_db_query (call->db, S_SELECT " WHERE acceptance_id = $1", 1, id);
    s_acceptance_t acceptance;
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the acceptance back");
    }
    s_from_row (res, 0, &acceptance);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "channel", paper ? "paper" : "portal");
    tsr_json_str (json, "card_uuid", target->card_uuid);
    tsr_json_str (json, "card_request_id", target->card_request_id);
    tsr_json_str (json, "person_id", target->holder_person_id);
    tsr_json_str (json, "serials", serials);
    tsr_json_str (json, "signed_acceptance_sha256", request->signed_acceptance_sha256);
    tsr_json_str (json, "handover_report_sha256", request->handover_report_sha256);
    tsr_json_str (json, "account_id", request->account_id);
    tsr_json_str (json, "client_address", request->client_address);
    tsr_json_bool (json, "closes_dossier", target->closes_dossier);
    Tessera__V1__AcceptanceRecorded event = TESSERA__V1__ACCEPTANCE_RECORDED__INIT;
    event.acceptance_id = acceptance_id;
    event.channel = request->channel;
    event.card_uuid = acceptance.message.card_uuid;
    event.card_request_id = acceptance.message.card_request_id;
    event.person_id = acceptance.message.person_id;
    event.n_serials = acceptance.message.n_serials;
    event.serials = acceptance.message.serials;
    event.closes_dossier = target->closes_dossier;
    event.recorded_at_unix = now;
    tsr_status_t status;
    if (mail_audit (call->db, call->caller_key, "mail.acceptance_recorded", acceptance_id,
                    call->request->trace_id, &json)
    ||  mail_emit (call->db, "acceptance.recorded", acceptance_id, call->request->trace_id,
                   &event.base))
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the acceptance");
    else {
        tsr_log_info (call->request->trace_id, "mail.acceptance_recorded", "acceptance_id",
                      acceptance_id, "card_uuid", target->card_uuid, "card_request_id",
                      target->card_request_id, NULL);
        status = tsr_call_reply (call, &acceptance.message.base,
                                 target->closes_dossier ? "acceptance recorded; the request "
                                                          "completes and the dossier closes"
                                                        : "acceptance recorded");
    }
    tsr_json_destroy (&json);
    PQclear (res);
    return status;
}

tsr_status_t
mail_handle_record_acceptance (tsr_call_t *call)
{
    mail_state_t *state = call->state;
    tsr_status_t status;
    Tessera__V1__RecordAcceptanceRequest *request = (Tessera__V1__RecordAcceptanceRequest *)
        tsr_call_unpack (call, &tessera__v1__record_acceptance_request__descriptor, &status);
    if (!request)
        return status;
    PGresult *res = NULL;
    char operator_id [MAIL_ID_MAX + 1] = "", serials [S_SERIALS_SIZE] = "";
    int64_t now = mail_now (state);
    mail_shipment_t card;
    Tessera__V1__Card *renewed = NULL;
    s_target_t target = { 0 };
    if ((status = mail_acceptance_check (call, request, now)) != S_OK
    ||  (request->channel == S_PAPER
         && (status = mail_caller_operator (call, operator_id)) != S_OK))
        goto done;
    if (mail_lock_card (call->db, request->card_uuid)) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot lock the card");
        goto done;
    }
    int found = mail_shipment_load (call->db, "WHERE lower(s.card_uuid) = lower($1)"
                                    " AND s.kind = 1 AND s.state <> 5", request->card_uuid, false,
                                    &card, &res);
    if (found < 0) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the shipments");
        goto done;
    }
    //  A request other than the posted card's (or a card never posted):
    //  a same-card renewal, or nothing to accept.
    if (*request->card_request_id
    &&  (found == 0 || strcmp (request->card_request_id, card.message.card_request_id))) {
        if ((status = s_renewal (call, request, found ? &card : NULL, &renewed, &target)) != S_OK)
            goto done;
    }
    else {
        if (found == 0 || card.message.state < MAIL_SHIPMENT_POSTED) {
            status = tsr_call_fail (call, S_PRECONDITION, "card %s has not been posted: an "
                                    "acceptance follows the card's hand-over", request->card_uuid);
            goto done;
        }
        if (request->channel == S_PAPER && request->received_unix
        &&  request->received_unix < card.message.posted_at_unix) {
            status = tsr_call_fail (call, S_INVALID, "received_unix is before the card was posted");
            goto done;
        }
        target.card_uuid = card.message.card_uuid;
        target.card_request_id = card.message.card_request_id;
        target.holder_person_id = card.message.holder_person_id;
        target.closes_dossier = request->channel == S_PAPER;
    }
    if ((request->channel == S_PORTAL
         && (status = s_account_holder (call, request->account_id,
                                        target.holder_person_id)) != S_OK)
    ||  (status = s_serials (call, request, target.card_request_id, serials)) != S_OK)
        goto done;
    status = s_store (call, request, &target, serials, operator_id, now);
done:
    if (renewed)
        tessera__v1__card__free_unpacked (renewed, NULL);
    PQclear (res);
    tessera__v1__record_acceptance_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
mail_handle_list_acceptances (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ListAcceptancesRequest *request = (Tessera__V1__ListAcceptancesRequest *)
        tsr_call_unpack (call, &tessera__v1__list_acceptances_request__descriptor, &status);
    if (!request)
        return status;
    int64_t before = 0;
    PGresult *res = NULL;
    s_acceptance_t *rows_out = NULL;
    Tessera__V1__Acceptance **list = NULL;
    if (!mail_optional_id_valid (request->person_id)
    ||  (*request->card_uuid && !mail_card_uuid_valid (request->card_uuid))
    ||  (int) request->channel < 0 || request->channel > 2
    ||  !mail_page_token_parse (request->page_token, &before)) {
        status = tsr_call_fail (call, S_INVALID, "person_id is 1 to 64 of [A-Za-z0-9._:-], "
                                "card_uuid a UUID, channel 0..2, page_token from the previous "
                                "reply");
        goto done;
    }
    uint32_t limit = mail_page_limit (request->limit);
    char channel [4], before_text [24], limit_text [8];
    snprintf (channel, sizeof channel, "%d", (int) request->channel);
    snprintf (before_text, sizeof before_text, "%lld", (long long) before);
    snprintf (limit_text, sizeof limit_text, "%u", limit + 1);
    const char *values [] = { request->person_id, request->card_uuid, channel, before_text,
                              limit_text };
    res = tsr_db_query (call->db, S_SELECT " WHERE ($1 = '' OR person_id = $1)"
                        " AND ($2 = '' OR lower(card_uuid) = lower($2))"
                        " AND ($3 = '0' OR channel = $3::smallint) AND seq < $4::bigint"
                        " ORDER BY seq DESC LIMIT $5::int", 5, values);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the acceptances");
        goto done;
    }
    size_t rows = (size_t) PQntuples (res), count = rows > limit ? limit : rows;
    rows_out = calloc (count + 1, sizeof *rows_out);
    list = calloc (count + 1, sizeof *list);
    if (!rows_out || !list) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        s_from_row (res, (int) i, &rows_out [i]);
        list [i] = &rows_out [i].message;
    }
    char next [24] = "";
    if (rows > limit)
        snprintf (next, sizeof next, "%lld", (long long) rows_out [count - 1].seq);
    Tessera__V1__ListAcceptancesReply reply = TESSERA__V1__LIST_ACCEPTANCES_REPLY__INIT;
    reply.n_acceptances = count;
    reply.acceptances = list;
    reply.next_page_token = next;
    status = tsr_call_reply (call, &reply.base, "acceptances");
done:
    free (list);
    free (rows_out);
    PQclear (res);
    tessera__v1__list_acceptances_request__free_unpacked (request, NULL);
    return status;
}
