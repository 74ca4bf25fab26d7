/*  IssueCertificate, GetCertificate, GetCaCertificates.

    IssueCertificate takes the CSR only for its public key (checked by
    ca_csr) and builds the subject from the validated request's fields. One
    card request has at most one certificate per use: the same request
    again returns the certificate already issued (same key) or is refused
    (another key). A public key certified for one holder is refused for
    another. Every input is checked before the key is asked to sign, and a
    refusal stores nothing.
*/
#include "ca_csr.h"
#include "ca_handlers.h"
#include "ca_issue.h"
#include "ca_records.h"
#include "ca_state.h"
#include "ca_subject.h"

#include "tessera/audit.h"
#include "tessera/events.h"
#include "tessera/json.h"
#include "tessera/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_REF_MAX 64
#define S_INSERT_ATTEMPTS 3
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT

typedef Tessera__V1__IssueCertificateRequest s_request_t;

//  Identifiers from other services: 1..64 of [A-Za-z0-9._:-].
static bool
s_reference_valid (const char *text)
{
    size_t len = text ? strlen (text) : 0;
    if (len < 1 || len > S_REF_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum ((unsigned char) text [i]) && !strchr ("._:-", text [i]))
            return false;
    return true;
}

static tsr_status_t
s_reply_record (tsr_call_t *call, PGresult *res, const char *text)
{
    ca_record_t record;
    tsr_status_t status;
    if (ca_record_from_row (res, 0, &record))
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "stored certificate is damaged");
    else {
        Tessera__V1__IssueCertificateReply reply = TESSERA__V1__ISSUE_CERTIFICATE_REPLY__INIT;
        reply.certificate = &record.record;
        status = tsr_call_reply (call, &reply.base, text);
    }
    ca_record_release (&record);
    return status;
}

//  One statement for the two questions asked before signing: the same
//  card request and use again (the first certificate when the key is the
//  same, a refusal otherwise), and the key certified for another holder
//  (refused). Returns -1 when neither holds (go on and issue), 0 with
//  *status set otherwise.
static int
s_precheck (tsr_call_t *call, s_request_t *request, const char *spki_sha256, tsr_status_t *status)
{
    char use [8];
    snprintf (use, sizeof use, "%d", (int) request->use);
    const char *values [] = { request->card_request_id, use, spki_sha256, request->holder_id };
    PGresult *res = tsr_db_prepared (call->db,
        "SELECT " CA_RECORD_COLUMNS ", EXISTS (SELECT 1 FROM certificates"
        " WHERE spki_sha256 = $3 AND holder_id <> $4) FROM (SELECT 1) AS one"
        " LEFT JOIN certificates ON card_request_id = $1 AND use = $2", 4, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        *status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE, "cannot read certificates");
        return 0;
    }
    int rc = 0;
    if (!PQgetisnull (res, 0, 0)) {
        if (strcmp (PQgetvalue (res, 0, 13), spki_sha256) == 0)
            *status = s_reply_record (call, res, "certificate issued before for this card request");
        else
            *status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_CONFLICT,
                                     "card request %s already has a certificate for this use, with another key",
                                     request->card_request_id);
    }
    else
    if (strcmp (PQgetvalue (res, 0, 14), "t") == 0)
        *status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_ALREADY_EXISTS,
                                 "this public key is certified for another holder");
    else
        rc = -1;
    PQclear (res);
    return rc;
}

//  0 when the row is stored (*row: it as CA_RECORD_COLUMNS), 1 when its
//  serial is taken (nothing stored), -1 on error (the transaction is then
//  aborted).
static int
s_store (tsr_call_t *call, s_request_t *request, X509 *cert, const char *spki_sha256,
         const char *issuer_sha256, char serial_hex [CA_SERIAL_HEX_MAX + 1], PGresult **row)
{
    const ASN1_INTEGER *serial = X509_get0_serialNumber (cert);
    ca_hex (ASN1_STRING_get0_data (serial), (size_t) ASN1_STRING_length (serial), serial_hex);
    unsigned char *der = NULL;
    int der_size = i2d_X509 (cert, &der);
    char *subject = X509_NAME_oneline (X509_get_subject_name (cert), NULL, 0);
    char use [8], level [8], not_before [24], not_after [24];
    snprintf (use, sizeof use, "%d", (int) request->use);
    snprintf (level, sizeof level, "%d", (int) request->level);
    snprintf (not_before, sizeof not_before, "%lld",
              (long long) ca_asn1_time_unix (X509_get0_notBefore (cert)));
    snprintf (not_after, sizeof not_after, "%lld",
              (long long) ca_asn1_time_unix (X509_get0_notAfter (cert)));
    int rc = -1;
    if (der_size <= 0 || !subject)
        goto done;
    const char *values [] = { (const char *) ASN1_STRING_get0_data (serial), serial_hex,
                              issuer_sha256, request->card_request_id, request->holder_id, use,
                              level, spki_sha256, subject, not_before, not_after,
                              (const char *) der, call->caller_key,
                              request->key_escrowed ? "true" : "false" };
    int lengths [] = { ASN1_STRING_length (serial), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, der_size, 0, 0 };
    int formats [] = { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 };
    PGresult *res = tsr_db_prepared_ex (call->db,
        "INSERT INTO certificates (serial, serial_hex, issuer_sha256, card_request_id, holder_id,"
        " use, level, spki_sha256, subject, not_before, not_after, certificate_der, issued_by,"
        " key_escrowed)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, to_timestamp($10), to_timestamp($11), $12, $13,"
        " $14) ON CONFLICT (serial) DO NOTHING RETURNING " CA_RECORD_COLUMNS,
        14, values, lengths, formats, 0);
    rc = !res ? -1 : PQntuples (res) == 1 ? 0 : 1;
    if (rc == 0)
        *row = res;
    else
        PQclear (res);
done:
    OPENSSL_free (der);
    OPENSSL_free (subject);
    return rc;
}

//  certificateHold at issuance: the certificate is on hold until the
//  holder activates the card (revocation's release lifts it).
//  *row: the certificate on hold, as CA_RECORD_COLUMNS.
static int
s_hold (tsr_call_t *call, const char *serial_hex, PGresult **row)
{
    const char *values [] = { serial_hex };
    PGresult *res = tsr_db_prepared (call->db,
        "WITH next AS (UPDATE status_counter SET last_seq = last_seq + 1 RETURNING last_seq)"
        " UPDATE certificates SET state = 3, reason = 6, revoked_at = now(),"
        " change_seq = (SELECT last_seq FROM next) WHERE serial_hex = $1"
        " RETURNING " CA_RECORD_COLUMNS, 1, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    *row = res;
    return 0;
}

//  The outbox event, then the audit row, both sent with the COMMIT (the
//  bus worker's, with the stored reply): the two rows every issuance waits
//  for are locked only through the commit.
static int
s_record_issue (tsr_call_t *call, s_request_t *request, const char *serial_hex, int64_t not_after)
{
    Tessera__V1__CertificateIssued event = TESSERA__V1__CERTIFICATE_ISSUED__INIT;
    event.serial_hex = (char *) serial_hex;
    event.card_request_id = request->card_request_id;
    event.holder_id = request->holder_id;
    event.use = request->use;
    event.not_after_unix = not_after;
    uint8_t payload [512];
    if (tessera__v1__certificate_issued__get_packed_size (&event) > sizeof payload)
        return -1;
    size_t size = tessera__v1__certificate_issued__pack (&event, payload);
    if (tsr_events_append_at_commit (call->db, "certificate.issued", serial_hex,
                                     call->request->trace_id, payload, size))
        return -1;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "serial", serial_hex);
    tsr_json_str (json, "card_request_id", request->card_request_id);
    tsr_json_str (json, "holder_id", request->holder_id);
    tsr_json_int (json, "use", request->use);
    tsr_json_int (json, "level", request->level);
    tsr_json_bool (json, "on_hold", request->on_hold);
    tsr_json_bool (json, "key_escrowed", request->key_escrowed);
    char *details = tsr_json_finish (&json);
    int rc = details ? tsr_audit_append_at_commit (call->db, call->caller_key,
                                                   "ca.certificate_issued", serial_hex,
                                                   call->request->trace_id, details) : -1;
    free (details);
    return rc;
}

//  Everything about the request that needs neither the key nor the
//  database. Returns the status (OK to go on).
tsr_status_t
ca_issue_check (tsr_call_t *call, const Tessera__V1__IssueCertificateRequest *request,
                const ca_profile_t **profile, X509_PUBKEY **key, char spki_sha256 [65],
                X509_NAME **subject)
{
    char err [256] = "";
    if (!s_reference_valid (request->card_request_id) || !s_reference_valid (request->holder_id))
        return tsr_call_fail (call, S_INVALID,
                              "card_request_id and holder_id must be 1 to 64 of [A-Za-z0-9._:-]");
    *profile = ca_profile_find (request->use, request->level);
    if (!*profile)
        return tsr_call_fail (call, S_INVALID, "use and level must name a profile (use 1..5, level 1..3)");
    if ((*profile)->holder && request->on_hold == false && request->use == 0)
        return tsr_call_fail (call, S_INVALID, "use is required");
    if (ca_profile_check_escrow (*profile, request->key_escrowed, err, sizeof err))
        return tsr_call_fail (call, S_INVALID, "%s", err);
    if ((*profile)->escrowed && !(request->subject && request->subject->email
                                  && *request->subject->email))
        return tsr_call_fail (call, S_INVALID, "the %s profile needs subject.email",
                              (*profile)->name);
    switch (ca_csr_check (request->csr_der.data, request->csr_der.len, key, spki_sha256,
                          err, sizeof err)) {
        case CA_CSR_OK: break;
        case CA_CSR_TOO_LARGE:
            return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_RESOURCE_EXHAUSTED, "%s", err);
        default:
            return tsr_call_fail (call, S_INVALID, "%s", err);
    }
    if (request->validity_days > (uint32_t) (*profile)->max_days)
        return tsr_call_fail (call, S_INVALID, "validity of %u days; the %s profile allows at most %d",
                              request->validity_days, (*profile)->name, (*profile)->max_days);
    if (!request->subject)
        return tsr_call_fail (call, S_INVALID, "subject is required");
    ca_subject_fields_t fields = {
        .given_name = request->subject->given_name, .surname = request->subject->surname,
        .organization = request->subject->organization,
        .organization_id = request->subject->organization_id,
        .common_name = request->subject->common_name, .email = request->subject->email,
    };
    *subject = ca_subject_build (&fields, (*profile)->holder, err, sizeof err);
    if (!*subject)
        return tsr_call_fail (call, S_INVALID, "%s", err);
    return TESSERA__V1__STATUS__STATUS_OK;
}

tsr_status_t
ca_handle_issue (tsr_call_t *call)
{
    ca_state_t *state = call->state;
    tsr_status_t unpack_status;
    s_request_t *request = (s_request_t *) tsr_call_unpack (
        call, &tessera__v1__issue_certificate_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    const ca_profile_t *profile = NULL;
    X509_PUBKEY *key = NULL;
    X509_NAME *subject = NULL;
    X509 *cert = NULL;
    PGresult *row = NULL;           //  the stored certificate, for the reply
    bool locked = false;
    char spki_sha256 [65] = "", serial_hex [CA_SERIAL_HEX_MAX + 1] = "", issuer_sha256 [65];
    tsr_status_t status = ca_issue_check (call, request, &profile, &key, spki_sha256, &subject);
    if (status != TESSERA__V1__STATUS__STATUS_OK || s_precheck (call, request, spki_sha256, &status) == 0)
        goto done;
    //  The lock covers the signature only (the key store's session signs
    //  one at a time); the database work runs beside other issuances.
    //  A serial collision (2^-127 per pair) is met by drawing again; the
    //  primary key is what makes serials unique. The insert skips a taken
    //  serial (ON CONFLICT) and the transaction goes on, without a
    //  savepoint's round trip; any other failure ends the transaction and
    //  the client retries with the same request id.
    for (int attempt = 0; attempt < S_INSERT_ATTEMPTS; attempt++) {
        char err [256] = "";
        X509_free (cert);
        cert = NULL;
        pthread_mutex_lock (&state->lock);
        locked = true;
        if (!state->active) {
            status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION,
                                    "the CA key is not active: custodians must present their shares (tessera ca activate)");
            goto done;
        }
        snprintf (issuer_sha256, sizeof issuer_sha256, "%s", state->issuing_sha256);
        cert = ca_issue_certificate (state->issuing_cert, state->issuing_key, key, subject, profile,
                                     request->level, &state->profiles, request->subject->email,
                                     (int) request->validity_days, err, sizeof err);
        pthread_mutex_unlock (&state->lock);
        locked = false;
        if (!cert) {
            tsr_log_error (call->request->trace_id, "ca.issue_failed", "reason", err, NULL);
            status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "cannot issue: %s", err);
            goto done;
        }
        int stored = s_store (call, request, cert, spki_sha256, issuer_sha256, serial_hex, &row);
        if (stored == 0)
            break;
        bool collision = stored > 0;
        if (!collision || attempt + 1 == S_INSERT_ATTEMPTS) {
            status = tsr_call_fail (call, collision ? TESSERA__V1__STATUS__STATUS_INTERNAL
                                                    : TESSERA__V1__STATUS__STATUS_UNAVAILABLE,
                                    "cannot store the certificate");
            goto done;
        }
        serial_hex [0] = 0;
    }
    if (request->on_hold) {
        PQclear (row);
        row = NULL;
        if (s_hold (call, serial_hex, &row)) {
            status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE, "cannot record the issuance");
            goto done;
        }
    }
    status = s_reply_record (call, row, "certificate issued");
    //  The event and the audit row last, sent with the commit: each locks a
    //  row (the outbox counter, the audit chain's head) that every issuance
    //  waits for until this transaction commits.
    if (status == TESSERA__V1__STATUS__STATUS_OK
    &&  s_record_issue (call, request, serial_hex, ca_asn1_time_unix (X509_get0_notAfter (cert)))) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE, "cannot record the issuance");
        goto done;
    }
    if (status == TESSERA__V1__STATUS__STATUS_OK)
        tsr_log_info (call->request->trace_id, "ca.certificate_issued", "serial", serial_hex,
                      "profile", profile->name, NULL);
done:
    if (locked)
        pthread_mutex_unlock (&state->lock);
    PQclear (row);
    X509_free (cert);
    X509_NAME_free (subject);
    X509_PUBKEY_free (key);
    tessera__v1__issue_certificate_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
ca_handle_get_certificate (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__GetCertificateRequest *request = (Tessera__V1__GetCertificateRequest *) tsr_call_unpack (
        call, &tessera__v1__get_certificate_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    char serial_hex [CA_SERIAL_HEX_MAX + 1];
    tsr_status_t status;
    if (!ca_serial_hex_normalise (request->serial_hex, serial_hex))
        status = tsr_call_fail (call, S_INVALID, "serial_hex must be 2 to 40 hex digits");
    else {
        const char *values [] = { serial_hex };
        PGresult *res = tsr_db_query (call->db, CA_RECORD_SELECT " WHERE serial_hex = $1", 1, values);
        if (!res)
            status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE, "cannot read certificates");
        else
        if (PQntuples (res) == 0)
            status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                    "no certificate with serial %s", serial_hex);
        else {
            ca_record_t record;
            if (ca_record_from_row (res, 0, &record))
                status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "stored certificate is damaged");
            else
                status = tsr_call_reply (call, &record.record.base, "found");
            ca_record_release (&record);
        }
        PQclear (res);
    }
    tessera__v1__get_certificate_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
ca_handle_ca_certificates (tsr_call_t *call)
{
    PGresult *res = tsr_db_query_ex (call->db,
        "SELECT i.certificate_der FROM issuers i JOIN ceremonies c USING (ceremony_id)"
        " WHERE c.is_current ORDER BY (i.role = 'issuing') DESC", 0, NULL, NULL, NULL, 1);
    if (!res)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE, "cannot read the issuers");
    tsr_status_t status;
    if (PQntuples (res) != 2)
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION,
                                "no key ceremony has been held");
    else {
        ProtobufCBinaryData chain [2];
        for (int i = 0; i < 2; i++) {
            chain [i].data = (uint8_t *) PQgetvalue (res, i, 0);
            chain [i].len = (size_t) PQgetlength (res, i, 0);
        }
        Tessera__V1__GetCaCertificatesReply reply = TESSERA__V1__GET_CA_CERTIFICATES_REPLY__INIT;
        reply.n_chain_der = 2;
        reply.chain_der = chain;
        status = tsr_call_reply (call, &reply.base, "issuing CA, then root");
    }
    PQclear (res);
    return status;
}
