/*  perso_run: the step sequence of a job run, its checkpoints and its
    failure (see perso_run.h).
*/
#include "perso_run.h"
#include "perso_records.h"
#include "perso_renewal.h"
#include "tessera/log.h"
#include "tessera/trace.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

int
perso_run_card_failed (perso_run_t *run, const perso_piv_status_t *status)
{
    snprintf (run->detail, sizeof run->detail, "%s", status->detail);
    return -1;
}

//  Progress and keys, in the caller's transaction.
static int
s_save (perso_run_t *run)
{
    if (perso_job_save_progress (run->db, &run->job))
        return -1;
    for (int i = 0; i < PERSO_JOB_KEYS; i++)
        if (run->job.keys [i].wanted && perso_job_save_key (run->db, &run->job, &run->job.keys [i]))
            return -1;
    return 0;
}

int
perso_run_checkpoint (perso_run_t *run)
{
    if (tsr_db_begin (run->db) == 0 && s_save (run) == 0 && tsr_db_commit (run->db) == 0)
        return 0;
    tsr_db_rollback (run->db);
    snprintf (run->detail, sizeof run->detail, "cannot record the job's progress: %s",
              tsr_db_error (run->db));
    return -1;
}

static int
s_step_start (perso_run_t *run, perso_step_t step)
{
    if (tsr_db_begin (run->db) == 0 && perso_job_step_start (run->db, &run->job, step) == 0
    &&  tsr_db_commit (run->db) == 0)
        return 0;
    tsr_db_rollback (run->db);
    return -1;
}

static int
s_step_done (perso_run_t *run, perso_step_t step)
{
    if (tsr_db_begin (run->db) == 0 && s_save (run) == 0
    &&  perso_job_step_done (run->db, &run->job, step, run->detail) == 0
    &&  tsr_db_commit (run->db) == 0)
        return 0;
    tsr_db_rollback (run->db);
    return -1;
}

//  The failure, alone: step row, job state, audit, event.
static void
s_fail (perso_run_t *run, perso_step_t step, const char *reason)
{
    perso_job_t *job = &run->job;
    char attempt [16], step_text [8];
    snprintf (attempt, sizeof attempt, "%d", job->attempts);
    snprintf (step_text, sizeof step_text, "%d", (int) step);
    const char *values [] = { job->job_id, attempt, step_text, reason };
    const char *job_values [] = { job->job_id, step_text, reason };
    PGresult *steps = NULL, *jobs = NULL;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "card_request_id", job->card_request_id);
    tsr_json_str (json, "step", perso_step_name (step));
    tsr_json_str (json, "reason", reason);
    tsr_json_int (json, "attempt", job->attempts);
    Tessera__V1__PersoJobChanged event = TESSERA__V1__PERSO_JOB_CHANGED__INIT;
    event.job_id = job->job_id;
    event.card_request_id = job->card_request_id;
    event.state = TESSERA__V1__PERSO_JOB_STATE__PERSO_JOB_STATE_FAILED;
    event.failed_step = step;
    event.reason = (char *) reason;
    int ok = tsr_db_begin (run->db) == 0
        && (steps = tsr_db_query (run->db,
               "INSERT INTO job_steps (job_id, attempt, step, state, finished_at, detail)"
               " VALUES ($1, $2, $3, 3, now(), $4) ON CONFLICT (job_id, attempt, step)"
               " DO UPDATE SET state = 3, finished_at = now(), detail = $4", 4, values))
        && (jobs = tsr_db_query (run->db,
               "UPDATE jobs SET state = 4, failed_step = $2, failure_reason = $3,"
               " updated_at = now(), heartbeat_at = now() WHERE job_id = $1 AND state = 2",
               3, job_values))
        && perso_audit (run->db, PERSO_RUNNER_ACTOR, "perso.job_failed", job->job_id,
                        run->trace_id, &json) == 0
        && perso_emit (run->db, "perso.job.failed", job->job_id, run->trace_id, &event.base) == 0
        && tsr_db_commit (run->db) == 0;
    PQclear (steps);
    PQclear (jobs);
    tsr_json_destroy (&json);
    if (!ok) {
        tsr_db_rollback (run->db);
        tsr_log_error (run->trace_id, "perso.job_failure_not_recorded", "job_id", job->job_id,
                       "reason", tsr_db_error (run->db), NULL);
    }
    tsr_counter_inc (run->state->jobs_ended, "failed", 1);
    tsr_counter_inc (run->state->steps_failed, perso_step_name (step), 1);
    tsr_log_warn (run->trace_id, "perso.job_failed", "job_id", job->job_id, "step",
                  perso_step_name (step), "reason", reason, NULL);
}

//  Step functions in order; the two generations share one.
static int s_generate_auth (perso_run_t *run) { return perso_run_generate (run, 0); }
static int s_generate_sign (perso_run_t *run) { return perso_run_generate (run, 1); }

static const struct {
    perso_step_t step;
    int (*run) (perso_run_t *run);
} s_steps [] = {
    { PERSO_STEP (CONNECT), perso_run_connect },
    { PERSO_STEP (SELECT_APPLICATION), perso_run_select },
    { PERSO_STEP (AUTHENTICATE_TRANSPORT_KEY), perso_run_authenticate },
    { PERSO_STEP (GENERATE_AUTHENTICATION_KEY), s_generate_auth },
    { PERSO_STEP (GENERATE_SIGNATURE_KEY), s_generate_sign },
    { PERSO_STEP (SIGN_CSRS), perso_run_sign_csrs },
    { PERSO_STEP (ISSUE_CERTIFICATES), perso_run_issue },
    { PERSO_STEP (WRITE_CERTIFICATES), perso_run_write_certificates },
    { PERSO_STEP (ESCROW_ENCRYPTION_KEY), perso_run_escrow },
    { PERSO_STEP (WRITE_CHUID), perso_run_write_chuid },
    { PERSO_STEP (SET_PIN_AND_PUK), perso_run_set_pin_and_puk },
    { PERSO_STEP (CHANGE_MANAGEMENT_KEY), perso_run_change_management_key },
    { PERSO_STEP (RECORD_CARD), perso_run_record_card },
};

void
perso_run_job (perso_state_t *state, tsr_db_t *db, perso_pcsc_t *pcsc, const char *job_id,
               atomic_bool *stop)
{
    perso_run_t run;
    memset (&run, 0, sizeof run);
    run.state = state;
    run.db = db;
    run.pcsc = pcsc;
    run.card.transmit = perso_pcsc_transmit;
    run.card.io = pcsc;
    run.stop = stop;
    int found = perso_job_load (db, job_id, &run.job);
    if (found != 1) {
        tsr_log_error (NULL, "perso.job_unreadable", "job_id", job_id, "reason",
                       found < 0 ? tsr_db_error (db) : "no such job", NULL);
        perso_job_release (&run.job);
        return;
    }
    {
        const char *values [] = { job_id };
        PGresult *res = tsr_db_query (db, "SELECT trace_id FROM jobs WHERE job_id = $1", 1, values);
        snprintf (run.trace_id, sizeof run.trace_id, "%s",
                  res && PQntuples (res) == 1 ? PQgetvalue (res, 0, 0) : "");
        PQclear (res);
    }
    //  The job runs on the runner's thread, after the request that made it:
    //  its lines and its calls (ca, mail) carry that request's trace id.
    tsr_trace_set (run.trace_id);
    tsr_log_info (run.trace_id, "perso.job_running", "job_id", job_id, "reader",
                  run.job.reader_name, NULL);
    bool pin_unreadable = run.job.renewal && perso_renewal_open_pin (&run, run.holder_pin);
    for (size_t i = 0; i < sizeof s_steps / sizeof s_steps [0]; i++) {
        perso_step_t step = s_steps [i].step;
        run.detail [0] = 0;
        if (atomic_load (stop)) {
            s_fail (&run, step, "perso stopped before this step; retry the job");
            break;
        }
        if (pin_unreadable) {
            s_fail (&run, step, run.detail);
            break;
        }
        if (s_step_start (&run, step)) {
            s_fail (&run, step, "cannot record the step (database)");
            break;
        }
        if (s_steps [i].run (&run)) {
            s_fail (&run, step, *run.detail ? run.detail : "failed");
            break;
        }
        //  RECORD_CARD commits its own "done" with everything else.
        if (step != PERSO_STEP (RECORD_CARD) && s_step_done (&run, step)) {
            s_fail (&run, step, "cannot record the step's result (database)");
            break;
        }
        if (step == PERSO_STEP (RECORD_CARD))
            tsr_counter_inc (state->jobs_ended, "succeeded", 1);
    }
    perso_pcsc_disconnect (pcsc);
    sodium_memzero (run.holder_pin, sizeof run.holder_pin);
    perso_job_release (&run.job);
    tsr_trace_clear ();
}
