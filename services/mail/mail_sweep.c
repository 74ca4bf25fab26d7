/*  mail_sweep: expiry notices, daily and on request (see mail_sweep.h).
*/
#include "mail_sweep.h"
#include "mail_handlers.h"
#include "mail_notices.h"
#include "mail_records.h"
#include "tessera/log.h"
#include "tessera/v1/mail.pb-c.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define S_CHECK_MS 60000

//  The notices of one card request's certificates.
static int
s_notify (mail_state_t *state, tsr_db_t *db, PGresult *res, int row, int64_t now,
          const char *actor, const char *trace_id, unsigned *queued)
{
    const char *holder_id = PQgetvalue (res, row, 0);
    const char *card_request_id = PQgetvalue (res, row, 1);
    int64_t not_after = mail_row_int (res, row, 3);
    char date [16], days [24], dedup [96];
    mail_date_format (not_after, date);
    snprintf (days, sizeof days, "%lld", (long long) ((not_after - now + 86399) / 86400));
    mail_param_t params [] = {
        { "serials", PQgetvalue (res, row, 2) }, { "not_after", date }, { "days_left", days },
        { "portal_url", state->portal_url },
    };
    snprintf (dedup, sizeof dedup, "expiring:%s", card_request_id);
    mail_notice_t notice = {
        .template_id = TESSERA__V1__EMAIL_TEMPLATE__EMAIL_TEMPLATE_CERTIFICATE_EXPIRING,
        .params = params, .param_count = 3, .source_service = "", .dedup_key = dedup,
        .actor = actor, .trace_id = trace_id, .queued = queued,
    };
    if (mail_notice_person_id (db, state, holder_id, &notice))
        return -1;
    if (not_after > now + state->renewal_notice_days * 86400)
        return 0;
    snprintf (dedup, sizeof dedup, "renewal:%s", card_request_id);
    notice.template_id = TESSERA__V1__EMAIL_TEMPLATE__EMAIL_TEMPLATE_RENEWAL_INVITATION;
    notice.params = params;
    notice.param_count = 4;
    return mail_notice_person_id (db, state, holder_id, &notice);
}

int
mail_sweep_run (mail_state_t *state, tsr_db_t *db, const char *trigger, const char *actor,
                const char *trace_id, uint32_t *checked, uint32_t *queued)
{
    *checked = 0;
    *queued = 0;
    int64_t now = mail_now (state);
    char now_text [24], days [16];
    snprintf (now_text, sizeof now_text, "%lld", (long long) now);
    snprintf (days, sizeof days, "%ld", state->expiry_notice_days);
    const char *values [] = { now_text, days };
    PGresult *lock = tsr_db_query (db,
        "SELECT pg_advisory_xact_lock(hashtextextended('mail.sweep', 0))", 0, NULL);
    PQclear (lock);
    PGresult *res = lock ? tsr_db_query (db,
        "SELECT holder_id, card_request_id, string_agg(serial_hex, ', ' ORDER BY serial_hex),"
        " extract(epoch FROM min(not_after))::bigint, count(*) FROM certificates"
        " WHERE state = 1 AND not_after > to_timestamp($1::bigint)"
        " AND not_after <= to_timestamp($1::bigint) + $2::int * interval '1 day'"
        " GROUP BY holder_id, card_request_id ORDER BY 4", 2, values) : NULL;
    if (!res)
        return -1;
    unsigned emails = 0;
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples (res); i++) {
        *checked += (uint32_t) mail_row_int (res, i, 4);
        rc = s_notify (state, db, res, i, now, actor, trace_id, &emails);
    }
    PQclear (res);
    *queued = emails;
    char checked_text [16], queued_text [16];
    snprintf (checked_text, sizeof checked_text, "%u", *checked);
    snprintf (queued_text, sizeof queued_text, "%u", *queued);
    const char *run [] = { now_text, trigger, checked_text, queued_text };
    res = rc ? NULL : tsr_db_query (db,
        "INSERT INTO sweeps (as_of, trigger, certificates_checked, emails_queued)"
        " VALUES (to_timestamp($1::bigint), $2, $3::int, $4::int)", 4, run);
    PQclear (res);
    if (!res)
        return -1;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "trigger", trigger);
    tsr_json_int (json, "as_of_unix", now);
    tsr_json_int (json, "certificates_checked", *checked);
    tsr_json_int (json, "emails_queued", *queued);
    return mail_audit (db, actor, "mail.expiry_sweep", "certificates", trace_id, &json);
}

tsr_status_t
mail_handle_run_expiry_sweep (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__RunExpirySweepRequest *request = (Tessera__V1__RunExpirySweepRequest *)
        tsr_call_unpack (call, &tessera__v1__run_expiry_sweep_request__descriptor, &status);
    if (!request)
        return status;
    uint32_t checked = 0, queued = 0;
    if (mail_sweep_run (call->state, call->db, "request", call->caller_key,
                        call->request->trace_id, &checked, &queued))
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE,
                                "the sweep could not finish (database or enrollment "
                                "unavailable); retry");
    else {
        Tessera__V1__RunExpirySweepReply reply = TESSERA__V1__RUN_EXPIRY_SWEEP_REPLY__INIT;
        reply.certificates_checked = checked;
        reply.emails_queued = queued;
        status = tsr_call_reply (call, &reply.base, "expiry sweep done");
    }
    tessera__v1__run_expiry_sweep_request__free_unpacked (request, NULL);
    return status;
}

//  Sweeps when the last scheduled run is older than the interval.
static void
s_maybe_sweep (mail_state_t *state, tsr_db_t *db)
{
    char interval [24];
    snprintf (interval, sizeof interval, "%ld", state->sweep_interval_s);
    const char *values [] = { interval };
    if (tsr_db_begin (db))
        return;
    PGresult *res = tsr_db_query (db,
        "SELECT coalesce(max(ran_at), '-infinity') < now() - $1::bigint * interval '1 second'"
        " FROM sweeps WHERE trigger = 'schedule'", 1, values);
    bool due = res && PQntuples (res) == 1 && mail_row_bool (res, 0, 0);
    PQclear (res);
    uint32_t checked = 0, queued = 0;
    char trace_id [TSR_ID_HEX_SIZE];
    tsr_random_id (trace_id);
    if (!due) {
        tsr_db_rollback (db);
        return;
    }
    if (mail_sweep_run (state, db, "schedule", MAIL_ACTOR_SYSTEM, trace_id, &checked, &queued)
    ||  tsr_db_commit (db)) {
        tsr_db_rollback (db);
        tsr_log_warn (trace_id, "mail.sweep_failed", "reason", tsr_db_error (db), NULL);
        return;
    }
    char checked_text [16], queued_text [16];
    snprintf (checked_text, sizeof checked_text, "%u", checked);
    snprintf (queued_text, sizeof queued_text, "%u", queued);
    tsr_log_info (trace_id, "mail.expiry_sweep", "certificates_checked", checked_text,
                  "emails_queued", queued_text, NULL);
}

static void
s_actor (zsock_t *pipe, void *arg)
{
    mail_state_t *state = arg;
    char err [512] = "";
    tsr_db_t *db = NULL;
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    int wait_ms = 1000;
    while (poller) {
        zsock_t *which = zpoller_wait (poller, wait_ms);
        if (which == pipe || zpoller_terminated (poller))
            break;
        wait_ms = S_CHECK_MS;
        if (!db && !(db = tsr_db_new (state->dsn, state->schema, err, sizeof err)))
            continue;
        s_maybe_sweep (state, db);
    }
    zpoller_destroy (&poller);
    tsr_db_destroy (&db);
    OPENSSL_thread_stop ();
}

zactor_t *
mail_sweeper_new (mail_state_t *state)
{
    return zactor_new (s_actor, state);
}
