/*  RevokeOnline: the holder, logged in on the portal, revokes their own
    certificates at once.

    The portal (a service key) calls after validation's Login, with the
    holder's account id. The account must be active (not locked, not
    waiting for a first password): validation's GetHolderAccount says so
    and gives the person. Each certificate must be the holder's. There is
    no operator decision: ca is asked first, then the request is recorded
    approved (the holder decided) and, when ca revoked every certificate,
    applied and archived, all in the same call. Should ca not answer, the
    request stays approved and the timer applies it as soon as ca does; the
    reply says so.
*/
#include "revocation_apply.h"
#include "revocation_checks.h"
#include "revocation_handlers.h"
#include "revocation_policy.h"
#include "revocation_records.h"
#include "revocation_request_input.h"
#include "revocation_state.h"
#include "revocation_store.h"
#include "tessera/v1/validation.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

//  The holder's account, active, and its person id.
static tsr_status_t
s_account (tsr_call_t *call, const char *account_id, char person_id [REVOCATION_ID_MAX + 1])
{
    revocation_state_t *state = call->state;
    Tessera__V1__GetHolderAccountRequest request = TESSERA__V1__GET_HOLDER_ACCOUNT_REQUEST__INIT;
    request.account_id = (char *) account_id;
    Tessera__V1__HolderAccount *account = NULL;
    char message [160] = "";
    tsr_status_t status = tsr_peer_call (
        state->validation, "GetHolderAccount", &request.base,
        &tessera__v1__holder_account__descriptor, NULL, call->request->trace_id,
        (ProtobufCMessage **) &account, message, sizeof message);
    if (status == S_NOT_FOUND || status == S_INVALID)
        return tsr_call_fail (call, S_NOT_FOUND, "account_id: no holder account %s", account_id);
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the holder account at validation "
                              "(%.120s); retry", message);
    if (account->state != TESSERA__V1__HOLDER_ACCOUNT_STATE__HOLDER_ACCOUNT_STATE_ACTIVE)
        status = tsr_call_fail (call, S_PRECONDITION, "account_id: holder account %s is not "
                                "active (locked, disabled, or its password not set yet)",
                                account_id);
    else
    if (!revocation_id_valid (account->person_id))
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                                "validation's account %s is not well formed", account_id);
    else
        snprintf (person_id, REVOCATION_ID_MAX + 1, "%s", account->person_id);
    tessera__v1__holder_account__free_unpacked (account, NULL);
    return status;
}

//  Every bound of the request that needs no other service.
tsr_status_t
revocation_online_check (tsr_call_t *call, const Tessera__V1__RevokeOnlineRequest *request,
                         char serials [][REVOCATION_SERIAL_HEX_MAX + 1],
                         char card_uuid [REVOCATION_UUID_MAX + 1])
{
    revocation_common_t common = {
        .card_uuid = request->card_uuid, .serials = request->serials,
        .serial_count = request->n_serials, .reason = request->reason,
        .statement = request->statement,
        .requester_role = TESSERA__V1__PERSON_ROLE__PERSON_ROLE_UNSPECIFIED };
    if (!revocation_id_valid (request->account_id))
        return tsr_call_fail (call, S_INVALID, "account_id must be 1 to %d of [A-Za-z0-9._:-]",
                              REVOCATION_ID_MAX);
    if (!revocation_text_valid (request->client_address, 0, REVOCATION_CLIENT_ADDRESS_MAX)
    ||  !revocation_text_valid (request->user_agent, 0, REVOCATION_USER_AGENT_MAX))
        return tsr_call_fail (call, S_INVALID, "client_address (at most %d) and user_agent (at "
                              "most %d) must be printable characters",
                              REVOCATION_CLIENT_ADDRESS_MAX, REVOCATION_USER_AGENT_MAX);
    return revocation_common_check (call, &common, REVOCATION_CHANNEL_ONLINE, serials, card_uuid);
}

//  The holder's own decision, and what ca answered (asked already).
static tsr_status_t
s_approved (tsr_call_t *call, const revocation_apply_t *apply, const char **text)
{
    revocation_state_t *state = call->state;
    const char *trace_id = call->request->trace_id;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "decided_by", "the holder, online");
    tsr_json_int (json, "reason", apply->reason);
    if (revocation_audit (call->db, call->caller_key, "revocation.approved",
                          apply->revocation_id, trace_id, &json)
    ||  revocation_emit_change (call->db, "revocation.approved", trace_id, apply->revocation_id)) {
        tsr_json_destroy (&json);
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the revocation request");
    }
    int applied = revocation_apply_record (state, call->db, apply, call->caller_key, trace_id);
    if (applied < 0)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the revocation");
    *text = applied ? "revoked"
                    : "recorded; ca did not take it yet and it will be applied as soon as ca does";
    return S_OK;
}

tsr_status_t
revocation_handle_revoke_online (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__RevokeOnlineRequest *request = (Tessera__V1__RevokeOnlineRequest *) tsr_call_unpack (
        call, &tessera__v1__revoke_online_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    char serials [REVOCATION_SERIALS_MAX][REVOCATION_SERIAL_HEX_MAX + 1];
    char card_uuid [REVOCATION_UUID_MAX + 1];
    size_t count = request->n_serials;
    int levels [REVOCATION_SERIALS_MAX];
    char person_id [REVOCATION_ID_MAX + 1];
    revocation_apply_t apply;
    memset (&apply, 0, sizeof apply);
    revocation_parties_t parties;
    memset (&parties, 0, sizeof parties);
    int level = 0;
    const char *text = "revoked";
    tsr_status_t status;
    if ((status = revocation_online_check (call, request, serials, card_uuid)) != S_OK
    ||  (status = s_account (call, request->account_id, person_id)) != S_OK
    ||  (status = revocation_parties_check (call, person_id, "account_id", "", "account_id",
                                            &parties)) != S_OK
    ||  (status = revocation_request_certificates (call, card_uuid, person_id, serials, &count,
                                                   levels, &level)) != S_OK
    ||  (status = revocation_open_check (call, serials, count)) != S_OK)
        goto done;
    //  ca first, before this transaction writes (revocation_apply.h).
    revocation_new_id (apply.revocation_id);
    apply.reason = (int) request->reason;
    apply.count = count;
    memcpy (apply.serials, serials, sizeof apply.serials);
    revocation_apply_ask (call->state, &apply, call->request->trace_id);
    revocation_new_t record = {
        .channel = REVOCATION_CHANNEL_ONLINE, .requester_role = REVOCATION_ROLE_HOLDER,
        .requester_person_id = person_id, .holder_person_id = person_id,
        .organisation_id = parties.holder->organisation_id,
        .requested_reason = (int) request->reason, .level = level,
        .statement = request->statement, .card_uuid = card_uuid, .serials = serials,
        .levels = levels, .serial_count = count, .recorded_by_operator_id = "",
        .account_id = request->account_id, .client_address = request->client_address,
        .user_agent = request->user_agent };
    if ((status = revocation_store (call, &record, apply.revocation_id)) != S_OK
    ||  (status = s_approved (call, &apply, &text)) != S_OK)
        goto done;
    status = revocation_reply_record (call, apply.revocation_id, text);
done:
    revocation_parties_release (&parties);
    tessera__v1__revoke_online_request__free_unpacked (request, NULL);
    return status;
}
