/*  GetJob, ListJobs, ListReaders: what the perso operator and the
    controller read.
*/
#include "perso_handlers.h"
#include "perso_input.h"
#include "perso_job.h"
#include "perso_page.h"
#include "perso_pcsc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

tsr_status_t
perso_handle_get_job (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__GetJobRequest *in = (Tessera__V1__GetJobRequest *) tsr_call_unpack (
        call, &tessera__v1__get_job_request__descriptor, &status);
    if (!in)
        return status;
    if (!perso_id_valid (in->job_id))
        status = tsr_call_fail (call, S_INVALID, "job_id must be 1 to 64 of [A-Za-z0-9._:-]");
    else {
        perso_job_view_t view;
        int found = perso_job_view_load (call->db, in->job_id, &view);
        status = found == 1 ? tsr_call_reply (call, &view.message.base, "found")
               : found == 0 ? tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                                             "no job %s", in->job_id)
               : tsr_call_fail (call, S_UNAVAILABLE, "cannot read the job");
        perso_job_view_release (&view);
    }
    tessera__v1__get_job_request__free_unpacked (in, NULL);
    return status;
}

tsr_status_t
perso_handle_list_jobs (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ListJobsRequest *in = (Tessera__V1__ListJobsRequest *) tsr_call_unpack (
        call, &tessera__v1__list_jobs_request__descriptor, &status);
    if (!in)
        return status;
    perso_page_t page = { .limit = 0 };
    PGresult *res = NULL;
    perso_job_view_t *views = NULL;
    Tessera__V1__PersoJob **list = NULL;
    size_t count = 0;
    if ((int) in->state < 0 || in->state > 5)
        status = tsr_call_fail (call, S_INVALID, "state must be a PersoJobState");
    else
    if (!perso_optional_id_valid (in->card_request_id))
        status = tsr_call_fail (call, S_INVALID, "card_request_id must be 1 to 64 of [A-Za-z0-9._:-]");
    else
    if ((status = perso_page_start (call, in->limit, in->page_token, &page)) == S_OK) {
        char state [16];
        snprintf (state, sizeof state, "%d", (int) in->state);
        const char *values [] = { state, in->card_request_id, page.after, page.limit_text };
        res = tsr_db_query (call->db,
            "SELECT job_id, seq FROM jobs WHERE ($1::smallint = 0 OR state = $1::smallint)"
            " AND ($2 = '' OR card_request_id = $2) AND ($3::bigint = 0 OR seq < $3::bigint)"
            " ORDER BY seq DESC LIMIT $4::int + 1", 4, values);
        status = res ? S_OK : tsr_call_fail (call, S_UNAVAILABLE, "cannot read the jobs");
    }
    if (status != S_OK)
        goto done;
    count = perso_page_end (&page, res);
    views = calloc (count + 1, sizeof *views);
    list = calloc (count + 1, sizeof *list);
    if (!views || !list) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        if (perso_job_view_load (call->db, PQgetvalue (res, (int) i, 0), &views [i]) != 1) {
            status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the jobs");
            goto done;
        }
        list [i] = &views [i].message;
    }
    Tessera__V1__ListJobsReply reply = TESSERA__V1__LIST_JOBS_REPLY__INIT;
    reply.n_jobs = count;
    reply.jobs = list;
    reply.next_page_token = page.next;
    status = tsr_call_reply (call, &reply.base, "jobs");
done:
    for (size_t i = 0; views && i < count; i++)
        perso_job_view_release (&views [i]);
    free (views);
    free (list);
    PQclear (res);
    tessera__v1__list_jobs_request__free_unpacked (in, NULL);
    return status;
}

tsr_status_t
perso_handle_list_readers (tsr_call_t *call)
{
    perso_reader_t readers [PERSO_READERS_MAX];
    size_t count = 0;
    char err [256] = "";
    perso_pcsc_t *pcsc = perso_pcsc_new ();
    int rc = pcsc ? perso_pcsc_list (pcsc, readers, PERSO_READERS_MAX, &count, err, sizeof err) : -1;
    perso_pcsc_destroy (&pcsc);
    if (rc)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot list the readers: %s",
                              *err ? err : "out of memory");
    PGresult *res = tsr_db_query (call->db,
        "SELECT reader_name, job_id FROM jobs WHERE state IN (1, 2)", 0, NULL);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the jobs");
    Tessera__V1__Reader items [PERSO_READERS_MAX], *list [PERSO_READERS_MAX];
    for (size_t i = 0; i < count; i++) {
        tessera__v1__reader__init (&items [i]);
        items [i].name = readers [i].name;
        items [i].card_present = readers [i].card_present;
        items [i].atr_hex = readers [i].atr_hex;
        items [i].job_id = "";
        for (int row = 0; row < PQntuples (res); row++)
            if (strcmp (PQgetvalue (res, row, 0), readers [i].name) == 0)
                items [i].job_id = PQgetvalue (res, row, 1);
        list [i] = &items [i];
    }
    Tessera__V1__ListReadersReply reply = TESSERA__V1__LIST_READERS_REPLY__INIT;
    reply.n_readers = count;
    reply.readers = list;
    tsr_status_t status = tsr_call_reply (call, &reply.base, count ? "readers" : "no reader");
    PQclear (res);
    return status;
}
