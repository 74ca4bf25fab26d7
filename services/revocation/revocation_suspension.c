/*  revocation_suspension: input, ids, requester, perso's card and ca's
    holds (see revocation_suspension.h).
*/
#include "revocation_suspension.h"
#include "revocation_checks.h"
#include "revocation_records.h"
#include "revocation_state.h"
#include "tessera/utf8.h"
#include "tessera/v1/ca.pb-c.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

tsr_status_t
revocation_suspension_check (tsr_call_t *call, const revocation_suspension_input_t *input,
                             char serials [][REVOCATION_SERIAL_HEX_MAX + 1],
                             char card_uuid [REVOCATION_UUID_MAX + 1])
{
    card_uuid [0] = 0;
    if (*input->card_uuid && input->serial_count)
        return tsr_call_fail (call, S_INVALID, "card_uuid and serials: name a card or "
                              "certificates, not both");
    if (*input->card_uuid) {
        if (!revocation_uuid_normalise (input->card_uuid, card_uuid))
            return tsr_call_fail (call, S_INVALID, "card_uuid must be a card's UUID "
                                  "(8-4-4-4-12 hex digits)");
    }
    else {
        long bad = revocation_serials_normalise (input->serials, input->serial_count, serials);
        if (bad == (long) input->serial_count)
            return tsr_call_fail (call, S_INVALID, "serials: name 1 to %d certificates, or a "
                                  "card_uuid", REVOCATION_SERIALS_MAX);
        if (bad >= 0)
            return tsr_call_fail (call, S_INVALID, "serials[%ld] must be a hex serial (2 to %d "
                                  "hex digits, an even count) named once", bad,
                                  REVOCATION_SERIAL_HEX_MAX);
    }
    if (!revocation_optional_id_valid (input->requester_person_id))
        return tsr_call_fail (call, S_INVALID, "requester_person_id must be empty (the operator "
                              "decides) or 1 to %d of [A-Za-z0-9._:-]", REVOCATION_ID_MAX);
    if (input->reason < 1 || input->reason > input->reason_max)
        return tsr_call_fail (call, S_INVALID, "reason must be one of the reason codes "
                              "(1 to %d)", input->reason_max);
    if (!tsr_text_valid (input->note, REVOCATION_NOTE_MAX))
        return tsr_call_fail (call, S_INVALID, "note is required: 1 to %d printable "
                              "characters, no space at either end", REVOCATION_NOTE_MAX);
    return S_OK;
}

void
revocation_suspension_id (tsr_call_t *call, const char *prefix, char id [REVOCATION_ID_MAX + 1])
{
    unsigned char digest [12];
    char hex [sizeof digest * 2 + 1];
    crypto_generichash_state hash;
    crypto_generichash_init (&hash, (const unsigned char *) prefix, strlen (prefix),
                             sizeof digest);
    crypto_generichash_update (&hash, (const unsigned char *) call->caller_key,
                               strlen (call->caller_key) + 1);
    crypto_generichash_update (&hash, (const unsigned char *) call->request->request_id,
                               strlen (call->request->request_id));
    crypto_generichash_final (&hash, digest, sizeof digest);
    sodium_bin2hex (hex, sizeof hex, digest, sizeof digest);
    snprintf (id, REVOCATION_ID_MAX + 1, "%s-%s", prefix, hex);
}

tsr_status_t
revocation_suspension_requester (tsr_call_t *call, const char *requester_id,
                                 const char *holder_id, int *role)
{
    *role = 0;
    if (!*requester_id)
        return S_OK;
    revocation_parties_t parties;
    tsr_status_t status = revocation_parties_check (call, requester_id, "requester_person_id",
                                                    holder_id, "holder", &parties);
    if (status == S_OK)
        *role = parties.requester_role;
    revocation_parties_release (&parties);
    return status;
}

tsr_status_t
revocation_card_get (tsr_call_t *call, const char *card_uuid, Tessera__V1__Card **card_p)
{
    revocation_state_t *state = call->state;
    Tessera__V1__GetCardRequest request = TESSERA__V1__GET_CARD_REQUEST__INIT;
    request.card_uuid = (char *) card_uuid;
    char message [160] = "";
    tsr_status_t status = tsr_peer_call (
        state->perso, "GetCard", &request.base, &tessera__v1__card__descriptor, NULL,
        call->request->trace_id, (ProtobufCMessage **) card_p, message, sizeof message);
    if (status == S_NOT_FOUND)
        return tsr_call_fail (call, S_NOT_FOUND, "card_uuid: perso knows no card %s", card_uuid);
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read card %s at perso (%.120s); "
                              "retry", card_uuid, message);
    Tessera__V1__Card *card = *card_p;
    if (strcmp (card->card_uuid, card_uuid) != 0 || !revocation_id_valid (card->person_id)
    ||  card->n_certificates > REVOCATION_SERIALS_MAX) {
        tessera__v1__card__free_unpacked (card, NULL);
        *card_p = NULL;
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                              "perso's card %s is not well formed", card_uuid);
    }
    return S_OK;
}

tsr_status_t
revocation_card_change (tsr_call_t *call, const char *card_uuid, int to_state, const char *what,
                        const char *id, const char *reason_name, const char *note,
                        const char *operator_id, const char *prefix, Tessera__V1__Card **card_p)
{
    revocation_state_t *state = call->state;
    char reason [512], request_id [TSR_REQUEST_ID_MAX + 1];
    revocation_card_reason (reason, sizeof reason, what, id, reason_name, note);
    snprintf (request_id, sizeof request_id, "%s-%s", prefix, id);
    Tessera__V1__ChangeCardStateRequest request = TESSERA__V1__CHANGE_CARD_STATE_REQUEST__INIT;
    request.card_uuid = (char *) card_uuid;
    request.to_state = (Tessera__V1__CardState) to_state;
    request.reason = reason;
    request.on_behalf_of_operator_id = (char *) operator_id;
    char message [200] = "";
    tsr_status_t status = tsr_peer_call (
        state->perso, "ChangeCardState", &request.base, &tessera__v1__card__descriptor,
        request_id, call->request->trace_id, (ProtobufCMessage **) card_p, message,
        sizeof message);
    if (status == S_OK)
        return S_OK;
    if (status == S_UNAVAILABLE)
        return tsr_call_fail (call, status, "card_uuid: perso did not answer (%.150s); retry "
                              "with the same request id", message);
    return tsr_call_fail (call, status, "card_uuid: perso refused: %.180s", message);
}

tsr_status_t
revocation_hold_call (tsr_call_t *call, const char *prefix, const char *id,
                      const char *serial_hex, int reason, int *state, char *message,
                      size_t message_size)
{
    revocation_state_t *self = call->state;
    Tessera__V1__RevokeCertificateRequest request = TESSERA__V1__REVOKE_CERTIFICATE_REQUEST__INIT;
    request.serial_hex = (char *) serial_hex;
    request.reason = (Tessera__V1__RevocationReason) reason;
    request.revocation_request_id = (char *) id;
    char request_id [TSR_REQUEST_ID_MAX + 1];
    snprintf (request_id, sizeof request_id, "%s-%s-%s", prefix, id, serial_hex);
    Tessera__V1__CertificateStatus *reply = NULL;
    tsr_status_t status = tsr_peer_call (
        self->ca, "RevokeCertificate", &request.base, &tessera__v1__certificate_status__descriptor,
        request_id, call->request->trace_id, (ProtobufCMessage **) &reply, message, message_size);
    *state = 0;
    if (status == S_OK) {
        *state = (int) reply->state;
        tessera__v1__certificate_status__free_unpacked (reply, NULL);
    }
    return status;
}

int
revocation_ca_state (tsr_call_t *call, const char *serial_hex)
{
    revocation_state_t *self = call->state;
    Tessera__V1__GetStatusRequest request = TESSERA__V1__GET_STATUS_REQUEST__INIT;
    request.serial_hex = (char *) serial_hex;
    Tessera__V1__CertificateStatus *reply = NULL;
    char message [160];
    if (tsr_peer_call (self->ca, "GetStatus", &request.base,
                       &tessera__v1__certificate_status__descriptor, NULL,
                       call->request->trace_id, (ProtobufCMessage **) &reply, message,
                       sizeof message) != S_OK)
        return 0;
    int state = (int) reply->state;
    tessera__v1__certificate_status__free_unpacked (reply, NULL);
    return state;
}

void *
revocation_suspension_open (tsr_call_t *call, const revocation_suspension_input_t *input,
                            const char *prefix, size_t size, tsr_status_t *status)
{
    revocation_suspension_head_t *head = calloc (1, size);
    if (!head) {
        *status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
        return NULL;
    }
    *status = revocation_suspension_check (call, input, head->serials, head->card_uuid);
    if (*status == S_OK)
        *status = revocation_caller_operator (call, head->operator_id);
    if (*status != S_OK) {
        free (head);
        return NULL;
    }
    revocation_suspension_id (call, prefix, head->id);
    head->count = *head->card_uuid ? 0 : input->serial_count;
    return head;
}

int
revocation_suspension_log (tsr_call_t *call, const revocation_suspension_step_t *step)
{
    char *serials_json = tsr_json_string_array (step->serials, step->count);
    if (!serials_json)
        return -1;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "holder_person_id", step->holder_id);
    tsr_json_str (json, "requester_person_id", step->requester_id);
    tsr_json_int (json, "requester_role", step->requester_role);
    tsr_json_str (json, "card_uuid", step->card_uuid);
    tsr_json_int (json, "card_previous_state", step->card_state);
    tsr_json_raw (json, "serials", serials_json);
    if (step->resume_id)
        tsr_json_str (json, "resume_id", step->resume_id);
    tsr_json_str (json, "reason", step->reason_name);
    tsr_json_str (json, "note", step->note);
    tsr_json_str (json, "operator_id", step->operator_id);
    free (serials_json);
    Tessera__V1__SuspensionChanged change = TESSERA__V1__SUSPENSION_CHANGED__INIT;
    change.suspension_id = (char *) step->suspension_id;
    change.state = (Tessera__V1__SuspensionState) step->state;
    change.holder_person_id = (char *) step->holder_id;
    change.requester_person_id = (char *) step->requester_id;
    change.card_uuid = (char *) step->card_uuid;
    change.serials = (char **) step->serials;
    change.n_serials = step->count;
    change.reason = (uint32_t) step->reason;
    change.note = (char *) step->note;
    change.operator_id = (char *) step->operator_id;
    return revocation_audit (call->db, call->caller_key, step->action, step->suspension_id,
                             call->request->trace_id, &json)
        || revocation_emit (call->db, step->event, step->suspension_id, call->request->trace_id,
                            &change.base) ? -1 : 0;
}

tsr_status_t
revocation_suspension_finish (tsr_call_t *call, const revocation_suspension_step_t *step,
                              const char *text)
{
    if (revocation_suspension_log (call, step))
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the %s",
                              step->resume_id ? "resume" : "suspension");
    return revocation_suspension_reply (call, step->suspension_id, text);
}

const char *
revocation_suspension_reason_name (int reason)
{
    static const char *names [] = { "?", "card-mislaid", "suspected-misuse", "leave-of-absence",
                                    "investigation", "holder-request", "other" };
    return reason >= 1 && reason <= 6 ? names [reason] : names [0];
}

const char *
revocation_resume_reason_name (int reason)
{
    static const char *names [] = { "?", "card-found", "cleared", "holder-returned",
                                    "holder-request", "other" };
    return reason >= 1 && reason <= 5 ? names [reason] : names [0];
}

void
revocation_card_reason (char *out, size_t size, const char *what, const char *id,
                        const char *reason_name, const char *note)
{
    //  perso takes 512 characters: 400 bytes of the note leave room.
    int head = snprintf (out, size, "%s %s (%s): ", what, id, reason_name);
    if (head < 0 || (size_t) head >= size)
        return;
    size_t room = size - (size_t) head - 1, length = strlen (note);
    if (room > 400)
        room = 400;
    if (length > room) {
        length = room;
        while (length > 0 && ((unsigned char) note [length] & 0xC0) == 0x80)
            length--;       //  not inside a UTF-8 sequence
    }
    memcpy (out + head, note, length);
    out [(size_t) head + length] = 0;
}
