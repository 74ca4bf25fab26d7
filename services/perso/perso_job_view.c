/*  perso_job_view: a job as the PersoJob message (see perso_job.h).
*/
#include "perso_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_VIEW_SELECT \
    "SELECT job_id, card_request_id, person_id, state, reader_name, coalesce(card_uuid, '')," \
    " atr_hex, key_algorithm, failed_step, failure_reason, attempts, started_by_operator_id," \
    " extract(epoch FROM created_at)::bigint, extract(epoch FROM updated_at)::bigint," \
    " coalesce(extract(epoch FROM finished_at)::bigint, 0), renewal FROM jobs WHERE job_id = $1"

static int64_t
s_int (PGresult *res, int row, int column)
{
    return strtoll (PQgetvalue (res, row, column), NULL, 10);
}

int
perso_job_view_load (tsr_db_t *db, const char *job_id, perso_job_view_t *view)
{
    memset (view, 0, sizeof *view);
    tessera__v1__perso_job__init (&view->message);
    const char *values [] = { job_id };
    view->job_res = tsr_db_query (db, S_VIEW_SELECT, 1, values);
    if (!view->job_res)
        return -1;
    if (PQntuples (view->job_res) != 1)
        return 0;
    PGresult *res = view->job_res;
    Tessera__V1__PersoJob *job = &view->message;
    job->job_id = PQgetvalue (res, 0, 0);
    job->card_request_id = PQgetvalue (res, 0, 1);
    job->person_id = PQgetvalue (res, 0, 2);
    job->state = (Tessera__V1__PersoJobState) s_int (res, 0, 3);
    job->reader_name = PQgetvalue (res, 0, 4);
    job->card_uuid = PQgetvalue (res, 0, 5);
    job->atr_hex = PQgetvalue (res, 0, 6);
    job->key_algorithm = (Tessera__V1__CardKeyAlgorithm) s_int (res, 0, 7);
    job->failed_step = (Tessera__V1__PersoStep) s_int (res, 0, 8);
    job->failure_reason = PQgetvalue (res, 0, 9);
    job->attempts = (uint32_t) s_int (res, 0, 10);
    job->started_by_operator_id = PQgetvalue (res, 0, 11);
    job->created_at_unix = s_int (res, 0, 12);
    job->updated_at_unix = s_int (res, 0, 13);
    job->finished_at_unix = s_int (res, 0, 14);
    job->renewal = strcmp (PQgetvalue (res, 0, 15), "t") == 0;
    //  Every step of every run, in order.
    view->steps_res = tsr_db_query (db,
        "SELECT step, state, (extract(epoch FROM started_at) * 1000)::bigint,"
        " coalesce((extract(epoch FROM finished_at) * 1000)::bigint, 0), detail"
        " FROM job_steps WHERE job_id = $1 ORDER BY attempt, step", 1, values);
    view->serials_res = tsr_db_query (db,
        "SELECT serial_hex FROM job_keys WHERE job_id = $1 AND serial_hex IS NOT NULL"
        " UNION SELECT serial_hex FROM job_revoked_certificates WHERE job_id = $1"
        " ORDER BY 1", 1, values);
    if (!view->steps_res || !view->serials_res)
        return -1;
    size_t steps = (size_t) PQntuples (view->steps_res);
    size_t serials = (size_t) PQntuples (view->serials_res);
    view->steps = calloc (steps + 1, sizeof *view->steps);
    view->step_list = calloc (steps + 1, sizeof *view->step_list);
    view->serials = calloc (serials + 1, sizeof *view->serials);
    if (!view->steps || !view->step_list || !view->serials)
        return -1;
    for (size_t i = 0; i < steps; i++) {
        Tessera__V1__PersoJobStep *step = &view->steps [i];
        tessera__v1__perso_job_step__init (step);
        step->step = (Tessera__V1__PersoStep) s_int (view->steps_res, (int) i, 0);
        step->state = (Tessera__V1__PersoStepState) s_int (view->steps_res, (int) i, 1);
        step->started_at_unix_ms = s_int (view->steps_res, (int) i, 2);
        step->finished_at_unix_ms = s_int (view->steps_res, (int) i, 3);
        step->detail = PQgetvalue (view->steps_res, (int) i, 4);
        view->step_list [i] = step;
    }
    for (size_t i = 0; i < serials; i++)
        view->serials [i] = PQgetvalue (view->serials_res, (int) i, 0);
    job->n_steps = steps;
    job->steps = view->step_list;
    job->n_certificate_serials = serials;
    job->certificate_serials = view->serials;
    return 1;
}

void
perso_job_view_release (perso_job_view_t *view)
{
    PQclear (view->job_res);
    PQclear (view->steps_res);
    PQclear (view->serials_res);
    free (view->steps);
    free (view->step_list);
    free (view->serials);
    memset (view, 0, sizeof *view);
}
