/*  perso_run_record: RECORD_CARD, the end of a job (see perso_run.h).

    In one transaction: the card (formatted, then personalised: a card
    operation in its history), its certificates, its activation code
    (hash), the "card.personalised" and "pin_mailer.ready" events (the PIN
    sealed at SET_PIN_AND_PUK, the code sealed now), the job succeeded
    with its sealed PIN dropped, the step done, the audit row. Either all
    of it is recorded or none, and a failed commit leaves the job to retry.
*/
#include "perso_run.h"
#include "perso_cards.h"
#include "perso_mailer.h"
#include "perso_records.h"
#include "perso_renewal.h"
#include "tessera/log.h"

#include <stdio.h>
#include <string.h>

static int
s_insert_card (perso_run_t *run)
{
    perso_job_t *job = &run->job;
    char level [8], algorithm [8];
    snprintf (level, sizeof level, "%d", job->level);
    snprintf (algorithm, sizeof algorithm, "%d", job->key_algorithm);
    const char *values [] = { job->card_uuid, job->atr_hex, job->reader_name,
                              job->card_request_id, job->person_id, job->organisation_id,
                              job->account_id, level, job->job_id, algorithm };
    PGresult *res = tsr_db_query (run->db,
        "INSERT INTO cards (card_uuid, atr_hex, reader_name, card_request_id, person_id,"
        " organisation_id, account_id, level, job_id, key_algorithm, state)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)", 10, values);
    PQclear (res);
    if (!res)
        return -1;
    for (int i = 0; i < PERSO_JOB_KEYS; i++) {
        perso_job_key_t *key = &job->keys [i];
        if (!key->wanted)
            continue;
        char use [8], not_after [24];
        snprintf (use, sizeof use, "%d", key->use);
        snprintf (not_after, sizeof not_after, "%lld", (long long) key->not_after_unix);
        const char *cert [] = { job->card_uuid, key->slot == 0x9A ? "9A" : "9C", use,
                                key->serial_hex, not_after, algorithm };
        res = tsr_db_query (run->db,
            "INSERT INTO card_certificates (card_uuid, slot, use, serial_hex, not_after,"
            " key_algorithm) VALUES ($1, $2, $3, $4, to_timestamp($5::bigint), $6)", 6, cert);
        PQclear (res);
        if (!res)
            return -1;
    }
    //  The escrowed encryption key's certificate (perso_run_escrow.c), on
    //  hold like the others until activation.
    const char *escrow [] = { job->card_uuid, algorithm, job->job_id };
    res = tsr_db_query (run->db,
        "INSERT INTO card_certificates (card_uuid, slot, use, serial_hex, not_after, key_algorithm)"
        " SELECT $1, '9D', 5, serial_hex, not_after, $2 FROM escrowed_keys"
        " WHERE job_id = $3 AND state = 2", 3, escrow);
    PQclear (res);
    if (!res)
        return -1;
    return 0;
}

int
perso_run_card_event (perso_run_t *run, const char *type)
{
    perso_job_t *job = &run->job;
    Tessera__V1__CardCertificate certs [PERSO_JOB_KEYS], *list [PERSO_JOB_KEYS];
    size_t count = 0;
    for (int i = 0; i < PERSO_JOB_KEYS; i++) {
        perso_job_key_t *key = &job->keys [i];
        if (!key->wanted)
            continue;
        tessera__v1__card_certificate__init (&certs [count]);
        certs [count].slot = key->slot == 0x9A ? "9A" : "9C";
        certs [count].use = (Tessera__V1__CertificateUse) key->use;
        certs [count].serial_hex = key->serial_hex;
        certs [count].not_after_unix = key->not_after_unix;
        certs [count].key_algorithm = (Tessera__V1__CardKeyAlgorithm) job->key_algorithm;
        list [count] = &certs [count];
        count++;
    }
    Tessera__V1__CardPersonalised event = TESSERA__V1__CARD_PERSONALISED__INIT;
    event.card_uuid = job->card_uuid;
    event.card_request_id = job->card_request_id;
    event.person_id = job->person_id;
    event.organisation_id = job->organisation_id;
    event.job_id = job->job_id;
    event.n_certificates = count;
    event.certificates = list;
    return perso_emit (run->db, type, job->card_uuid, run->trace_id, &event.base);
}

int
perso_run_record_end (perso_run_t *run, const char *event_type, const char *action,
                      tsr_json_t **json_p)
{
    perso_job_t *job = &run->job;
    const char *values [] = { job->job_id };
    PGresult *res = NULL;
    int ok = perso_run_card_event (run, event_type) == 0
        && (res = tsr_db_query (run->db,
               "UPDATE jobs SET state = 3, sealed_pin = NULL, holder_pin_box = NULL,"
               " finished_at = now(), updated_at = now() WHERE job_id = $1 AND state = 2",
               1, values))
        && strcmp (PQcmdTuples (res), "1") == 0
        && perso_job_step_done (run->db, job, PERSO_STEP (RECORD_CARD), run->detail) == 0
        && perso_audit (run->db, PERSO_RUNNER_ACTOR, action, job->card_uuid, run->trace_id,
                        json_p) == 0;
    PQclear (res);
    tsr_json_destroy (json_p);
    return ok ? 0 : -1;
}

int
perso_run_record_card (perso_run_t *run)
{
    perso_job_t *job = &run->job;
    char err [256] = "";
    if (job->renewal)
        return perso_renewal_record (run);
    if (!job->sealed_pin) {
        snprintf (run->detail, sizeof run->detail,
                  "the sealed PIN is missing: the PIN mailer cannot be made; abandon the job");
        return -1;
    }
    perso_card_row_t row;
    memset (&row, 0, sizeof row);
    snprintf (row.card_uuid, sizeof row.card_uuid, "%s", job->card_uuid);
    snprintf (row.person_id, sizeof row.person_id, "%s", job->person_id);
    row.state = PERSO_CARD_FORMATTED;
    perso_card_change_t change = { PERSO_RUNNER_ACTOR, "", "personalisation job", run->trace_id };
    perso_mailer_t mailer = { job->card_uuid, job->card_request_id, job->person_id,
                              job->sealed_pin, job->sealed_pin_size, false, run->trace_id };
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "job_id", job->job_id);
    tsr_json_str (json, "card_request_id", job->card_request_id);
    tsr_json_str (json, "atr", job->atr_hex);
    tsr_json_str (json, "reader", job->reader_name);
    tsr_json_str (json, "serial_9a", job->keys [0].serial_hex);
    tsr_json_str (json, "serial_9c", job->keys [1].serial_hex);
    snprintf (run->detail, sizeof run->detail, "card %s recorded, PIN mailer ready",
              job->card_uuid);
    int ok = tsr_db_begin (run->db) == 0
        && s_insert_card (run) == 0
        && perso_card_apply (run->db, &row, PERSO_CARD_PERSONALISED, PERSO_BY_CARD_OPERATION, 0,
                             &change) == PERSO_TRANSITION_OK
        && perso_mailer_issue (run->state, run->db, &mailer, err, sizeof err) == 0
        && (!*job->renews_card_uuid || perso_renewal_note_old_card (run) == 0)
        && perso_run_record_end (run, "card.personalised", "perso.card_personalised", &json) == 0
        && tsr_db_commit (run->db) == 0;
    tsr_json_destroy (&json);
    if (!ok) {
        snprintf (run->detail, sizeof run->detail, "cannot record the card: %s",
                  *err ? err : tsr_db_error (run->db));
        tsr_db_rollback (run->db);
        return -1;
    }
    tsr_log_info (run->trace_id, "perso.card_personalised", "job_id", job->job_id, "card_uuid",
                  job->card_uuid, NULL);
    return 0;
}
