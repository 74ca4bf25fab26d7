/*  RecordPaperRevocation: a signed revocation form received by post,
    recorded by the revocation operator, who compared its handwritten
    signature with the one on a document of the requester's dossier.

    Without that check (signature_matches false) the form is refused, and
    the refusal is kept on record. The reference document must be in the
    requester's current dossier at enrollment, not withdrawn, and signed by
    the requester. The form's scan is kept only as its SHA-256, once: the
    same scan is not recorded twice. The deadline runs from the day the
    form was received (form_received_unix), not from its recording.
*/
#include "revocation_checks.h"
#include "revocation_handlers.h"
#include "revocation_policy.h"
#include "revocation_records.h"
#include "revocation_refusal.h"
#include "revocation_request_input.h"
#include "revocation_state.h"
#include "revocation_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
//  A form dated in the future by more than clock skew, or received more
//  than a year ago, is a typing error.
#define S_SKEW_S 300
#define S_OLDEST_S (366L * 86400)

//  The paper-only fields.
static tsr_status_t
s_check_paper (tsr_call_t *call, const Tessera__V1__RecordPaperRevocationRequest *request,
               char form_sha256 [65])
{
    int64_t now = (int64_t) time (NULL);
    if (!revocation_id_valid (request->requester_person_id)
    ||  !revocation_optional_id_valid (request->holder_person_id))
        return tsr_call_fail (call, S_INVALID, "requester_person_id (and holder_person_id when "
                              "given) must be 1 to %d of [A-Za-z0-9._:-]", REVOCATION_ID_MAX);
    if (!revocation_sha256_normalise (request->form_sha256, form_sha256))
        return tsr_call_fail (call, S_INVALID, "form_sha256 must be the scan's SHA-256: 64 hex "
                              "digits");
    if (request->form_received_unix <= now - S_OLDEST_S
    ||  request->form_received_unix > now + S_SKEW_S)
        return tsr_call_fail (call, S_INVALID, "form_received_unix must be the day the form was "
                              "received: within the last year, not in the future");
    if (!revocation_id_valid (request->reference_document_id))
        return tsr_call_fail (call, S_INVALID, "reference_document_id must name the dossier "
                              "document whose signature was compared (1 to %d of "
                              "[A-Za-z0-9._:-])", REVOCATION_ID_MAX);
    return S_OK;
}

//  Every bound of the request that needs no other service: the paper-only
//  fields, then those the channels share.
tsr_status_t
revocation_paper_check (tsr_call_t *call, const Tessera__V1__RecordPaperRevocationRequest *request,
                        char form_sha256 [65], char serials [][REVOCATION_SERIAL_HEX_MAX + 1],
                        char card_uuid [REVOCATION_UUID_MAX + 1])
{
    revocation_common_t common = {
        .card_uuid = request->card_uuid, .serials = request->serials,
        .serial_count = request->n_serials, .reason = request->reason,
        .statement = request->statement, .requester_role = request->requester_role };
    tsr_status_t status = s_check_paper (call, request, form_sha256);
    return status != S_OK ? status
                          : revocation_common_check (call, &common, REVOCATION_CHANNEL_PAPER,
                                                     serials, card_uuid);
}

//  Refused, and kept on record: nobody checked the signature.
static tsr_status_t
s_refuse_unchecked (tsr_call_t *call, const Tessera__V1__RecordPaperRevocationRequest *request,
                    const char *form_sha256)
{
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "requester_person_id", request->requester_person_id);
    tsr_json_str (json, "holder_person_id", request->holder_person_id);
    tsr_json_str (json, "form_sha256", form_sha256);
    return revocation_refuse (call, S_PRECONDITION, "signature_not_checked",
                              *request->holder_person_id ? request->holder_person_id
                                                         : request->requester_person_id, &json,
                              "signature_matches: a paper form is recorded only once the "
                              "handwritten signature was checked against the dossier's");
}

//  The reference document: in the requester's current dossier, not
//  withdrawn, signed by them.
static tsr_status_t
s_check_reference (tsr_call_t *call, const Tessera__V1__Person *requester,
                   const char *document_id)
{
    revocation_state_t *state = call->state;
    if (!*requester->dossier_id)
        return tsr_call_fail (call, S_PRECONDITION, "reference_document_id: person %s has no "
                              "dossier at enrollment", requester->person_id);
    Tessera__V1__GetDossierRequest get = TESSERA__V1__GET_DOSSIER_REQUEST__INIT;
    get.dossier_id = requester->dossier_id;
    Tessera__V1__Dossier *dossier = NULL;
    char message [160] = "";
    tsr_status_t status = tsr_peer_call (
        state->enrollment, "GetDossier", &get.base, &tessera__v1__dossier__descriptor, NULL,
        call->request->trace_id, (ProtobufCMessage **) &dossier, message, sizeof message);
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read dossier %s at enrollment "
                              "(%.120s); retry", requester->dossier_id, message);
    const Tessera__V1__Document *found = NULL;
    for (size_t i = 0; i < dossier->n_documents; i++)
        if (strcmp (dossier->documents [i]->document_id, document_id) == 0)
            found = dossier->documents [i];
    bool signed_by = false;
    for (size_t i = 0; found && i < found->n_signed_by; i++)
        signed_by = signed_by || strcmp (found->signed_by [i], requester->person_id) == 0;
    if (strcmp (dossier->person_id, requester->person_id) != 0 || !found)
        status = tsr_call_fail (call, S_PRECONDITION, "reference_document_id: %s is not a "
                                "document of %s's dossier %s", document_id, requester->person_id,
                                requester->dossier_id);
    else
    if (found->withdrawn)
        status = tsr_call_fail (call, S_PRECONDITION, "reference_document_id: document %s was "
                                "withdrawn from the dossier", document_id);
    else
    if (!signed_by)
        status = tsr_call_fail (call, S_PRECONDITION, "reference_document_id: document %s is not "
                                "signed by %s, so holds no signature of theirs to compare",
                                document_id, requester->person_id);
    tessera__v1__dossier__free_unpacked (dossier, NULL);
    return status;
}

tsr_status_t
revocation_handle_record_paper (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__RecordPaperRevocationRequest *request =
        (Tessera__V1__RecordPaperRevocationRequest *) tsr_call_unpack (
            call, &tessera__v1__record_paper_revocation_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    char serials [REVOCATION_SERIALS_MAX][REVOCATION_SERIAL_HEX_MAX + 1];
    char card_uuid [REVOCATION_UUID_MAX + 1];
    size_t count = request->n_serials;
    int levels [REVOCATION_SERIALS_MAX];
    char operator_id [REVOCATION_ID_MAX + 1], revocation_id [REVOCATION_ID_MAX + 1];
    char form_sha256 [65];
    revocation_parties_t parties;
    memset (&parties, 0, sizeof parties);
    int level = 0;
    tsr_status_t status;
    if ((status = revocation_paper_check (call, request, form_sha256, serials, card_uuid)) != S_OK)
        goto done;
    if (!request->signature_matches) {
        status = s_refuse_unchecked (call, request, form_sha256);
        goto done;
    }
    if ((status = revocation_caller_operator (call, operator_id)) != S_OK
    ||  (status = revocation_parties_check (call, request->requester_person_id,
                                            "requester_person_id", request->holder_person_id,
                                            "holder_person_id", &parties)) != S_OK
    ||  (status = revocation_claimed_role_check (call, request->requester_role,
                                                 parties.requester_role)) != S_OK
    ||  (status = s_check_reference (call, parties.requester, request->reference_document_id))
            != S_OK
    ||  (status = revocation_request_certificates (call, card_uuid, parties.holder->person_id,
                                                   serials, &count, levels, &level)) != S_OK
    ||  (status = revocation_open_check (call, serials, count)) != S_OK)
        goto done;
    revocation_new_t record = {
        .channel = REVOCATION_CHANNEL_PAPER, .requester_role = parties.requester_role,
        .requester_person_id = parties.requester->person_id,
        .holder_person_id = parties.holder->person_id,
        .organisation_id = parties.holder->organisation_id,
        .requested_reason = (int) request->reason, .level = level,
        .statement = request->statement, .card_uuid = card_uuid, .serials = serials,
        .levels = levels, .serial_count = count, .recorded_by_operator_id = operator_id,
        .form_sha256 = form_sha256, .form_received_unix = request->form_received_unix,
        .reference_document_id = request->reference_document_id };
    revocation_new_id (revocation_id);
    if ((status = revocation_store (call, &record, revocation_id)) == S_OK)
        status = revocation_reply_record (call, revocation_id, "recorded: awaiting the "
                                          "revocation operator's decision");
done:
    revocation_parties_release (&parties);
    tessera__v1__record_paper_revocation_request__free_unpacked (request, NULL);
    return status;
}
