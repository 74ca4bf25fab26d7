/*  perso_run_escrow: ESCROW_ENCRYPTION_KEY, the holder's encryption key
    (issue 13; docs/perso.md, "Escrow and recovery").

    Signature and authentication keys are made on the card and never leave
    it. The encryption key is made here (RSA 2048 or EC P-256, as the job's
    card keys), sealed for the key-recovery authority (perso_escrow.h) and
    committed *before* it goes anywhere else, then imported into 9D with
    Yubico's IMPORT ASYMMETRIC KEY, certified by ca (encryption use,
    key_escrowed, on hold until activation like the card's other
    certificates), and its certificate written to 5FC10B. The clear key
    lives in this step's memory only and is freed (OpenSSL wipes private
    key material) at its end.

    A same-card renewal asking for encryption runs this step as a first
    card does: the new key overwrites the card's 9D key, whose escrow row
    stays in the holder's history (recoverable); RECORD_CARD swaps the 9D
    certificate (perso_renewal_record.c).

    A later run: a certified key whose certificate is on the card is done;
    one not yet written is written. An escrowed key never certified (the
    run stopped between escrow and ca) cannot be used again, since perso
    cannot open what it escrowed: it is marked discarded (nothing was ever
    encrypted to it) and a new key is made.
*/
#include "perso_escrow.h"
#include "perso_pkcs12.h"
#include "perso_records.h"
#include "perso_run.h"
#include "tessera/envelope.h"
#include "tessera/log.h"
#include "tessera/v1/ca.pb-c.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_USE TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_ENCRYPTION

typedef struct {
    char key_id [TSR_ID_HEX_SIZE];
    char serial_hex [PERSO_SERIAL_HEX_MAX + 1];
    uint8_t *certificate_der;
    size_t certificate_size;
    bool written;
} s_escrowed_t;

static int
s_db_failed (perso_run_t *run, const char *what)
{
    tsr_db_rollback (run->db);
    snprintf (run->detail, sizeof run->detail, "cannot %s: %s", what, tsr_db_error (run->db));
    return -1;
}

//  The job's certified key, if any: 1 found, 0 none, -1 error.
static int
s_find_certified (perso_run_t *run, s_escrowed_t *found)
{
    const char *values [] = { run->job.job_id };
    PGresult *res = tsr_db_query (run->db,
        "SELECT key_id, serial_hex, certificate_der, written FROM escrowed_keys"
        " WHERE job_id = $1 AND state = 2", 1, values);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples (res) == 1) {
        snprintf (found->key_id, sizeof found->key_id, "%s", PQgetvalue (res, 0, 0));
        snprintf (found->serial_hex, sizeof found->serial_hex, "%s", PQgetvalue (res, 0, 1));
        found->written = strcmp (PQgetvalue (res, 0, 3), "t") == 0;
        size_t size = 0;
        unsigned char *der = PQunescapeBytea ((const unsigned char *) PQgetvalue (res, 0, 2), &size);
        found->certificate_der = der && size ? malloc (size) : NULL;
        if (found->certificate_der) {
            memcpy (found->certificate_der, der, size);
            found->certificate_size = size;
            rc = 1;
        }
        else
            rc = -1;
        PQfreemem (der);
    }
    PQclear (res);
    return rc;
}

//  Seals key and commits it, with its audit row, before anything else
//  sees the key.
static int
s_escrow (perso_run_t *run, EVP_PKEY *key, const char *key_id)
{
    perso_job_t *job = &run->job;
    perso_escrow_envelope_t envelope;
    if (perso_escrow_seal (key, run->state->recovery_public_key, job->person_id, key_id,
                           &envelope)) {
        snprintf (run->detail, sizeof run->detail, "cannot seal the encryption key for escrow");
        return -1;
    }
    char algorithm [8], public_hex [2 * crypto_box_PUBLICKEYBYTES + 1];
    snprintf (algorithm, sizeof algorithm, "%d", job->key_algorithm);
    perso_hex (run->state->recovery_public_key, crypto_box_PUBLICKEYBYTES, public_hex);
    const char *values [] = { key_id, job->person_id, job->card_request_id, job->job_id,
                              algorithm, (const char *) envelope.ciphertext,
                              (const char *) envelope.nonce, (const char *) envelope.tag,
                              (const char *) envelope.wrapped_key, public_hex };
    int lengths [] = { 0, 0, 0, 0, 0, (int) envelope.ciphertext_size, PERSO_ESCROW_NONCE_SIZE,
                       PERSO_ESCROW_TAG_SIZE, PERSO_ESCROW_WRAPPED_SIZE, 0 };
    int formats [] = { 0, 0, 0, 0, 0, 1, 1, 1, 1, 0 };
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "person_id", job->person_id);
    tsr_json_str (json, "card_request_id", job->card_request_id);
    tsr_json_str (json, "job_id", job->job_id);
    tsr_json_str (json, "recovery_public_key", public_hex);
    PGresult *res = NULL;
    int ok = tsr_db_begin (run->db) == 0
        && (res = tsr_db_query_ex (run->db,
               "INSERT INTO escrowed_keys (key_id, person_id, card_request_id, job_id,"
               " key_algorithm, ciphertext, nonce, tag, wrapped_key, recovery_public_key)"
               " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 10, values, lengths,
               formats, 0)) != NULL
        && perso_audit (run->db, PERSO_RUNNER_ACTOR, "perso.key_escrowed", key_id,
                        run->trace_id, &json) == 0
        && tsr_db_commit (run->db) == 0;
    PQclear (res);
    tsr_json_destroy (&json);
    perso_escrow_envelope_clear (&envelope);
    return ok ? 0 : s_db_failed (run, "record the escrowed key");
}

//  ca's certificate for key: checked to be for this key, request and use.
//  Returns the notAfter (Unix) or -1 with detail.
static int64_t
s_check_certificate (perso_run_t *run, EVP_PKEY *key, const Tessera__V1__CertificateRecord *record)
{
    const unsigned char *cursor = record->certificate_der.data;
    X509 *cert = record->certificate_der.len
               ? d2i_X509 (NULL, &cursor, (long) record->certificate_der.len) : NULL;
    int64_t not_after = -1;
    if (!cert || cursor != record->certificate_der.data + record->certificate_der.len
    ||  EVP_PKEY_eq (X509_get0_pubkey (cert), key) != 1 || record->use != S_USE
    ||  strcmp (record->card_request_id, run->job.card_request_id) != 0
    ||  !*record->serial_hex || strlen (record->serial_hex) > PERSO_SERIAL_HEX_MAX)
        snprintf (run->detail, sizeof run->detail,
                  "ca: the encryption certificate returned is not for the escrowed key");
    else {
        ASN1_TIME *epoch = ASN1_TIME_set (NULL, 0);
        int days = 0, seconds = 0;
        if (epoch && ASN1_TIME_diff (&days, &seconds, epoch, X509_get0_notAfter (cert)))
            not_after = (int64_t) days * 86400 + seconds;
        ASN1_TIME_free (epoch);
    }
    X509_free (cert);
    return not_after;
}

//  IssueCertificate (encryption, key_escrowed, on hold), then the row
//  certified with its archive date, committed.
static int
s_certify (perso_run_t *run, EVP_PKEY *key, const char *key_id, s_escrowed_t *out)
{
    perso_job_t *job = &run->job;
    unsigned char *csr = NULL;
    int csr_size = 0;
    if (perso_pkcs12_csr (key, "tessera escrowed key", &csr, &csr_size)) {
        OPENSSL_free (csr);
        snprintf (run->detail, sizeof run->detail, "cannot make the encryption key's CSR");
        return -1;
    }
    Tessera__V1__Subject subject = TESSERA__V1__SUBJECT__INIT;
    subject.given_name = job->given_name;
    subject.surname = job->surname;
    subject.organization = job->organization;
    subject.organization_id = job->organization_id;
    subject.email = job->email;
    Tessera__V1__IssueCertificateRequest request = TESSERA__V1__ISSUE_CERTIFICATE_REQUEST__INIT;
    request.card_request_id = job->card_request_id;
    request.holder_id = job->person_id;
    request.csr_der.data = csr;
    request.csr_der.len = (size_t) csr_size;
    request.use = S_USE;
    request.level = (Tessera__V1__PolicyLevel) job->level;
    request.subject = &subject;
    request.on_hold = true;
    request.key_escrowed = true;
    char request_id [128], message [256] = "";
    snprintf (request_id, sizeof request_id, "perso-%s-9d-%.16s", job->job_id, key_id);
    Tessera__V1__IssueCertificateReply *reply = NULL;
    tsr_status_t status = tsr_peer_call (run->state->ca, "IssueCertificate", &request.base,
                                         &tessera__v1__issue_certificate_reply__descriptor,
                                         request_id, run->trace_id,
                                         (ProtobufCMessage **) &reply, message, sizeof message);
    OPENSSL_free (csr);
    if (status != S_OK) {
        snprintf (run->detail, sizeof run->detail, "ca: %s: %s", tsr_status_name (status), message);
        return -1;
    }
    int64_t not_after = reply->certificate ? s_check_certificate (run, key, reply->certificate) : -1;
    if (!reply->certificate)
        snprintf (run->detail, sizeof run->detail, "ca: the reply holds no certificate");
    int rc = -1;
    if (not_after >= 0) {
        const Tessera__V1__CertificateRecord *record = reply->certificate;
        char not_after_text [24], years [8];
        snprintf (not_after_text, sizeof not_after_text, "%lld", (long long) not_after);
        snprintf (years, sizeof years, "%ld", run->state->escrow_retain_years);
        const char *values [] = { key_id, record->serial_hex,
                                  (const char *) record->certificate_der.data, not_after_text,
                                  years };
        int lengths [] = { 0, 0, (int) record->certificate_der.len, 0, 0 };
        int formats [] = { 0, 0, 1, 0, 0 };
        tsr_json_t *json = tsr_json_new ();
        tsr_json_str (json, "serial", record->serial_hex);
        tsr_json_str (json, "job_id", job->job_id);
        PGresult *res = NULL;
        int ok = tsr_db_begin (run->db) == 0
            && (res = tsr_db_query_ex (run->db,
                   "UPDATE escrowed_keys SET state = 2, serial_hex = $2, certificate_der = $3,"
                   " not_after = to_timestamp($4::bigint),"
                   " retain_until = to_timestamp($4::bigint) + make_interval(years => $5::int)"
                   " WHERE key_id = $1 AND state = 1", 5, values, lengths, formats, 0)) != NULL
            && strcmp (PQcmdTuples (res), "1") == 0
            && perso_audit (run->db, PERSO_RUNNER_ACTOR, "perso.escrowed_key_certified", key_id,
                            run->trace_id, &json) == 0
            && tsr_db_commit (run->db) == 0;
        PQclear (res);
        tsr_json_destroy (&json);
        out->certificate_der = ok ? malloc (record->certificate_der.len) : NULL;
        if (!ok)
            s_db_failed (run, "record the encryption certificate");
        else
        if (out->certificate_der) {
            memcpy (out->certificate_der, record->certificate_der.data,
                    record->certificate_der.len);
            out->certificate_size = record->certificate_der.len;
            snprintf (out->serial_hex, sizeof out->serial_hex, "%s", record->serial_hex);
            snprintf (out->key_id, sizeof out->key_id, "%s", key_id);
            rc = 0;
        }
        else
            snprintf (run->detail, sizeof run->detail, "out of memory");
    }
    tessera__v1__issue_certificate_reply__free_unpacked (reply, NULL);
    return rc;
}

//  A new key: made, escrowed, imported into 9D, certified.
static int
s_new_key (perso_run_t *run, s_escrowed_t *out)
{
    perso_job_t *job = &run->job;
    const char *values [] = { job->job_id };
    PGresult *res = tsr_db_query (run->db,
        "UPDATE escrowed_keys SET state = 3 WHERE job_id = $1 AND state = 1", 1, values);
    PQclear (res);
    if (!res)
        return s_db_failed (run, "discard an uncertified escrowed key");
    EVP_PKEY *key = job->key_algorithm == 1
                  ? EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 2048)
                  : EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    char key_id [TSR_ID_HEX_SIZE];
    tsr_random_id (key_id);
    if (!key) {
        snprintf (run->detail, sizeof run->detail, "cannot generate the encryption key");
        return -1;
    }
    int rc = s_escrow (run, key, key_id);
    if (rc == 0) {
        perso_piv_status_t status;
        uint8_t algorithm = 0;
        rc = perso_piv_import_key (&run->card, PERSO_PIV_SLOT_KEY_MANAGEMENT, key, &algorithm,
                                   &status);
        if (rc)
            perso_run_card_failed (run, &status);
    }
    if (rc == 0)
        rc = s_certify (run, key, key_id, out);
    EVP_PKEY_free (key);
    return rc;
}

int
perso_run_escrow (perso_run_t *run)
{
    if (!run->job.encryption) {
        snprintf (run->detail, sizeof run->detail, "not asked");
        return 0;
    }
    if (!run->state->have_recovery_key) {
        snprintf (run->detail, sizeof run->detail,
                  "no key-recovery key (TSR_PERSO_RECOVERY_PUBLIC_KEY): the key cannot be escrowed");
        return -1;
    }
    s_escrowed_t escrowed;
    memset (&escrowed, 0, sizeof escrowed);
    int found = s_find_certified (run, &escrowed);
    if (found < 0)
        return s_db_failed (run, "read the escrowed keys");
    bool made = found == 0;
    if (made && s_new_key (run, &escrowed)) {
        free (escrowed.certificate_der);
        return -1;
    }
    int rc = 0;
    if (!escrowed.written) {
        perso_buf_t object;
        perso_buf_init (&object);
        perso_piv_cert_object (escrowed.certificate_der, escrowed.certificate_size, &object);
        perso_piv_status_t status;
        rc = object.failed ? -1
           : perso_piv_put_data (&run->card, PERSO_PIV_OBJ_CERT_9D, object.data, object.size,
                                 &status);
        if (rc && !object.failed)
            perso_run_card_failed (run, &status);
        else
        if (rc)
            snprintf (run->detail, sizeof run->detail, "cannot build the 9D certificate object");
        perso_buf_free (&object);
        const char *values [] = { escrowed.key_id };
        PGresult *res = rc ? NULL : tsr_db_query (run->db,
            "UPDATE escrowed_keys SET written = true WHERE key_id = $1", 1, values);
        if (rc == 0 && !res)
            rc = s_db_failed (run, "record the written certificate");
        PQclear (res);
    }
    if (rc == 0) {
        snprintf (run->detail, sizeof run->detail, "%s key %s in 9D, certificate %s on hold",
                  made ? "escrowed" : "escrowed in an earlier run:", escrowed.key_id,
                  escrowed.serial_hex);
        tsr_log_info (run->trace_id, "perso.key_escrowed", "job_id", run->job.job_id, "key_id",
                      escrowed.key_id, "serial", escrowed.serial_hex, NULL);
    }
    free (escrowed.certificate_der);
    return rc;
}
