/*  perso_software: level * requests and their certificates (see
    perso_software.h).
*/
#include "perso_software.h"
#include "perso_input.h"
#include "perso_records.h"
#include "perso_state.h"
#include "tessera/log.h"
#include "tessera/roles.h"

#include <stdio.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

tsr_status_t
perso_software_load (tsr_call_t *call, const char *card_request_id, const char *account_id,
                     perso_software_t *software)
{
    memset (software, 0, sizeof *software);
    bool service = (call->caller_roles & TSR_ROLE_SERVICE) != 0;
    if (service && !*account_id)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT,
                              "account_id is required from the portal");
    tsr_status_t status = perso_fetch_request (call, card_request_id, &software->request);
    if (status != S_OK
    ||  (status = perso_request_usable (call, software->request, true)) != S_OK)
        return status;
    if (*account_id) {
        char holder_account [PERSO_ID_MAX + 1] = "";
        if ((status = perso_fetch_account (call, card_request_id, holder_account)) != S_OK)
            return status;
        if (strcmp (holder_account, account_id) != 0) {
            tsr_json_t *json = tsr_json_new ();
            tsr_json_str (json, "account_id", account_id);
            perso_refusal_record (call, "perso.software_not_holder", card_request_id, &json);
            return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                  "no card request %s for account %s", card_request_id,
                                  account_id);
        }
    }
    return perso_fetch_subject (call, software->request, &software->subject);
}

void
perso_software_release (perso_software_t *software)
{
    if (software->request)
        tessera__v1__card_request__free_unpacked (software->request, NULL);
    memset (software, 0, sizeof *software);
}

bool
perso_software_use_allowed (const perso_software_t *software, int use)
{
    for (size_t i = 0; i < software->request->n_uses; i++)
        if ((int) software->request->uses [i] == use)
            return true;
    return false;
}

tsr_status_t
perso_software_issue (tsr_call_t *call, const perso_software_t *software, const uint8_t *csr_der,
                      size_t csr_size, int use, bool key_made_by_perso,
                      Tessera__V1__CertificateRecord **record_p)
{
    perso_state_t *state = call->state;
    const Tessera__V1__CardRequest *request = software->request;
    Tessera__V1__Subject subject = TESSERA__V1__SUBJECT__INIT;
    subject.given_name = (char *) software->subject.given_name;
    subject.surname = (char *) software->subject.surname;
    subject.organization = (char *) software->subject.organization;
    subject.organization_id = (char *) software->subject.organization_id;
    Tessera__V1__IssueCertificateRequest ask = TESSERA__V1__ISSUE_CERTIFICATE_REQUEST__INIT;
    ask.card_request_id = request->card_request_id;
    ask.holder_id = request->person_id;
    ask.csr_der.data = (uint8_t *) csr_der;
    ask.csr_der.len = csr_size;
    ask.use = (Tessera__V1__CertificateUse) use;
    ask.level = request->level;
    ask.subject = &subject;
    Tessera__V1__IssueCertificateReply *reply = NULL;
    char message [256] = "";
    tsr_status_t status = tsr_peer_call (state->ca, "IssueCertificate", &ask.base,
                                         &tessera__v1__issue_certificate_reply__descriptor,
                                         NULL, call->request->trace_id,
                                         (ProtobufCMessage **) &reply, message, sizeof message);
    if (status != S_OK)
        return tsr_call_fail (call, status == TESSERA__V1__STATUS__STATUS_UNAVAILABLE
                                    || status == TESSERA__V1__STATUS__STATUS_INTERNAL
                                    ? S_UNAVAILABLE : status,
                              "ca: %.200s", message);
    Tessera__V1__CertificateRecord *record = reply->certificate;
    if (!record || !perso_serial_valid (record->serial_hex) || !record->certificate_der.len) {
        tessera__v1__issue_certificate_reply__free_unpacked (reply, NULL);
        return tsr_call_fail (call, S_UNAVAILABLE, "ca's reply holds no usable certificate");
    }
    reply->certificate = NULL;
    tessera__v1__issue_certificate_reply__free_unpacked (reply, NULL);
    *record_p = record;
    char use_text [8];
    snprintf (use_text, sizeof use_text, "%d", use);
    const char *values [] = { record->serial_hex, request->card_request_id, request->person_id,
                              use_text, key_made_by_perso ? "t" : "f", call->caller_key };
    PGresult *res = tsr_db_query (call->db,
        "INSERT INTO software_certificates (serial_hex, card_request_id, person_id, use,"
        " key_made_by_perso, issued_by_key) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (serial_hex) DO NOTHING", 6, values);
    PQclear (res);
    Tessera__V1__SoftwareCertificateIssued event = TESSERA__V1__SOFTWARE_CERTIFICATE_ISSUED__INIT;
    event.card_request_id = request->card_request_id;
    event.person_id = request->person_id;
    event.serial_hex = record->serial_hex;
    event.use = (Tessera__V1__CertificateUse) use;
    event.key_made_by_perso = key_made_by_perso;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "card_request_id", request->card_request_id);
    tsr_json_int (json, "use", use);
    tsr_json_bool (json, "key_made_by_perso", key_made_by_perso);
    if (!res || perso_audit (call->db, call->caller_key, "perso.software_certificate_issued",
                             record->serial_hex, call->request->trace_id, &json)
    ||  perso_emit (call->db, "software_certificate.issued", record->serial_hex,
                    call->request->trace_id, &event.base)) {
        tsr_json_destroy (&json);
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the certificate");
    }
    tsr_log_info (call->request->trace_id, "perso.software_certificate_issued", "serial",
                  record->serial_hex, NULL);
    return S_OK;
}
