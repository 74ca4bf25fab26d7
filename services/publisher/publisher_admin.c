/*  PublishNow and GetPublicationStatus: an operator's publication outside
    the schedule, and what the publisher is doing.

    PublishNow hands the publication to the scheduler thread (the only one
    that publishes) and waits for it; each CRL is audited in the
    publication's transaction ("publisher.crl_published"), then the request
    in the handler's ("publisher.publish_now", with the reason).
*/
#include "publisher_handlers.h"
#include "publisher_schedule.h"

#include "tessera/audit.h"
#include "tessera/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_REASON_MAX 256
#define S_PUBLISH_TIMEOUT_MS 30000

tsr_status_t
publisher_handle_publish_now (tsr_call_t *call)
{
    publisher_state_t *state = call->state;
    tsr_status_t unpack_status;
    Tessera__V1__PublishNowRequest *request = (Tessera__V1__PublishNowRequest *) tsr_call_unpack (
        call, &tessera__v1__publish_now_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status;
    char sha256 [65], current [65];
    bool delta_only = request->kind == TESSERA__V1__CRL_KIND__CRL_KIND_DELTA;
    if ((!delta_only && request->kind != TESSERA__V1__CRL_KIND__CRL_KIND_UNSPECIFIED
                     && request->kind != TESSERA__V1__CRL_KIND__CRL_KIND_FULL)
    ||  strlen (request->reason) > S_REASON_MAX || strlen (request->issuer) > 64) {
        status = tsr_call_fail (call, S_INVALID, "kind must be full or delta, the reason at most "
                                "256 bytes, the issuer at most 64");
        goto done;
    }
    //  Only the current issuing CA is signed for by the ca.
    pthread_mutex_lock (&state->lock);
    snprintf (current, sizeof current, "%s", state->view.issuer_sha256);
    pthread_mutex_unlock (&state->lock);
    int found = publisher_store_issuer_resolve (call->db, request->issuer, sha256);
    if (found < 0) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the issuers");
        goto done;
    }
    if (found == 0) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                "no issuer \"%s\" (is the ca's key ceremony done?)",
                                request->issuer [0] ? request->issuer : PUBLISHER_CURRENT_NAME);
        goto done;
    }
    if (strcmp (sha256, current) != 0) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION,
                                "only the current issuing CA's CRLs can be published");
        goto done;
    }
    publisher_crl_row_t rows [2];
    size_t count = 0;
    char message [256] = "";
    status = publisher_scheduler_publish_now (state->scheduler, !delta_only, call->caller_key,
                                              call->request->trace_id, S_PUBLISH_TIMEOUT_MS, rows,
                                              &count, message, sizeof message);
    if (status != TESSERA__V1__STATUS__STATUS_OK) {
        status = tsr_call_fail (call, status, "%s", message);
        goto done;
    }
    //  Audited after the publication, whose own transaction appends to the
    //  same chain: appending first would hold the chain's head while the
    //  scheduler waits for it.
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "kind", delta_only ? "delta" : "full");
    tsr_json_str (json, "reason", request->reason);
    tsr_json_int (json, "crl_number", (int64_t) rows [0].number);
    if (!json || tsr_audit_append_json (call->db, call->caller_key, "publisher.publish_now",
                                        sha256, call->request->trace_id, &json)) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the request");
        goto done;
    }
    Tessera__V1__CrlInfo infos [2], *list [2];
    publisher_crl_info_text_t texts [2];
    for (size_t i = 0; i < count; i++) {
        publisher_crl_info (state, &rows [i], &infos [i], &texts [i]);
        list [i] = &infos [i];
    }
    Tessera__V1__PublishNowReply reply = TESSERA__V1__PUBLISH_NOW_REPLY__INIT;
    reply.n_crls = count;
    reply.crls = list;
    status = tsr_call_reply (call, &reply.base, "published");
done:
    tessera__v1__publish_now_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
publisher_handle_status (tsr_call_t *call)
{
    publisher_state_t *state = call->state;
    tsr_status_t unpack_status;
    ProtobufCMessage *request = tsr_call_unpack (
        call, &tessera__v1__get_publication_status_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    protobuf_c_message_free_unpacked (request, NULL);
    publisher_view_t view;
    publisher_state_view (state, &view);
    Tessera__V1__PublicationStatus reply = TESSERA__V1__PUBLICATION_STATUS__INIT;
    pthread_mutex_lock (&state->lock);
    reply.ca_event_seq = state->ca_event_seq;
    reply.ca_event_applied_at_unix_ms = state->ca_event_applied_ms;
    pthread_mutex_unlock (&state->lock);
    if (!reply.ca_event_seq)
        publisher_store_event_seq (call->db, &reply.ca_event_seq);
    reply.ready = view.ready;
    reply.not_ready_reason = view.not_ready_reason;

    Tessera__V1__IssuerPublication issuer = TESSERA__V1__ISSUER_PUBLICATION__INIT;
    Tessera__V1__IssuerPublication *issuers [1] = { &issuer };
    Tessera__V1__OcspResponderStatus ocsp = TESSERA__V1__OCSP_RESPONDER_STATUS__INIT;
    Tessera__V1__CrlInfo full_info, delta_info;
    publisher_crl_info_text_t full_text, delta_text;
    publisher_crl_row_t full, delta;
    publisher_responder_info_t responder;
    char ca_url [320], ocsp_url [320], name [PUBLISHER_NAME_SIZE];
    if (view.issuer_sha256 [0]) {
        int have_full = publisher_store_crl_get (call->db, view.issuer_sha256, false, 0, &full, NULL, NULL);
        int have_delta = publisher_store_crl_get (call->db, view.issuer_sha256, true, 0, &delta, NULL, NULL);
        if (have_full < 0 || have_delta < 0)
            return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the published CRLs");
        snprintf (name, sizeof name, "%s", PUBLISHER_CURRENT_NAME);
        issuer.issuer = name;
        issuer.issuer_sha256 = view.issuer_sha256;
        if (have_full) {
            publisher_crl_info (state, &full, &full_info, &full_text);
            issuer.latest_full = &full_info;
        }
        //  A delta older than the full CRL is not "since the full".
        if (have_delta && (!have_full || delta.number > full.number)) {
            publisher_crl_info (state, &delta, &delta_info, &delta_text);
            issuer.latest_delta = &delta_info;
        }
        issuer.next_full_due_unix = view.next_full_due_ms / 1000;
        issuer.next_delta_due_unix = view.next_delta_due_ms / 1000;
        issuer.revocation_pending_since_unix_ms = view.pending_since_ms;
        issuer.coalesce_delay_ms = (uint32_t) state->coalesce_ms;
        issuer.last_publication_delay_ms = view.last_publication_delay_ms;
        issuer.publication_late = view.late;
        issuer.late_reason = view.late_reason;
        issuer.interval_s = (uint32_t) state->interval_s;
        issuer.alert_s = (uint32_t) state->alert_s;
        publisher_state_url (state, "/ca/issuing.crt", ca_url, sizeof ca_url);
        publisher_state_url (state, "/ocsp", ocsp_url, sizeof ocsp_url);
        issuer.ca_certificate_url = ca_url;
        ocsp.url = ocsp_url;
        if (publisher_responder_info (state->responder, &responder) == 0) {
            ocsp.responder_serial_hex = responder.serial_hex;
            ocsp.responder_not_after_unix = responder.not_after;
            ocsp.responder_sha256 = responder.sha256;
            ocsp.renew_after_unix = responder.renew_after;
        }
        ocsp.requests_served = (uint64_t) atomic_load (&state->ocsp_requests);
        ocsp.malformed_requests = (uint64_t) atomic_load (&state->ocsp_malformed);
        issuer.ocsp = &ocsp;
        reply.n_issuers = 1;
        reply.issuers = issuers;
    }
    return tsr_call_reply (call, &reply.base, view.ready ? "ready" : view.not_ready_reason);
}
