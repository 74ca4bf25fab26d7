/*  ReleasePinMailer: the PIN mailer, printed once.

    Refused (FAILED_PRECONDITION) until 24 h after the card's registered
    mail was posted, by the service's clock, and while the card is not
    posted or came back; refused (ALREADY_EXISTS) once printed. Otherwise,
    in the request's transaction: the holder's name and address are read
    again and checked against the window, the PIN and the activation code
    perso sealed to mail are opened, the PDF is made, and the row keeps
    from then on only the PDF's SHA-256, who printed it and when (the
    sealed values are dropped). The method's reply is sent once and never
    stored (TSR_METHOD_SECRET_REPLY): a lost reply means a new activation
    code (perso's ReissueActivationCode), never a second copy.
*/
#include "mail_directory.h"
#include "mail_handlers.h"
#include "mail_pdf.h"
#include "mail_records.h"
#include "mail_shipments.h"
#include "mail_state.h"
#include "tessera/log.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_SECRET_MAX 64

//  Is it time? OK, or the refusal.
static tsr_status_t
s_releasable (tsr_call_t *call, const mail_shipment_t *pin_mailer)
{
    mail_state_t *state = call->state;
    const Tessera__V1__Shipment *message = &pin_mailer->message;
    if (message->state != MAIL_SHIPMENT_PREPARED)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_ALREADY_EXISTS,
                              "the PIN mailer of card %s was printed already (by %s): it is "
                              "produced once; if it is lost, have perso reissue the activation "
                              "code", message->card_uuid, message->printed_by_operator_id);
    if (!*message->card_shipment_id || pin_mailer->card_shipment_state < MAIL_SHIPMENT_POSTED
    ||  message->releasable_at_unix == 0)
        return tsr_call_fail (call, S_PRECONDITION, "card %s has not been posted yet: the PIN "
                              "mailer leaves at least 24 h after the card", message->card_uuid);
    int64_t now = mail_now (state);
    if (now < message->releasable_at_unix) {
        char when [32];
        mail_time_format (message->releasable_at_unix, when);
        int64_t left = message->releasable_at_unix - now;
        return tsr_call_fail (call, S_PRECONDITION, "too early: the PIN mailer of card %s may be "
                              "released from %s, 24 h after the card was posted (%lld h %lld min "
                              "from now)", message->card_uuid, when, (long long) (left / 3600),
                              (long long) (left % 3600 / 60));
    }
    return S_OK;
}

//  The holder's current name and address, fit for the window.
static tsr_status_t
s_holder (tsr_call_t *call, const char *person_id, Tessera__V1__Person **person_p,
          mail_postal_t *postal)
{
    mail_state_t *state = call->state;
    char message [160] = "", err [200] = "";
    tsr_status_t status = mail_directory_person (state->enrollment, call->request->trace_id,
                                                 person_id, person_p, message, sizeof message);
    if (status != S_OK)
        return mail_peer_status (status) == TESSERA__V1__STATUS__STATUS_NOT_FOUND
            ? tsr_call_fail (call, S_PRECONDITION, "enrollment knows no holder %s", person_id)
            : tsr_call_fail (call, S_UNAVAILABLE, "cannot read holder %s at enrollment "
                             "(%.120s); retry", person_id, message);
    if (mail_postal_check (*person_p, postal, err, sizeof err))
        return tsr_call_fail (call, S_PRECONDITION, "the holder %s cannot be addressed: %s; "
                              "correct it at enrollment (UpdatePerson)", person_id, err);
    return S_OK;
}

//  Opens the sealed values and makes the PDF.
static tsr_status_t
s_document (tsr_call_t *call, PGresult *sealed, const Tessera__V1__Person *holder,
            const mail_postal_t *postal, const char *card_uuid, uint8_t **pdf_p, size_t *size)
{
    mail_state_t *state = call->state;
    size_t pin_size = 0, code_size = 0;
    uint8_t *pin_sealed = PQgetisnull (sealed, 0, 0) ? NULL : PQunescapeBytea (
        (const unsigned char *) PQgetvalue (sealed, 0, 0), &pin_size);
    uint8_t *code_sealed = PQgetisnull (sealed, 0, 1) ? NULL : PQunescapeBytea (
        (const unsigned char *) PQgetvalue (sealed, 0, 1), &code_size);
    char *pin = NULL, *code = NULL;
    tsr_status_t status = S_OK;
    if (!code_sealed
    ||  (pin_sealed && mail_unseal_text (state->keys, pin_sealed, pin_size, S_SECRET_MAX, &pin))
    ||  mail_unseal_text (state->keys, code_sealed, code_size, S_SECRET_MAX, &code))
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "the PIN or the "
                                "activation code does not open with mail's key: have perso "
                                "reissue the activation code");
    else {
        char err [200] = "";
        const char *lines [MAIL_ADDRESS_LINES_MAX];
        size_t count = holder->postal_address->n_lines;
        for (size_t i = 0; i < count; i++)
            lines [i] = holder->postal_address->lines [i];
        mail_pdf_fields_t fields = {
            .language = holder->language, .recipient_name = postal->name,
            .address_lines = lines, .address_line_count = count,
            .postal_code = postal->postal_code, .city = postal->city,
            .country_code = postal->country_code, .card_uuid = card_uuid, .pin = pin,
            .activation_code = code, .sender = state->return_address,
        };
        if (mail_pdf_build (&fields, pdf_p, size, err, sizeof err))
            status = tsr_call_fail (call, S_PRECONDITION, "cannot make the PIN mailer: %s", err);
    }
    mail_unsealed_free (&pin);
    mail_unsealed_free (&code);
    if (pin_sealed)
        PQfreemem (pin_sealed);
    if (code_sealed)
        PQfreemem (code_sealed);
    return status;
}

//  Keeps only the digest, who and when; audit and event.
static tsr_status_t
s_record (tsr_call_t *call, const mail_shipment_t *pin_mailer, const mail_postal_t *postal,
          const char *sha256, const char *operator_id)
{
    mail_state_t *state = call->state;
    char now [24];
    int64_t at = mail_now (state);
    snprintf (now, sizeof now, "%lld", (long long) at);
    const char *values [] = { pin_mailer->message.shipment_id, sha256, operator_id, now,
                              postal->name, postal->lines, postal->postal_code, postal->city,
                              postal->country_code };
    PGresult *res = tsr_db_query (call->db,
        "UPDATE shipments SET state = 2, sealed_pin = NULL, sealed_activation_code = NULL,"
        " pdf_sha256 = $2, printed_by_operator_id = $3, printed_at = to_timestamp($4::bigint),"
        " recipient_name = $5, address_lines = string_to_array($6, E'\\n'), postal_code = $7,"
        " city = $8, country_code = $9 WHERE shipment_id = $1 AND state = 1", 9, values);
    PQclear (res);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "card_uuid", pin_mailer->message.card_uuid);
    tsr_json_str (json, "pdf_sha256", sha256);
    tsr_json_str (json, "printed_by_operator_id", operator_id);
    Tessera__V1__PinMailerReleased event = TESSERA__V1__PIN_MAILER_RELEASED__INIT;
    event.shipment_id = pin_mailer->message.shipment_id;
    event.card_uuid = pin_mailer->message.card_uuid;
    event.holder_person_id = pin_mailer->message.holder_person_id;
    event.pdf_sha256 = (char *) sha256;
    event.printed_by_operator_id = (char *) operator_id;
    event.printed_at_unix = at;
    if (!res
    ||  mail_audit (call->db, call->caller_key, "mail.pin_mailer_released",
                    pin_mailer->message.shipment_id, call->request->trace_id, &json)
    ||  mail_emit (call->db, "pin_mailer.released", pin_mailer->message.card_uuid,
                   call->request->trace_id, &event.base)) {
        tsr_json_destroy (&json);
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the release; retry");
    }
    return S_OK;
}

tsr_status_t
mail_handle_release_pin_mailer (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ReleasePinMailerRequest *request = (Tessera__V1__ReleasePinMailerRequest *)
        tsr_call_unpack (call, &tessera__v1__release_pin_mailer_request__descriptor, &status);
    if (!request)
        return status;
    PGresult *res = NULL, *sealed = NULL, *reread = NULL;
    Tessera__V1__Person *holder = NULL;
    uint8_t *pdf = NULL;
    size_t pdf_size = 0;
    char operator_id [MAIL_ID_MAX + 1] = "";
    mail_shipment_t pin_mailer;
    mail_postal_t postal;
    if (!mail_card_uuid_valid (request->card_uuid)) {
        status = tsr_call_fail (call, S_INVALID, "card_uuid must be a UUID "
                                "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
        goto done;
    }
    if ((status = mail_caller_operator (call, operator_id)) != S_OK)
        goto done;
    if (mail_lock_card (call->db, request->card_uuid)) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot lock the card");
        goto done;
    }
    int found = mail_shipment_load (call->db, "WHERE lower(s.card_uuid) = lower($1)"
                                    " AND s.kind = 2 AND NOT s.superseded ORDER BY s.seq DESC"
                                    " LIMIT 1", request->card_uuid, true, &pin_mailer, &res);
    if (found <= 0) {
        status = found < 0 ? tsr_call_fail (call, S_UNAVAILABLE, "cannot read the shipments")
               : tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND, "no PIN mailer for "
                                "card %s: perso's pin_mailer.ready has not reached mail",
                                request->card_uuid);
        goto done;
    }
    if ((status = s_releasable (call, &pin_mailer)) != S_OK
    ||  (status = s_holder (call, pin_mailer.message.holder_person_id, &holder, &postal)) != S_OK)
        goto done;
    const char *id [] = { pin_mailer.message.shipment_id };
    sealed = tsr_db_query (call->db, "SELECT sealed_pin, sealed_activation_code FROM shipments"
                                     " WHERE shipment_id = $1", 1, id);
    if (!sealed || PQntuples (sealed) != 1) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the PIN mailer");
        goto done;
    }
    if ((status = s_document (call, sealed, holder, &postal, pin_mailer.message.card_uuid, &pdf,
                              &pdf_size)) != S_OK)
        goto done;
    unsigned char digest [SHA256_DIGEST_LENGTH];
    char sha256 [65];
    SHA256 (pdf, pdf_size, digest);
    mail_hex (digest, sizeof digest, sha256);
    if ((status = s_record (call, &pin_mailer, &postal, sha256, operator_id)) != S_OK)
        goto done;
    if (mail_shipment_load (call->db, "WHERE s.shipment_id = $1", pin_mailer.message.shipment_id,
                            false, &pin_mailer, &reread) != 1) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the PIN mailer back");
        goto done;
    }
    Tessera__V1__PinMailerDocument reply = TESSERA__V1__PIN_MAILER_DOCUMENT__INIT;
    reply.shipment = &pin_mailer.message;
    reply.pdf.data = pdf;
    reply.pdf.len = pdf_size;
    reply.pdf_sha256 = sha256;
    status = tsr_call_reply (call, &reply.base, "PIN mailer released: print it now, it is not kept");
    tsr_log_info (call->request->trace_id, "mail.pin_mailer_released", "shipment_id",
                  pin_mailer.message.shipment_id, "pdf_sha256", sha256, NULL);
done:
    if (pdf) {
        OPENSSL_cleanse (pdf, pdf_size);
        free (pdf);
    }
    PQclear (res);
    PQclear (sealed);
    PQclear (reread);
    if (holder)
        tessera__v1__person__free_unpacked (holder, NULL);
    tessera__v1__release_pin_mailer_request__free_unpacked (request, NULL);
    return status;
}
