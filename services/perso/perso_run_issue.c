/*  perso_run_issue: ISSUE_CERTIFICATES, and revocations on a job's behalf
    (see perso_run.h).

    Each key's certificate is asked of ca on hold (certificateHold until
    activation), with the subject of the validated request, under a
    request id made of the job, the slot and the key: a retry after a
    lost reply is answered from the bus's store, and ca itself answers
    the first certificate for the same card request, use and key. What ca
    returns is checked (serial, DER, the public key is ours, the use and
    request are ours) and committed at once, so a failure after it never
    loses a certificate that exists.
*/
#include "perso_run.h"
#include "perso_records.h"
#include "tessera/log.h"
#include "tessera/v1/ca.pb-c.h"

#include <ctype.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK

static bool
s_serial_valid (const char *serial)
{
    size_t len = serial ? strlen (serial) : 0;
    if (len < 2 || len > PERSO_SERIAL_HEX_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isxdigit ((unsigned char) serial [i]))
            return false;
    return true;
}

//  The certificate ca returned is for this key, request and use.
static int
s_check_record (perso_run_t *run, const perso_job_key_t *key,
                const Tessera__V1__CertificateRecord *record, int64_t *not_after)
{
    const unsigned char *cursor = record->certificate_der.data;
    X509 *cert = record->certificate_der.len
               ? d2i_X509 (NULL, &cursor, (long) record->certificate_der.len) : NULL;
    unsigned char *spki = NULL;
    int spki_size = cert ? i2d_PUBKEY (X509_get0_pubkey (cert), &spki) : -1;
    int rc = -1;
    if (!cert || cursor != record->certificate_der.data + record->certificate_der.len)
        snprintf (run->detail, sizeof run->detail, "ca: the certificate returned does not decode");
    else
    if (!s_serial_valid (record->serial_hex))
        snprintf (run->detail, sizeof run->detail, "ca: the serial returned is not hex");
    else
    if (spki_size != (int) key->public_key_size
    ||  memcmp (spki, key->public_key_der, key->public_key_size) != 0)
        snprintf (run->detail, sizeof run->detail,
                  "ca: the certificate returned is not for the card's key in slot %02X", key->slot);
    else
    if ((int) record->use != key->use || strcmp (record->card_request_id,
                                                 run->job.card_request_id) != 0)
        snprintf (run->detail, sizeof run->detail,
                  "ca: the certificate returned is for another request or use");
    else {
        ASN1_TIME *epoch = ASN1_TIME_set (NULL, 0);
        int days = 0, seconds = 0;
        if (epoch && ASN1_TIME_diff (&days, &seconds, epoch, X509_get0_notAfter (cert))) {
            *not_after = (int64_t) days * 86400 + seconds;
            rc = 0;
        }
        else
            snprintf (run->detail, sizeof run->detail, "ca: the certificate's notAfter is unreadable");
        ASN1_TIME_free (epoch);
    }
    OPENSSL_free (spki);
    X509_free (cert);
    return rc;
}

static int
s_issue_one (perso_run_t *run, perso_job_key_t *key)
{
    perso_job_t *job = &run->job;
    Tessera__V1__Subject subject = TESSERA__V1__SUBJECT__INIT;
    subject.given_name = job->given_name;
    subject.surname = job->surname;
    subject.organization = job->organization;
    subject.organization_id = job->organization_id;
    Tessera__V1__IssueCertificateRequest request = TESSERA__V1__ISSUE_CERTIFICATE_REQUEST__INIT;
    request.card_request_id = job->card_request_id;
    request.holder_id = job->person_id;
    request.csr_der.data = key->csr_der;
    request.csr_der.len = key->csr_size;
    request.use = (Tessera__V1__CertificateUse) key->use;
    request.level = (Tessera__V1__PolicyLevel) job->level;
    request.subject = &subject;
    request.on_hold = true;
    char request_id [128], message [256] = "";
    snprintf (request_id, sizeof request_id, "perso-%s-%02x-%.16s", job->job_id, key->slot,
              key->spki_sha256);
    Tessera__V1__IssueCertificateReply *reply = NULL;
    tsr_status_t status = tsr_peer_call (run->state->ca, "IssueCertificate", &request.base,
                                         &tessera__v1__issue_certificate_reply__descriptor,
                                         request_id, run->trace_id,
                                         (ProtobufCMessage **) &reply, message, sizeof message);
    if (status != S_OK) {
        snprintf (run->detail, sizeof run->detail, "ca: %s: %s", tsr_status_name (status), message);
        return -1;
    }
    int64_t not_after = 0;
    int rc = -1;
    if (!reply->certificate)
        snprintf (run->detail, sizeof run->detail, "ca: the reply holds no certificate");
    else
    if (s_check_record (run, key, reply->certificate, &not_after) == 0) {
        key->certificate_der = malloc (reply->certificate->certificate_der.len);
        if (key->certificate_der) {
            memcpy (key->certificate_der, reply->certificate->certificate_der.data,
                    reply->certificate->certificate_der.len);
            key->certificate_size = reply->certificate->certificate_der.len;
            snprintf (key->serial_hex, sizeof key->serial_hex, "%s", reply->certificate->serial_hex);
            key->not_after_unix = not_after;
            rc = perso_run_checkpoint (run);
        }
        else
            snprintf (run->detail, sizeof run->detail, "out of memory");
    }
    tessera__v1__issue_certificate_reply__free_unpacked (reply, NULL);
    if (rc == 0)
        tsr_log_info (run->trace_id, "perso.certificate_issued", "job_id", job->job_id,
                      "serial", key->serial_hex, NULL);
    return rc;
}

int
perso_run_issue (perso_run_t *run)
{
    char serials [2 * (PERSO_SERIAL_HEX_MAX + 2)] = "";
    int issued = 0;
    for (int i = 0; i < PERSO_JOB_KEYS; i++) {
        perso_job_key_t *key = &run->job.keys [i];
        if (!key->wanted)
            continue;
        if (!*key->serial_hex) {
            if (!key->csr_der) {
                snprintf (run->detail, sizeof run->detail, "no CSR for slot %02X", key->slot);
                return -1;
            }
            if (s_issue_one (run, key))
                return -1;
            issued++;
        }
        size_t used = strlen (serials);
        snprintf (serials + used, sizeof serials - used, "%s%s", used ? ", " : "",
                  key->serial_hex);
    }
    snprintf (run->detail, sizeof run->detail, "%s on hold: %s",
              issued ? "issued" : "issued in an earlier run", serials);
    return 0;
}

int
perso_run_revoke (perso_state_t *state, const char *trace_id, const char *serial_hex, int reason,
                  const char *reference, char *message, size_t message_size)
{
    Tessera__V1__RevokeCertificateRequest request = TESSERA__V1__REVOKE_CERTIFICATE_REQUEST__INIT;
    request.serial_hex = (char *) serial_hex;
    request.reason = (Tessera__V1__RevocationReason) reason;
    request.revocation_request_id = (char *) reference;
    Tessera__V1__CertificateStatus *reply = NULL;
    tsr_status_t status = tsr_peer_call (state->ca, "RevokeCertificate", &request.base,
                                         &tessera__v1__certificate_status__descriptor, NULL,
                                         trace_id, (ProtobufCMessage **) &reply, message,
                                         message_size);
    if (status == S_OK) {
        tessera__v1__certificate_status__free_unpacked (reply, NULL);
        return 0;
    }
    //  Revoked before (a retry): done. Anything else stands.
    Tessera__V1__GetStatusRequest ask = TESSERA__V1__GET_STATUS_REQUEST__INIT;
    ask.serial_hex = (char *) serial_hex;
    char ignored [128];
    if (tsr_peer_call (state->ca, "GetStatus", &ask.base,
                       &tessera__v1__certificate_status__descriptor, NULL, trace_id,
                       (ProtobufCMessage **) &reply, ignored, sizeof ignored) == S_OK) {
        bool revoked = reply->state == TESSERA__V1__CERTIFICATE_STATE__CERTIFICATE_STATE_REVOKED;
        tessera__v1__certificate_status__free_unpacked (reply, NULL);
        if (revoked)
            return 0;
    }
    size_t used = strlen (message);
    snprintf (message + used, message_size - used, " (%s)", tsr_status_name (status));
    return -1;
}
