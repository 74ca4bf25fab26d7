/*  PrepareShipment: a personalised card, by registered mail with
    acknowledgement of receipt, to the person who hands it over: an RL's or
    MC's card to themselves, a holder's card to an MC of the holder's
    organisation (named, or the only one).

    The card is read at perso (GetCard: personalised, or returned by the
    post, and whose), the persons
    at enrollment; the recipient's name and address must fit the envelope's
    window (mail_address.h). One card shipment under way per card: a card
    that came back (returned) may be prepared again.
*/
#include "mail_directory.h"
#include "mail_handlers.h"
#include "mail_records.h"
#include "mail_shipments.h"
#include "mail_state.h"
#include "tessera/log.h"

#include <stdio.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_ROLE_MC TESSERA__V1__PERSON_ROLE__PERSON_ROLE_CERTIFICATION_DELEGATE
#define S_ROLE_RL TESSERA__V1__PERSON_ROLE__PERSON_ROLE_LEGAL_REPRESENTATIVE

//  The card at perso, personalised.
static tsr_status_t
s_card (tsr_call_t *call, const char *card_uuid, Tessera__V1__Card **card_p)
{
    mail_state_t *state = call->state;
    char message [160] = "";
    tsr_status_t status = mail_directory_card (state->perso, call->request->trace_id, card_uuid,
                                               card_p, message, sizeof message);
    if (status != S_OK)
        return mail_peer_status (status) == S_NOT_FOUND
            ? tsr_call_fail (call, S_NOT_FOUND, "perso knows no card %s", card_uuid)
            : tsr_call_fail (call, S_UNAVAILABLE, "cannot read card %s at perso (%.120s); retry",
                             card_uuid, message);
    const Tessera__V1__Card *card = *card_p;
    //  A card the post brought back (perso: returned) may go again.
    if (card->state != TESSERA__V1__CARD_STATE__CARD_STATE_PERSONALISED
    &&  card->state != TESSERA__V1__CARD_STATE__CARD_STATE_RETURNED) {
        const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value (
            &tessera__v1__card_state__descriptor, (int) card->state);
        return tsr_call_fail (call, S_PRECONDITION, "card %s is %s at perso: only a personalised "
                              "(or returned) card is shipped", card_uuid,
                              value ? value->name : "in an unknown state");
    }
    if (!mail_id_valid (card->person_id) || !mail_optional_id_valid (card->card_request_id))
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                              "perso's card %s does not name its holder properly", card_uuid);
    return S_OK;
}

static tsr_status_t
s_person (tsr_call_t *call, const char *person_id, const char *what, tsr_status_t missing,
          Tessera__V1__Person **person_p)
{
    mail_state_t *state = call->state;
    char message [160] = "";
    tsr_status_t status = mail_directory_person (state->enrollment, call->request->trace_id,
                                                 person_id, person_p, message, sizeof message);
    if (status == S_OK)
        return S_OK;
    return mail_peer_status (status) == S_NOT_FOUND
        ? tsr_call_fail (call, missing, "enrollment knows no %s %s", what, person_id)
        : tsr_call_fail (call, S_UNAVAILABLE, "cannot read %s %s at enrollment (%.120s); retry",
                         what, person_id, message);
}

//  The organisation's only MC, or a refusal saying why there is none.
static tsr_status_t
s_only_mc (tsr_call_t *call, const char *organisation_id, Tessera__V1__Person **mc_p)
{
    mail_state_t *state = call->state;
    Tessera__V1__ListPersonsReply *listed = NULL;
    char message [160] = "";
    tsr_status_t status = mail_directory_persons (state->enrollment, call->request->trace_id,
                                                  organisation_id, S_ROLE_MC, "", &listed,
                                                  message, sizeof message);
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot list the organisation's MCs at "
                              "enrollment (%.120s); retry", message);
    if (listed->n_persons == 1)
        status = s_person (call, listed->persons [0]->person_id, "MC", S_PRECONDITION, mc_p);
    else
    if (listed->n_persons == 0)
        status = tsr_call_fail (call, S_PRECONDITION, "organisation %s has no MC to hand the "
                                "holder's card over: register one at enrollment", organisation_id);
    else
        status = tsr_call_fail (call, S_INVALID, "organisation %s has %zu%s MCs: name the one "
                                "who receives the card (recipient_person_id)", organisation_id,
                                listed->n_persons, *listed->next_page_token ? " or more" : "");
    tessera__v1__list_persons_reply__free_unpacked (listed, NULL);
    return status;
}

//  Who receives the holder's card (see the comment at the top).
static tsr_status_t
s_recipient (tsr_call_t *call, const Tessera__V1__Person *holder, const char *requested,
             Tessera__V1__Person **recipient_p)
{
    if (holder->role == S_ROLE_RL || holder->role == S_ROLE_MC) {
        if (*requested && strcmp (requested, holder->person_id))
            return tsr_call_fail (call, S_INVALID, "an RL's or MC's card goes to them in person: "
                                  "leave recipient_person_id empty");
        return s_person (call, holder->person_id, "holder", S_PRECONDITION, recipient_p);
    }
    if (!*requested)
        return s_only_mc (call, holder->organisation_id, recipient_p);
    tsr_status_t status = s_person (call, requested, "person", S_NOT_FOUND, recipient_p);
    if (status != S_OK)
        return status;
    if ((*recipient_p)->role != S_ROLE_MC
    ||  strcmp ((*recipient_p)->organisation_id, holder->organisation_id))
        return tsr_call_fail (call, S_PRECONDITION, "%s is not an MC of the holder's "
                              "organisation: a holder's card goes to an MC of their own "
                              "organisation", requested);
    return S_OK;
}

static tsr_status_t
s_store (tsr_call_t *call, const Tessera__V1__Card *card, const Tessera__V1__Person *holder,
         const Tessera__V1__Person *recipient, const mail_postal_t *postal,
         const char *operator_id)
{
    mail_state_t *state = call->state;
    char shipment_id [TSR_ID_HEX_SIZE], now [24], holder_name [MAIL_POSTAL_NAME_SIZE * 2];
    tsr_random_id (shipment_id);
    snprintf (now, sizeof now, "%lld", (long long) mail_now (state));
    snprintf (holder_name, sizeof holder_name, "%s %s", holder->given_name, holder->surname);
    const char *values [] = {
        shipment_id, card->card_uuid, card->card_request_id, holder->person_id, holder_name,
        holder->organisation_id, recipient->person_id, postal->name, postal->lines,
        postal->postal_code, postal->city, postal->country_code, recipient->language, now,
        operator_id
    };
    PGresult *res = tsr_db_query (call->db,
        "INSERT INTO shipments (shipment_id, kind, card_uuid, card_request_id, holder_person_id,"
        " holder_name, organisation_id, recipient_person_id, recipient_name, address_lines,"
        " postal_code, city, country_code, language, state, prepared_at,"
        " prepared_by_operator_id) VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8,"
        " string_to_array($9, E'\\n'), $10, $11, $12,"
        " CASE WHEN $13 = 'en' THEN 'en' ELSE 'fr' END, 1, to_timestamp($14::bigint), $15)",
        15, values);
    PQclear (res);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "card_uuid", card->card_uuid);
    tsr_json_str (json, "holder_person_id", holder->person_id);
    tsr_json_str (json, "recipient_person_id", recipient->person_id);
    tsr_json_str (json, "prepared_by_operator_id", operator_id);
    if (!res || mail_audit (call->db, call->caller_key, "mail.shipment_prepared", shipment_id,
                            call->request->trace_id, &json))
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the shipment");
    tsr_log_info (call->request->trace_id, "mail.shipment_prepared", "shipment_id", shipment_id,
                  "card_uuid", card->card_uuid, NULL);
    mail_shipment_t shipment;
    PGresult *read = NULL;
    tsr_status_t status = mail_shipment_load (call->db, "WHERE s.shipment_id = $1", shipment_id,
                                              false, &shipment, &read) == 1
        ? tsr_call_reply (call, &shipment.message.base, "shipment prepared")
        : tsr_call_fail (call, S_UNAVAILABLE, "cannot read the shipment back");
    PQclear (read);
    return status;
}

//  Every bound of the request that needs no database.
tsr_status_t
mail_prepare_shipment_check (tsr_call_t *call, const Tessera__V1__PrepareShipmentRequest *request)
{
    if (!mail_card_uuid_valid (request->card_uuid))
        return tsr_call_fail (call, S_INVALID, "card_uuid must be a UUID "
                              "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
    if (!mail_optional_id_valid (request->recipient_person_id))
        return tsr_call_fail (call, S_INVALID, "recipient_person_id must be empty or 1 to 64 "
                              "of [A-Za-z0-9._:-]");
    return S_OK;
}

tsr_status_t
mail_handle_prepare_shipment (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__PrepareShipmentRequest *request = (Tessera__V1__PrepareShipmentRequest *)
        tsr_call_unpack (call, &tessera__v1__prepare_shipment_request__descriptor, &status);
    if (!request)
        return status;
    Tessera__V1__Card *card = NULL;
    Tessera__V1__Person *holder = NULL, *recipient = NULL;
    PGresult *res = NULL;
    char operator_id [MAIL_ID_MAX + 1] = "", err [200] = "";
    if ((status = mail_prepare_shipment_check (call, request)) != S_OK
    ||  (status = mail_caller_operator (call, operator_id)) != S_OK
    ||  (status = s_card (call, request->card_uuid, &card)) != S_OK)
        goto done;
    if (mail_lock_card (call->db, card->card_uuid)) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot lock the card");
        goto done;
    }
    mail_shipment_t existing;
    int found = mail_shipment_load (call->db, "WHERE lower(s.card_uuid) = lower($1) AND s.kind = 1"
                                    " AND s.state <> 5", card->card_uuid, false, &existing, &res);
    if (found != 0) {
        status = found < 0 ? tsr_call_fail (call, S_UNAVAILABLE, "cannot read the shipments")
               : tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_ALREADY_EXISTS,
                                "card %s already has shipment %s under way", card->card_uuid,
                                existing.message.shipment_id);
        goto done;
    }
    if ((status = s_person (call, card->person_id, "holder", S_PRECONDITION, &holder)) != S_OK
    ||  (status = s_recipient (call, holder, request->recipient_person_id, &recipient)) != S_OK)
        goto done;
    mail_postal_t postal;
    if (!recipient) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "no recipient");
        goto done;
    }
    if (mail_postal_check (recipient, &postal, err, sizeof err)) {
        status = tsr_call_fail (call, S_PRECONDITION, "the recipient %s cannot be addressed: %s; "
                                "correct it at enrollment (UpdatePerson)", recipient->person_id,
                                err);
        goto done;
    }
    status = s_store (call, card, holder, recipient, &postal, operator_id);
done:
    PQclear (res);
    if (card)
        tessera__v1__card__free_unpacked (card, NULL);
    if (holder)
        tessera__v1__person__free_unpacked (holder, NULL);
    if (recipient)
        tessera__v1__person__free_unpacked (recipient, NULL);
    tessera__v1__prepare_shipment_request__free_unpacked (request, NULL);
    return status;
}
