/*  ActivateCard (the portal, for a logged-in holder) and
    ReissueActivationCode (the activation-code operator).

    Activation releases the hold on the card's certificates at ca
    (RevokeCertificate with removeFromCRL), then the code is spent (its
    hash cleared) and the card becomes active. A wrong code answers
    STATUS_OK with activated = false: the failure is recorded and counts;
    at TSR_PERSO_ACTIVATION_MAX_FAILURES (5) activation locks until a new
    code is issued. A call for a card that is not the account's is refused
    like an unknown card, and audited.

    A card renewed on itself stays active with a new code: its activation
    releases the new certificates and supersedes the old ones
    (perso_renewal_supersede), names the renewal request in
    "card.activated", and its code, lost or locked, may be issued again.
*/
#include "perso_caller.h"
#include "perso_cards.h"
#include "perso_handlers.h"
#include "perso_input.h"
#include "perso_mailer.h"
#include "perso_records.h"
#include "perso_secrets.h"
#include "perso_renewal.h"
#include "perso_state.h"
#include "tessera/log.h"
#include "tessera/v1/ca.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND

static void
s_lower (const char *in, char out [37])
{
    size_t i = 0;
    for (; in [i] && i < 36; i++)
        out [i] = (char) (in [i] >= 'A' && in [i] <= 'F' ? in [i] + 32 : in [i]);
    out [i] = 0;
}

static tsr_status_t
s_reply (tsr_call_t *call, const char *uuid, bool activated, uint32_t attempts_left,
         const char *text)
{
    perso_card_view_t view;
    tsr_status_t status;
    if (perso_card_view_load (call->db, uuid, false, &view) != 1)
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the card back");
    else {
        Tessera__V1__ActivateCardReply reply = TESSERA__V1__ACTIVATE_CARD_REPLY__INIT;
        reply.activated = activated;
        reply.card = &view.message;
        reply.attempts_left = attempts_left;
        status = tsr_call_reply (call, &reply.base, text);
    }
    perso_card_view_release (&view);
    return status;
}

//  A wrong code: counted, perhaps locking.
static tsr_status_t
s_wrong_code (tsr_call_t *call, const perso_card_row_t *row, const char *client_address)
{
    perso_state_t *state = call->state;
    int failures = row->activation_failures + 1;
    bool lock = failures >= state->activation_max_failures;
    char failures_text [16];
    snprintf (failures_text, sizeof failures_text, "%d", failures);
    const char *values [] = { row->card_uuid, failures_text, lock ? "t" : "f" };
    PGresult *res = tsr_db_query (call->db,
        "UPDATE cards SET activation_failures = $2, activation_locked = $3, updated_at = now()"
        " WHERE card_uuid = $1", 3, values);
    PQclear (res);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_int (json, "failures", failures);
    tsr_json_bool (json, "locked", lock);
    tsr_json_str (json, "client_address", client_address);
    Tessera__V1__ActivationLocked event = TESSERA__V1__ACTIVATION_LOCKED__INIT;
    event.card_uuid = (char *) row->card_uuid;
    event.person_id = (char *) row->person_id;
    event.failures = (uint32_t) failures;
    if (!res || perso_audit (call->db, call->caller_key, "perso.activation_failed",
                             row->card_uuid, call->request->trace_id, &json)
    ||  (lock && perso_emit (call->db, "activation.locked", row->card_uuid,
                             call->request->trace_id, &event.base))) {
        tsr_json_destroy (&json);
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the attempt");
    }
    tsr_log_warn (call->request->trace_id, lock ? "perso.activation_locked"
                                                : "perso.activation_failed",
                  "card_uuid", row->card_uuid, "failures", failures_text, NULL);
    return s_reply (call, row->card_uuid, false,
                    lock ? 0 : (uint32_t) (state->activation_max_failures - failures),
                    lock ? "wrong activation code; activation is now locked"
                         : "wrong activation code");
}

//  Releases the hold on serial (already good: nothing to do).
static tsr_status_t
s_release (tsr_call_t *call, const char *serial)
{
    perso_state_t *state = call->state;
    char message [200] = "";
    Tessera__V1__GetStatusRequest ask = TESSERA__V1__GET_STATUS_REQUEST__INIT;
    ask.serial_hex = (char *) serial;
    Tessera__V1__CertificateStatus *now = NULL;
    tsr_status_t status = tsr_peer_call (state->ca, "GetStatus", &ask.base,
                                         &tessera__v1__certificate_status__descriptor,
                                         NULL, call->request->trace_id,
                                         (ProtobufCMessage **) &now, message, sizeof message);
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot ask ca about %s (%.120s); retry",
                              serial, message);
    Tessera__V1__CertificateState current = now->state;
    tessera__v1__certificate_status__free_unpacked (now, NULL);
    if (current == TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_GOOD)
        return S_OK;
    if (current != TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_ON_HOLD)
        return tsr_call_fail (call, S_PRECONDITION, "certificate %s is revoked or unknown at ca: "
                              "the card cannot be activated", serial);
    Tessera__V1__RevokeCertificateRequest request = TESSERA__V1__REVOKE_CERTIFICATE_REQUEST__INIT;
    request.serial_hex = (char *) serial;
    request.reason = TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_REMOVE_FROM_CRL;
    Tessera__V1__CertificateStatus *after = NULL;
    status = tsr_peer_call (state->ca, "RevokeCertificate", &request.base,
                            &tessera__v1__certificate_status__descriptor,
                            NULL, call->request->trace_id, (ProtobufCMessage **) &after,
                            message, sizeof message);
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE, "ca did not release the hold on %s (%.120s); "
                              "retry", serial, message);
    tessera__v1__certificate_status__free_unpacked (after, NULL);
    return S_OK;
}

static tsr_status_t
s_activate (tsr_call_t *call, const perso_card_row_t *row,
            const Tessera__V1__ActivateCardRequest *in)
{
    const char *values [] = { row->card_uuid };
    PGresult *certs = tsr_db_query (call->db,
        "SELECT serial_hex FROM card_certificates WHERE card_uuid = $1 ORDER BY slot", 1, values);
    if (!certs)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the card's certificates");
    size_t count = (size_t) PQntuples (certs);
    char **serials = calloc (count + 1, sizeof *serials);
    tsr_status_t status = serials ? S_OK : tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                                                          "out of memory");
    for (size_t i = 0; status == S_OK && i < count; i++) {
        serials [i] = PQgetvalue (certs, (int) i, 0);
        status = s_release (call, serials [i]);
    }
    //  A renewal's acceptance: the replaced certificates superseded.
    if (status == S_OK)
        status = perso_renewal_supersede (call, row->card_uuid);
    if (status != S_OK)
        goto done;
    //  The request the card answers now (a renewal's after a renewal):
    //  named in card.activated, for whoever follows the holder's acceptance.
    PGresult *request = tsr_db_query (call->db,
        "SELECT card_request_id FROM cards WHERE card_uuid = $1", 1, values);
    char card_request_id [PERSO_ID_MAX + 1] = "";
    bool request_read = request != NULL;
    if (request && PQntuples (request) == 1)
        snprintf (card_request_id, sizeof card_request_id, "%s", PQgetvalue (request, 0, 0));
    PQclear (request);
    PGresult *res = tsr_db_query (call->db,
        "UPDATE cards SET activation_code_hash = NULL, activation_failures = 0,"
        " activated_at = now(), updated_at = now() WHERE card_uuid = $1", 1, values);
    PQclear (res);
    perso_card_change_t change = { call->caller_key, "", "activated by the holder",
                                   call->request->trace_id };
    Tessera__V1__CardActivated event = TESSERA__V1__CARD_ACTIVATED__INIT;
    event.card_uuid = (char *) row->card_uuid;
    event.person_id = (char *) row->person_id;
    event.account_id = in->account_id;
    event.n_serials = count;
    event.serials = serials;
    event.activated_at_unix = tsr_now_ms () / 1000;
    event.client_address = in->client_address;
    event.user_agent = in->user_agent;
    event.card_request_id = card_request_id;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "account_id", in->account_id);
    tsr_json_str (json, "card_request_id", card_request_id);
    tsr_json_int (json, "certificates_released", (int64_t) count);
    tsr_json_str (json, "client_address", in->client_address);
    tsr_json_str (json, "user_agent", in->user_agent);
    if (!request_read || !res
    ||  (row->state != PERSO_CARD_ACTIVE
         && perso_card_apply (call->db, row, PERSO_CARD_ACTIVE, PERSO_BY_CARD_OPERATION, 0,
                              &change) != PERSO_TRANSITION_OK)
    ||  perso_emit (call->db, "card.activated", row->card_uuid, call->request->trace_id,
                    &event.base)
    ||  perso_audit (call->db, call->caller_key, "perso.card_activated", row->card_uuid,
                     call->request->trace_id, &json)) {
        tsr_json_destroy (&json);
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the activation");
        goto done;
    }
    tsr_log_info (call->request->trace_id, "perso.card_activated", "card_uuid", row->card_uuid,
                  NULL);
    status = s_reply (call, row->card_uuid, true, 0, "card activated; its certificates are good");
done:
    free (serials);
    PQclear (certs);
    return status;
}

//  Every bound of the request that needs no database.
tsr_status_t
perso_activate_card_check (tsr_call_t *call, const Tessera__V1__ActivateCardRequest *in)
{
    size_t code_size = strnlen (in->activation_code, PERSO_CODE_INPUT_MAX + 1);
    if (!perso_id_valid (in->account_id))
        return tsr_call_fail (call, S_INVALID, "account_id must be 1 to 64 of [A-Za-z0-9._:-]");
    if (!perso_uuid_valid (in->card_uuid))
        return tsr_call_fail (call, S_INVALID, "card_uuid must be a UUID (8-4-4-4-12 hex)");
    if (code_size < 1 || code_size > PERSO_CODE_INPUT_MAX)
        return tsr_call_fail (call, S_INVALID, "activation_code must be 1 to %d characters",
                              PERSO_CODE_INPUT_MAX);
    if (!perso_text_valid (in->client_address, 0, PERSO_CLIENT_ADDRESS_MAX)
    ||  !perso_text_valid (in->user_agent, 0, PERSO_USER_AGENT_MAX))
        return tsr_call_fail (call, S_INVALID, "client_address (64) and user_agent (256) must "
                              "be printable text");
    return S_OK;
}

tsr_status_t
perso_handle_activate_card (tsr_call_t *call)
{
    perso_state_t *state = call->state;
    tsr_status_t status;
    Tessera__V1__ActivateCardRequest *in = (Tessera__V1__ActivateCardRequest *) tsr_call_unpack (
        call, &tessera__v1__activate_card_request__descriptor, &status);
    if (!in)
        return status;
    status = S_OK;
    char uuid [37] = "", normalised [PERSO_CODE_CHARS + 1] = "";
    perso_card_row_t row;
    if ((status = perso_activate_card_check (call, in)) != S_OK)
        goto done;
    s_lower (in->card_uuid, uuid);
    int found = perso_card_row_load (call->db, uuid, true, &row);
    if (found < 0) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the card");
        goto done;
    }
    if (found == 0 || strcmp (row.account_id, in->account_id) != 0) {
        if (found) {
            tsr_json_t *json = tsr_json_new ();
            tsr_json_str (json, "account_id", in->account_id);
            tsr_json_str (json, "client_address", in->client_address);
            perso_refusal_record (call, "perso.activation_not_holder", uuid, &json);
        }
        status = tsr_call_fail (call, S_NOT_FOUND, "no card %s for account %s", uuid,
                                in->account_id);
        goto done;
    }
    if (row.state == PERSO_CARD_ACTIVE && !*row.activation_code_hash)
        status = tsr_call_fail (call, S_PRECONDITION, "card %s is active already", uuid);
    else
    if (row.state != PERSO_CARD_ACTIVE      //  active with a code: a renewal to accept
    &&  perso_card_transition_check (row.state, PERSO_CARD_ACTIVE, PERSO_BY_CARD_OPERATION, 0,
                                     row.suspended_from, NULL) != PERSO_TRANSITION_OK)
        status = tsr_call_fail (call, S_PRECONDITION, "card %s is %s: it cannot be activated",
                                uuid, perso_card_state_name (row.state));
    else
    if (row.activation_locked)
        status = tsr_call_fail (call, S_PRECONDITION, "activation of card %s is locked after %d "
                                "wrong codes: ask for a new activation code", uuid,
                                row.activation_failures);
    else
    if (!*row.activation_code_hash)
        status = tsr_call_fail (call, S_PRECONDITION, "card %s has no activation code", uuid);
    if (status != S_OK)
        goto done;
    if (!perso_code_normalise (in->activation_code, normalised)
    ||  !perso_code_verify (row.activation_code_hash, normalised))
        status = s_wrong_code (call, &row, in->client_address);
    else
        status = s_activate (call, &row, in);
done:
    sodium_memzero (normalised, sizeof normalised);
    (void) state;
    tessera__v1__activate_card_request__free_unpacked (in, NULL);
    return status;
}

tsr_status_t
perso_handle_reissue_code (tsr_call_t *call)
{
    perso_state_t *state = call->state;
    tsr_status_t status;
    Tessera__V1__ReissueActivationCodeRequest *in =
        (Tessera__V1__ReissueActivationCodeRequest *) tsr_call_unpack (
            call, &tessera__v1__reissue_activation_code_request__descriptor, &status);
    if (!in)
        return status;
    status = S_OK;
    char uuid [37] = "", err [256] = "";
    perso_card_row_t row;
    if (!perso_uuid_valid (in->card_uuid))
        status = tsr_call_fail (call, S_INVALID, "card_uuid must be a UUID (8-4-4-4-12 hex)");
    else
    if (!perso_text_valid (in->reason, 1, PERSO_REASON_MAX))
        status = tsr_call_fail (call, S_INVALID, "reason is required: 1 to 512 printable characters");
    if (status != S_OK)
        goto done;
    s_lower (in->card_uuid, uuid);
    int found = perso_card_row_load (call->db, uuid, true, &row);
    if (found != 1) {
        status = found == 0 ? tsr_call_fail (call, S_NOT_FOUND, "no card %s", uuid)
                            : tsr_call_fail (call, S_UNAVAILABLE, "cannot read the card");
        goto done;
    }
    //  Awaiting activation: a card not active yet, or an active card
    //  renewed on itself whose renewal's code is not used yet.
    bool renewal_pending = row.state == PERSO_CARD_ACTIVE && *row.activation_code_hash;
    if (!renewal_pending
    &&  perso_card_transition_check (row.state, PERSO_CARD_ACTIVE, PERSO_BY_CARD_OPERATION, 0,
                                     row.suspended_from, NULL) != PERSO_TRANSITION_OK) {
        status = tsr_call_fail (call, S_PRECONDITION, "card %s is %s: only a card awaiting "
                                "activation gets a new code", uuid,
                                perso_card_state_name (row.state));
        goto done;
    }
    const char *values [] = { uuid };
    PGresult *res = tsr_db_query (call->db,
        "SELECT card_request_id FROM cards WHERE card_uuid = $1", 1, values);
    char card_request_id [PERSO_ID_MAX + 1] = "";
    if (res && PQntuples (res) == 1)
        snprintf (card_request_id, sizeof card_request_id, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    perso_mailer_t mailer = { uuid, card_request_id, row.person_id, NULL, 0, true,
                              call->request->trace_id };
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "reason", in->reason);
    tsr_json_int (json, "failures_before", row.activation_failures);
    tsr_json_bool (json, "was_locked", row.activation_locked);
    if (!*card_request_id || perso_mailer_issue (state, call->db, &mailer, err, sizeof err)
    ||  perso_audit (call->db, call->caller_key, "perso.activation_code_reissued", uuid,
                     call->request->trace_id, &json)) {
        tsr_json_destroy (&json);
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot issue a new code: %s",
                                *err ? err : "database");
        goto done;
    }
    perso_card_view_t view;
    status = perso_card_view_load (call->db, uuid, false, &view) == 1
           ? tsr_call_reply (call, &view.message.base, "new activation code sent to mail")
           : tsr_call_fail (call, S_UNAVAILABLE, "cannot read the card back");
    perso_card_view_release (&view);
done:
    tessera__v1__reissue_activation_code_request__free_unpacked (in, NULL);
    return status;
}
