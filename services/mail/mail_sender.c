/*  mail_sender: the outbox's delivery loop (see mail_sender.h).
*/
#include "mail_sender.h"
#include "mail_records.h"
#include "mail_smime.h"
#include "tessera/log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_BATCH 20                  //  e-mails per wake-up at most
#define S_GAUGE_EVERY_MS 5000
#define S_WARN_EVERY_MS 60000
#define S_SECRET_MAX 256
#define S_RECORD_RETRY_MAX_MS 2000  //  between two tries to record a sent e-mail

char *
mail_sender_compose (mail_state_t *state, const mail_claim_t *claim, size_t *size,
                     bool *transient, char *err, size_t err_size)
{
    *size = 0;
    *transient = false;
    mail_param_t params [MAIL_PARAMS_MAX + 1];
    size_t count = claim->param_count;
    memcpy (params, claim->params, count * sizeof params [0]);
    char *secret = NULL, *subject = NULL, *body = NULL, *message = NULL;
    if (claim->sealed) {
        if (mail_unseal_text (state->keys, claim->sealed, claim->sealed_size, S_SECRET_MAX,
                              &secret)) {
            snprintf (err, err_size, "the sealed secret does not open with mail's key");
            return NULL;
        }
        params [count++] = (mail_param_t) { "password", secret };
    }
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    STACK_OF (X509) *chain = NULL;
    if (mail_template_render (claim->template_id, claim->language, params, count, &subject,
                              &body, err, err_size) == 0) {
        if (mail_signer_acquire (state->signer, &key, &cert, &chain)) {
            snprintf (err, err_size, "the signer has no usable certificate yet");
            *transient = true;
        }
        else {
            mail_message_t mail = {
                .from_name = state->from_name, .from_address = state->from_address,
                .to_name = claim->to_name, .to_address = claim->to_address,
                //  The subject as queued (and listed), not re-rendered.
                .subject = claim->subject, .message_id = claim->message_id,
                .date_unix = (int64_t) time (NULL), .language = claim->language, .body = body,
            };
            if (mail_smime_build (&mail, key, cert, chain, &message, size, err, err_size))
                message = NULL;
        }
    }
    EVP_PKEY_free (key);
    X509_free (cert);
    sk_X509_pop_free (chain, X509_free);
    free (subject);
    mail_text_wipe (body);
    mail_unsealed_free (&secret);
    return message;
}

//  An e-mail the SMTP server accepted must be recorded as sent: left to
//  the lease, it would go out a second time. So its outcome is written
//  again, the database reconnecting, until it holds or the sender is asked
//  to stop (then only a process death between the server's reply and the
//  commit can send it twice). 0 recorded, -1 stopped first.
static int
s_record_sent (mail_state_t *state, tsr_db_t *db, zsock_t *pipe, const mail_claim_t *claim,
               const char *detail)
{
    if (mail_outbox_finish (db, state, claim, MAIL_ATTEMPT_SENT, detail) == 0)
        return 0;
    tsr_log_error (claim->trace_id, "mail.outcome_not_recorded", "email_id", claim->email_id,
                   "reason", tsr_db_error (db), "next", "retrying until the database answers",
                   NULL);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    int delay_ms = 100, rc = -1;
    while (poller) {
        if (zpoller_wait (poller, delay_ms) == pipe || zpoller_terminated (poller))
            break;              //  the stop request stays in the pipe for the loop
        delay_ms = delay_ms * 2 > S_RECORD_RETRY_MAX_MS ? S_RECORD_RETRY_MAX_MS : delay_ms * 2;
        if (tsr_db_ping (db) == 0
        &&  mail_outbox_finish (db, state, claim, MAIL_ATTEMPT_SENT, detail) == 0) {
            tsr_log_info (claim->trace_id, "mail.outcome_recorded", "email_id", claim->email_id,
                          NULL);
            rc = 0;
            break;
        }
    }
    zpoller_destroy (&poller);
    return rc;
}

//  Claims and sends one e-mail. 1 sent or failed (go on), 0 nothing due
//  or the signer not ready, -1 database trouble (stop for now).
static int
s_send_one (mail_state_t *state, tsr_db_t *db, zsock_t *pipe)
{
    mail_claim_t claim;
    int claimed = mail_outbox_claim (db, state, &claim);
    if (claimed <= 0)
        return claimed;
    char detail [512] = "";
    size_t size = 0;
    bool transient = false;
    char *message = mail_sender_compose (state, &claim, &size, &transient, detail,
                                         sizeof detail);
    mail_attempt_outcome_t outcome = transient ? MAIL_ATTEMPT_RETRY : MAIL_ATTEMPT_DEAD;
    if (message) {
        mail_smtp_outcome_t smtp = mail_smtp_send (state->smtp, state->from_address,
                                                   claim.to_address, message, size, detail,
                                                   sizeof detail);
        OPENSSL_cleanse (message, size);
        free (message);
        outcome = smtp == MAIL_SMTP_SENT ? MAIL_ATTEMPT_SENT
                : smtp == MAIL_SMTP_PERMANENT ? MAIL_ATTEMPT_DEAD : MAIL_ATTEMPT_RETRY;
    }
    char attempts [16];
    snprintf (attempts, sizeof attempts, "%d", claim.attempts);
    if (outcome == MAIL_ATTEMPT_SENT) {
        tsr_counter_inc (state->sent_total, mail_template_name (claim.template_id), 1);
        tsr_log_info (claim.trace_id, "mail.email_sent", "email_id", claim.email_id,
                      "message_id", claim.message_id, "attempts", attempts, NULL);
    }
    else {
        tsr_counter_inc (state->failed_total, outcome == MAIL_ATTEMPT_DEAD ? "permanent"
                                                                           : "transient", 1);
        tsr_log_warn (claim.trace_id, "mail.attempt_failed", "email_id", claim.email_id,
                      "attempts", attempts, "reason", detail, NULL);
    }
    //  A failure to record a retry or a dead letter leaves the claim to
    //  expire: the e-mail is tried again after the lease, which is right.
    int rc;
    if (outcome == MAIL_ATTEMPT_SENT)
        rc = s_record_sent (state, db, pipe, &claim, detail) ? -1 : 1;
    else {
        rc = mail_outbox_finish (db, state, &claim, outcome, detail) ? -1 : 1;
        if (rc < 0)
            tsr_log_error (claim.trace_id, "mail.outcome_not_recorded", "email_id",
                           claim.email_id, "reason", tsr_db_error (db), NULL);
    }
    mail_claim_release (&claim);
    return rc;
}

static void
s_gauges (mail_state_t *state, tsr_db_t *db)
{
    PGresult *res = tsr_db_query (db, "SELECT state, count(*) FROM emails GROUP BY state", 0,
                                  NULL);
    double counts [5] = { 0 };
    for (int i = 0; res && i < PQntuples (res); i++) {
        int64_t email_state = mail_row_int (res, i, 0);
        if (email_state >= 1 && email_state <= 4)
            counts [email_state] = (double) mail_row_int (res, i, 1);
    }
    if (res) {
        static const char *names [] = { NULL, "queued", "sending", "sent", "dead_letter" };
        for (int i = 1; i <= 4; i++)
            tsr_gauge_set (state->outbox_gauge, names [i], counts [i]);
    }
    PQclear (res);
    tsr_gauge_set (state->signer_gauge, NULL, mail_signer_ready (state->signer) ? 1 : 0);
}

static void
s_actor (zsock_t *pipe, void *arg)
{
    mail_state_t *state = arg;
    char err [512] = "";
    tsr_db_t *db = tsr_db_new (state->dsn, state->schema, err, sizeof err);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    int64_t last_gauges = 0, last_warning = 0;
    while (poller) {
        zsock_t *which = zpoller_wait (poller, (int) state->poll_ms);
        if (which == pipe || zpoller_terminated (poller))
            break;
        if (!db && !(db = tsr_db_new (state->dsn, state->schema, err, sizeof err)))
            continue;
        if (mail_outbox_reclaim (db, state) < 0)
            continue;
        if (zclock_mono () - last_gauges > S_GAUGE_EVERY_MS) {
            last_gauges = zclock_mono ();
            s_gauges (state, db);
        }
        if (!mail_signer_ready (state->signer)) {
            if (zclock_mono () - last_warning > S_WARN_EVERY_MS) {
                last_warning = zclock_mono ();
                tsr_log_warn (NULL, "mail.sender_waiting",
                              "reason", "no S/MIME certificate yet: nothing is sent unsigned",
                              NULL);
            }
            continue;
        }
        //  A stop request is heard between two e-mails.
        for (int i = 0; i < S_BATCH && !(zsock_events (pipe) & ZMQ_POLLIN); i++)
            if (s_send_one (state, db, pipe) <= 0)
                break;
    }
    zpoller_destroy (&poller);
    tsr_db_destroy (&db);
    OPENSSL_thread_stop ();
}

zactor_t *
mail_sender_new (mail_state_t *state)
{
    return zactor_new (s_actor, state);
}
