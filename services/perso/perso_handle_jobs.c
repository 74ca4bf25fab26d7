/*  StartJob, RetryJob, AbandonJob: a perso operator queues, resumes or
    gives up a personalisation job; the runners do the card work.
*/
#include "perso_caller.h"
#include "perso_handlers.h"
#include "perso_input.h"
#include "perso_records.h"
#include "perso_renewal.h"
#include "perso_run.h"
#include "perso_runner.h"
#include "perso_state.h"
#include "tessera/log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_CESSATION TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_CESSATION_OF_OPERATION

static tsr_status_t
s_reply_job (tsr_call_t *call, const char *job_id, const char *text)
{
    perso_job_view_t view;
    tsr_status_t status;
    int found = perso_job_view_load (call->db, job_id, &view);
    if (found == 1)
        status = tsr_call_reply (call, &view.message.base, text);
    else
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the job back");
    perso_job_view_release (&view);
    return status;
}

//  Is reader free of pending and running jobs? S_OK, or the refusal.
static tsr_status_t
s_reader_free (tsr_call_t *call, const char *reader, const char *except_job_id)
{
    const char *values [] = { reader, except_job_id ? except_job_id : "" };
    PGresult *res = tsr_db_query (call->db,
        "SELECT job_id FROM jobs WHERE reader_name = $1 AND state IN (1, 2) AND job_id <> $2",
        2, values);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the jobs");
    tsr_status_t status = PQntuples (res) == 0 ? S_OK
        : tsr_call_fail (call, S_PRECONDITION, "reader %s is in use by job %s; wait for it or "
                         "use another reader", reader, PQgetvalue (res, 0, 0));
    PQclear (res);
    return status;
}

static int
s_emit_started (tsr_call_t *call, const char *job_id, const char *card_request_id)
{
    Tessera__V1__PersoJobChanged event = TESSERA__V1__PERSO_JOB_CHANGED__INIT;
    event.job_id = (char *) job_id;
    event.card_request_id = (char *) card_request_id;
    event.state = TESSERA__V1__PERSO_JOB_STATE__PERSO_JOB_STATE_PENDING;
    return perso_emit (call->db, "perso.job.started", job_id, call->request->trace_id,
                       &event.base);
}

//  The slots the request's uses ask for. false when a use is not a card's.
//  Encryption (9D) is a key perso makes and escrows (perso_run_escrow.c).
static bool
s_slots (const Tessera__V1__CardRequest *request, bool *auth, bool *sign, bool *encrypt)
{
    *auth = *sign = *encrypt = false;
    for (size_t i = 0; i < request->n_uses; i++) {
        if (request->uses [i] == TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_AUTHENTICATION)
            *auth = true;
        else
        if (request->uses [i] == TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_SIGNATURE)
            *sign = true;
        else
        if (request->uses [i] == TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_ENCRYPTION)
            *encrypt = true;
        else
            return false;
    }
    return *auth || *sign;
}

static tsr_status_t
s_insert_job (tsr_call_t *call, const char *job_id, const Tessera__V1__CardRequest *request,
              const perso_subject_t *subject, const char *account_id, const char *reader,
              int algorithm, const char *operator_id, bool auth, bool sign, bool encrypt)
{
    char level [8], algorithm_text [8];
    snprintf (level, sizeof level, "%d", (int) request->level);
    snprintf (algorithm_text, sizeof algorithm_text, "%d", algorithm);
    const char *values [] = {
        job_id, request->card_request_id, request->person_id, request->organisation_id,
        account_id, level, subject->given_name, subject->surname, subject->organization,
        subject->organization_id, reader, algorithm_text, operator_id, call->caller_key,
        call->request->trace_id, encrypt ? "t" : "f", subject->email };
    PGresult *res = tsr_db_query (call->db,
        "INSERT INTO jobs (job_id, card_request_id, person_id, organisation_id, account_id,"
        " level, given_name, surname, organization, organization_id, state, reader_name,"
        " key_algorithm, fascn_credential, started_by_operator_id, started_by_key, trace_id,"
        " encryption, email)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12,"
        "         nextval('fascn_credentials'), $13, $14, $15, $16::boolean, $17)", 17, values);
    if (!res) {
        if (strcmp (tsr_db_sqlstate (call->db), "23505") == 0)
            return tsr_call_fail (call, S_PRECONDITION,
                                  "card request %s or reader %s has a job meanwhile",
                                  request->card_request_id, reader);
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the job");
    }
    PQclear (res);
    for (int i = 0; i < 2; i++) {
        if (!(i == 0 ? auth : sign))
            continue;
        const char *key [] = { job_id, i == 0 ? "154" : "156", i == 0 ? "1" : "2" };
        res = tsr_db_query (call->db,
            "INSERT INTO job_keys (job_id, slot, use) VALUES ($1, $2, $3)", 3, key);
        PQclear (res);
        if (!res)
            return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the job");
    }
    return S_OK;
}

//  Every bound of the request that needs no database.
tsr_status_t
perso_start_job_check (tsr_call_t *call, const Tessera__V1__StartJobRequest *in)
{
    int algorithm = in->key_algorithm ? (int) in->key_algorithm
                  : TESSERA__V1__CARD_KEY_ALGORITHM__CARD_KEY_ALGORITHM_EC_P256;
    if (!perso_id_valid (in->card_request_id))
        return tsr_call_fail (call, S_INVALID, "card_request_id must be 1 to 64 of [A-Za-z0-9._:-]");
    if (!perso_reader_valid (in->reader_name))
        return tsr_call_fail (call, S_INVALID, "reader_name must be 1 to 127 printable characters");
    if (algorithm != 1 && algorithm != 2)
        return tsr_call_fail (call, S_INVALID, "key_algorithm must be RSA_2048 or EC_P256");
    return S_OK;
}

tsr_status_t
perso_handle_start_job (tsr_call_t *call)
{
    perso_state_t *state = call->state;
    tsr_status_t status;
    Tessera__V1__StartJobRequest *in = (Tessera__V1__StartJobRequest *) tsr_call_unpack (
        call, &tessera__v1__start_job_request__descriptor, &status);
    if (!in)
        return status;
    status = S_OK;
    Tessera__V1__CardRequest *request = NULL;
    char operator_id [PERSO_ID_MAX + 1], account_id [PERSO_ID_MAX + 1] = "";
    char job_id [TSR_ID_HEX_SIZE], renewed_card [37] = "";
    bool same_card = false;
    perso_subject_t subject;
    bool auth = false, sign = false, encrypt = false;
    int algorithm = in->key_algorithm ? (int) in->key_algorithm
                  : TESSERA__V1__CARD_KEY_ALGORITHM__CARD_KEY_ALGORITHM_EC_P256;
    status = perso_start_job_check (call, in);
    if (status == S_OK && !state->have_master_key)
        status = tsr_call_fail (call, S_PRECONDITION, "no master key is configured "
                                "(TSR_PERSO_MASTER_KEY_FILE): cards cannot get their own keys");
    if (status != S_OK
    ||  (status = perso_caller_operator (call, operator_id)) != S_OK
    ||  (status = perso_fetch_request (call, in->card_request_id, &request)) != S_OK
    ||  (status = perso_request_usable (call, request, false)) != S_OK
    ||  (status = perso_renewal_start_check (call, request, in, renewed_card,
                                                      &same_card)) != S_OK)
        goto done;
    if (!s_slots (request, &auth, &sign, &encrypt)) {
        status = tsr_call_fail (call, S_PRECONDITION, "card request %s asks for a use a card "
                                "does not carry", in->card_request_id);
        goto done;
    }
    //  A same-card renewal asking for encryption gets a new escrowed key in
    //  9D like a first card (perso_run_escrow.c); the old key stays escrowed.
    if (encrypt && !state->have_recovery_key) {
        status = tsr_call_fail (call, S_PRECONDITION, "card request %s asks for encryption, and "
                                "no key-recovery key is configured (TSR_PERSO_RECOVERY_PUBLIC_KEY): "
                                "keys cannot be escrowed", in->card_request_id);
        goto done;
    }
    const char *values [] = { in->card_request_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT job_id, state FROM jobs WHERE card_request_id = $1 AND state <> 5", 1, values);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the jobs");
        goto done;
    }
    if (PQntuples (res) > 0)
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_ALREADY_EXISTS,
                                "card request %s has job %s already (state %s): follow, retry or "
                                "abandon it", in->card_request_id, PQgetvalue (res, 0, 0),
                                PQgetvalue (res, 0, 1));
    PQclear (res);
    if (status != S_OK
    ||  (status = s_reader_free (call, in->reader_name, NULL)) != S_OK
    ||  (status = perso_fetch_subject (call, request, &subject)) != S_OK
    ||  (status = perso_fetch_account (call, in->card_request_id, account_id)) != S_OK)
        goto done;
    if (encrypt && !*subject.email) {
        status = tsr_call_fail (call, S_PRECONDITION, "card request %s asks for encryption, and "
                                "the holder has no e-mail address at enrollment",
                                in->card_request_id);
        goto done;
    }
    tsr_random_id (job_id);
    if ((status = s_insert_job (call, job_id, request, &subject, account_id, in->reader_name,
                                algorithm, operator_id, auth, sign, encrypt)) != S_OK
    ||  (*renewed_card
         && (status = perso_renewal_mark_job (call, job_id, renewed_card,
                                              same_card ? in->holder_pin : NULL)) != S_OK))
        goto done;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "card_request_id", in->card_request_id);
    tsr_json_str (json, "reader", in->reader_name);
    tsr_json_int (json, "key_algorithm", algorithm);
    tsr_json_str (json, "operator_id", operator_id);
    if (perso_audit (call->db, call->caller_key, "perso.job_started", job_id,
                     call->request->trace_id, &json)
    ||  s_emit_started (call, job_id, in->card_request_id)) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the job");
        goto done;
    }
    status = s_reply_job (call, job_id, "job queued");
    perso_runner_wake (state->runner);
    tsr_log_info (call->request->trace_id, "perso.job_started", "job_id", job_id,
                  "card_request_id", in->card_request_id, NULL);
done:
    if (request)
        tessera__v1__card_request__free_unpacked (request, NULL);
    sodium_memzero (in->holder_pin, strlen (in->holder_pin));
    tessera__v1__start_job_request__free_unpacked (in, NULL);
    return status;
}

//  The job, locked, with its state. S_OK or the refusal.
static tsr_status_t
s_lock_job (tsr_call_t *call, const char *job_id, int *state, char *card_request_id,
            char *reader)
{
    const char *values [] = { job_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT state, card_request_id, reader_name FROM jobs WHERE job_id = $1 FOR UPDATE",
        1, values);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the jobs");
    tsr_status_t status = S_OK;
    if (PQntuples (res) != 1)
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND, "no job %s", job_id);
    else {
        *state = atoi (PQgetvalue (res, 0, 0));
        snprintf (card_request_id, PERSO_ID_MAX + 1, "%s", PQgetvalue (res, 0, 1));
        snprintf (reader, PERSO_READER_MAX + 2, "%s", PQgetvalue (res, 0, 2));
    }
    PQclear (res);
    return status;
}

tsr_status_t
perso_handle_retry_job (tsr_call_t *call)
{
    perso_state_t *state = call->state;
    tsr_status_t status;
    Tessera__V1__RetryJobRequest *in = (Tessera__V1__RetryJobRequest *) tsr_call_unpack (
        call, &tessera__v1__retry_job_request__descriptor, &status);
    if (!in)
        return status;
    status = S_OK;
    int job_state = 0;
    char card_request_id [PERSO_ID_MAX + 1], reader [PERSO_READER_MAX + 2];
    if (!perso_id_valid (in->job_id))
        status = tsr_call_fail (call, S_INVALID, "job_id must be 1 to 64 of [A-Za-z0-9._:-]");
    else
    if (*in->reader_name && !perso_reader_valid (in->reader_name))
        status = tsr_call_fail (call, S_INVALID, "reader_name must be 1 to 127 printable characters");
    else
    if (!state->have_master_key)
        status = tsr_call_fail (call, S_PRECONDITION, "no master key is configured "
                                "(TSR_PERSO_MASTER_KEY_FILE)");
    if (status != S_OK
    ||  (status = s_lock_job (call, in->job_id, &job_state, card_request_id, reader)) != S_OK)
        goto done;
    if (job_state != PERSO_JOB_FAILED) {
        status = tsr_call_fail (call, S_PRECONDITION, "job %s is not failed (state %d): only a "
                                "failed job is retried", in->job_id, job_state);
        goto done;
    }
    const char *use_reader = *in->reader_name ? in->reader_name : reader;
    if ((status = s_reader_free (call, use_reader, in->job_id)) != S_OK)
        goto done;
    const char *values [] = { in->job_id, use_reader, call->request->trace_id };
    PGresult *res = tsr_db_query (call->db,
        "UPDATE jobs SET state = 1, reader_name = $2, attempts = attempts + 1, failed_step = 0,"
        " failure_reason = '', trace_id = $3, updated_at = now() WHERE job_id = $1", 3, values);
    PQclear (res);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "card_request_id", card_request_id);
    tsr_json_str (json, "reader", use_reader);
    if (!res || perso_audit (call->db, call->caller_key, "perso.job_retried", in->job_id,
                             call->request->trace_id, &json)
    ||  s_emit_started (call, in->job_id, card_request_id)) {
        tsr_json_destroy (&json);
        status = tsr_call_fail (call, strcmp (tsr_db_sqlstate (call->db), "23505") == 0
                                      ? S_PRECONDITION : S_UNAVAILABLE,
                                "cannot queue the job again");
        goto done;
    }
    status = s_reply_job (call, in->job_id, "job queued again");
    perso_runner_wake (state->runner);
done:
    tessera__v1__retry_job_request__free_unpacked (in, NULL);
    return status;
}

tsr_status_t
perso_handle_abandon_job (tsr_call_t *call)
{
    perso_state_t *state = call->state;
    tsr_status_t status;
    Tessera__V1__AbandonJobRequest *in = (Tessera__V1__AbandonJobRequest *) tsr_call_unpack (
        call, &tessera__v1__abandon_job_request__descriptor, &status);
    if (!in)
        return status;
    status = S_OK;
    int job_state = 0;
    char card_request_id [PERSO_ID_MAX + 1], reader [PERSO_READER_MAX + 2];
    char **revoked = NULL;
    PGresult *keys = NULL;
    if (!perso_id_valid (in->job_id))
        status = tsr_call_fail (call, S_INVALID, "job_id must be 1 to 64 of [A-Za-z0-9._:-]");
    else
    if (!perso_text_valid (in->reason, 1, PERSO_REASON_MAX))
        status = tsr_call_fail (call, S_INVALID, "reason is required: 1 to 512 printable characters");
    if (status != S_OK
    ||  (status = s_lock_job (call, in->job_id, &job_state, card_request_id, reader)) != S_OK)
        goto done;
    if (job_state != PERSO_JOB_FAILED) {
        status = tsr_call_fail (call, S_PRECONDITION, "job %s is not failed (state %d): only a "
                                "failed job is abandoned", in->job_id, job_state);
        goto done;
    }
    const char *values [] = { in->job_id, in->reason };
    //  The on-card keys' certificates, and the escrowed encryption key's
    //  (slot 9D) once ca certified it: the key stays in escrow, recoverable.
    keys = tsr_db_query (call->db,
        "SELECT slot, serial_hex FROM job_keys WHERE job_id = $1 AND serial_hex IS NOT NULL"
        " UNION ALL SELECT 157, serial_hex FROM escrowed_keys WHERE job_id = $1 AND state = 2"
        " ORDER BY 1", 1, values);
    int count = keys ? PQntuples (keys) : 0;
    revoked = calloc ((size_t) count + 1, sizeof *revoked);
    if (!keys || !revoked) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the job's certificates");
        goto done;
    }
    perso_job_t job;
    memset (&job, 0, sizeof job);
    snprintf (job.job_id, sizeof job.job_id, "%s", in->job_id);
    for (int i = 0; i < count; i++) {
        char message [256] = "";
        const char *serial = PQgetvalue (keys, i, 1);
        if (perso_run_revoke (state, call->request->trace_id, serial, S_CESSATION, in->job_id,
                              message, sizeof message)) {
            status = tsr_call_fail (call, S_UNAVAILABLE, "ca did not revoke %s: %.160s; retry",
                                    serial, message);
            goto done;
        }
        if (perso_job_record_revoked (call->db, &job, (uint8_t) atoi (PQgetvalue (keys, i, 0)),
                                      serial, S_CESSATION)) {
            status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the revocation");
            goto done;
        }
        revoked [i] = (char *) serial;
    }
    PGresult *res = tsr_db_query (call->db,
        "UPDATE jobs SET state = 5, abandon_reason = $2, sealed_pin = NULL, finished_at = now(),"
        " updated_at = now() WHERE job_id = $1", 2, values);
    PQclear (res);
    Tessera__V1__PersoJobChanged event = TESSERA__V1__PERSO_JOB_CHANGED__INIT;
    event.job_id = in->job_id;
    event.card_request_id = card_request_id;
    event.state = TESSERA__V1__PERSO_JOB_STATE__PERSO_JOB_STATE_ABANDONED;
    event.reason = in->reason;
    event.n_revoked_serials = (size_t) count;
    event.revoked_serials = revoked;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "card_request_id", card_request_id);
    tsr_json_str (json, "reason", in->reason);
    tsr_json_int (json, "certificates_revoked", count);
    if (!res || perso_audit (call->db, call->caller_key, "perso.job_abandoned", in->job_id,
                             call->request->trace_id, &json)
    ||  perso_emit (call->db, "perso.job.abandoned", in->job_id, call->request->trace_id,
                    &event.base)) {
        tsr_json_destroy (&json);
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the abandon");
        goto done;
    }
    status = s_reply_job (call, in->job_id, count ? "job abandoned, its certificates revoked"
                                                  : "job abandoned");
done:
    free (revoked);
    PQclear (keys);
    tessera__v1__abandon_job_request__free_unpacked (in, NULL);
    return status;
}
