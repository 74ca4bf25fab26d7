/*  perso_renewal_record: RECORD_CARD of a renewal job (see perso_renewal.h).

    In one transaction: the card's renewed slots (9A, 9C, and 9D when the
    renewal asks for encryption) keep their old serials in card_renewals
    (superseded at acceptance) and get the new certificates,
    the card now answers for the renewal request, a new activation code
    goes to mail (a PIN mailer without PIN: the PIN is the holder's),
    "card.renewed" (CardPersonalised) is emitted, the job succeeds with the
    holder's PIN dropped, the step is done and audited. The card stays in
    its state (active).
*/
#include "perso_renewal.h"
#include "perso_mailer.h"
#include "perso_records.h"
#include "tessera/log.h"

#include <stdio.h>
#include <string.h>

//  The card's certificate in slot leaves card_certificates for
//  card_renewals (superseded at acceptance). None there: nothing to do.
static int
s_retire_slot (perso_run_t *run, const char *slot)
{
    perso_job_t *job = &run->job;
    const char *old [] = { job->job_id, job->card_uuid, slot };
    PGresult *res = tsr_db_query (run->db,
        "WITH moved AS (DELETE FROM card_certificates WHERE card_uuid = $2 AND slot = $3"
        " RETURNING serial_hex) INSERT INTO card_renewals (job_id, card_uuid, slot, serial_hex)"
        " SELECT $1, $2, $3, serial_hex FROM moved", 3, old);
    PQclear (res);
    return res ? 0 : -1;
}

//  A renewal asking for encryption: ESCROW_ENCRYPTION_KEY put a new key,
//  escrowed, in 9D and its certificate in 5FC10B (perso_run_escrow.c). That
//  certificate replaces the card's 9D one; the old key stays in
//  escrowed_keys, recoverable, so that mail encrypted to it stays readable.
static int
s_swap_encryption (perso_run_t *run, const char *algorithm, char *err, size_t err_size)
{
    perso_job_t *job = &run->job;
    if (s_retire_slot (run, "9D"))
        return -1;
    const char *escrow [] = { job->card_uuid, algorithm, job->job_id };
    PGresult *res = tsr_db_query (run->db,
        "INSERT INTO card_certificates (card_uuid, slot, use, serial_hex, not_after, key_algorithm)"
        " SELECT $1, '9D', 5, serial_hex, not_after, $2 FROM escrowed_keys"
        " WHERE job_id = $3 AND state = 2", 3, escrow);
    int rc = res && strcmp (PQcmdTuples (res), "1") == 0 ? 0 : -1;
    if (res && rc)
        snprintf (err, err_size, "the job has no certified encryption key: retry the job");
    PQclear (res);
    return rc;
}

static int
s_swap_certificates (perso_run_t *run, char *err, size_t err_size)
{
    perso_job_t *job = &run->job;
    char algorithm [8];
    snprintf (algorithm, sizeof algorithm, "%d", job->key_algorithm);
    for (int i = 0; i < PERSO_JOB_KEYS; i++) {
        perso_job_key_t *key = &job->keys [i];
        if (!key->wanted)
            continue;
        char use [8], not_after [24];
        snprintf (use, sizeof use, "%d", key->use);
        snprintf (not_after, sizeof not_after, "%lld", (long long) key->not_after_unix);
        const char *slot = key->slot == 0x9A ? "9A" : "9C";
        if (s_retire_slot (run, slot))
            return -1;
        const char *cert [] = { job->card_uuid, slot, use, key->serial_hex, not_after, algorithm };
        PGresult *res = tsr_db_query (run->db,
            "INSERT INTO card_certificates (card_uuid, slot, use, serial_hex, not_after,"
            " key_algorithm) VALUES ($1, $2, $3, $4, to_timestamp($5::bigint), $6)", 6, cert);
        PQclear (res);
        if (!res)
            return -1;
    }
    if (job->encryption && s_swap_encryption (run, algorithm, err, err_size))
        return -1;
    const char *card [] = { job->card_uuid, job->card_request_id, job->job_id };
    PGresult *res = tsr_db_query (run->db,
        "UPDATE cards SET card_request_id = $2, job_id = $3, updated_at = now()"
        " WHERE card_uuid = $1", 3, card);
    PQclear (res);
    return res ? 0 : -1;
}

int
perso_renewal_note_old_card (perso_run_t *run)
{
    perso_job_t *job = &run->job;
    const char *values [] = { job->job_id, job->card_uuid, job->renews_card_uuid };
    PGresult *res = tsr_db_query (run->db,
        "INSERT INTO card_renewals (job_id, card_uuid, slot, serial_hex)"
        " SELECT $1, $2, slot, serial_hex FROM card_certificates WHERE card_uuid = $3", 3, values);
    PQclear (res);
    return res ? 0 : -1;
}

int
perso_renewal_record (perso_run_t *run)
{
    perso_job_t *job = &run->job;
    char err [256] = "";
    perso_mailer_t mailer = { job->card_uuid, job->card_request_id, job->person_id, NULL, 0, true,
                              run->trace_id };
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "job_id", job->job_id);
    tsr_json_str (json, "card_request_id", job->card_request_id);
    tsr_json_str (json, "serial_9a", job->keys [0].serial_hex);
    tsr_json_str (json, "serial_9c", job->keys [1].serial_hex);
    snprintf (run->detail, sizeof run->detail, "card %s renewed, new activation code sent to mail",
              job->card_uuid);
    int ok = tsr_db_begin (run->db) == 0
        && s_swap_certificates (run, err, sizeof err) == 0
        && perso_mailer_issue (run->state, run->db, &mailer, err, sizeof err) == 0
        && perso_run_record_end (run, "card.renewed", "perso.card_renewed", &json) == 0
        && tsr_db_commit (run->db) == 0;
    tsr_json_destroy (&json);
    if (!ok) {
        snprintf (run->detail, sizeof run->detail, "cannot record the renewal: %s",
                  *err ? err : tsr_db_error (run->db));
        tsr_db_rollback (run->db);
        return -1;
    }
    tsr_log_info (run->trace_id, "perso.card_renewed", "job_id", job->job_id, "card_uuid",
                  job->card_uuid, NULL);
    return 0;
}
