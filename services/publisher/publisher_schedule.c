/*  publisher_scheduler: the thread that talks to the ca (see
    publisher_schedule.h).
*/
#include "publisher_schedule.h"
#include "publisher_plan.h"
#include "publisher_publish.h"
#include "publisher_util.h"

#include "tessera/audit.h"
#include "tessera/json.h"
#include "tessera/log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_TICK_MS 1000
#define S_WARN_EVERY_MS 60000
#define S_AFTER_SUCCESS_MS 1000

typedef struct {
    bool pending;                   //  waiting for the thread
    bool running;
    bool done;
    bool abandoned;                 //  the caller stopped waiting
    bool full;
    char actor [64];
    char trace_id [72];
    tsr_status_t status;
    char message [256];
    publisher_crl_row_t rows [2];
    size_t count;
} s_request_t;

struct _publisher_scheduler_t {
    publisher_state_t *state;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t wake;            //  the thread waits here (monotonic clock)
    pthread_cond_t changed;         //  PublishNow callers wait here
    bool stop;
    bool woken;
    s_request_t request;            //  under lock
    //  The thread's own.
    tsr_db_t *db;
    X509 *issuer;
    char issuer_sha256 [65];
    char own_key [48];
    int64_t started_ms;
    int64_t issuer_retry_at_ms;
    int64_t responder_retry_at_ms;
    int64_t crl_retry_at_ms;
    char not_ready [256];
    char last_warning [256];
    int64_t last_warning_ms;
};

//  Warns once a minute for the same trouble, at once for a new one.
static void
s_warn (publisher_scheduler_t *self, const char *event, const char *reason)
{
    int64_t now = tsr_now_ms ();
    if (strcmp (reason, self->last_warning) == 0 && now - self->last_warning_ms < S_WARN_EVERY_MS)
        return;
    snprintf (self->last_warning, sizeof self->last_warning, "%s", reason);
    self->last_warning_ms = now;
    tsr_log_warn (NULL, event, "reason", reason, NULL);
}

//  Learns the issuing CA from the ca and serves what the database holds.
static int
s_bootstrap (publisher_scheduler_t *self)
{
    publisher_state_t *state = self->state;
    Tessera__V1__GetCaCertificatesRequest request = TESSERA__V1__GET_CA_CERTIFICATES_REQUEST__INIT;
    Tessera__V1__GetCaCertificatesReply *reply = NULL;
    char message [256];
    tsr_status_t status = tsr_peer_call (state->ca, "GetCaCertificates", &request.base,
                                         &tessera__v1__get_ca_certificates_reply__descriptor, NULL,
                                         NULL, (ProtobufCMessage **) &reply, message,
                                         sizeof message);
    if (status != TESSERA__V1__STATUS__STATUS_OK) {
        snprintf (self->not_ready, sizeof self->not_ready, "waiting for the ca's certificates: %.200s",
                  message);
        return -1;
    }
    int rc = -1;
    X509 *issuer = NULL;
    if (reply->n_chain_der < 1) {
        snprintf (self->not_ready, sizeof self->not_ready, "the ca sent no certificate");
        goto done;
    }
    const ProtobufCBinaryData *issuing = &reply->chain_der [0];
    const ProtobufCBinaryData *root = reply->n_chain_der > 1 ? &reply->chain_der [1] : NULL;
    const unsigned char *cursor = issuing->data;
    issuer = d2i_X509 (NULL, &cursor, (long) issuing->len);
    if (!issuer) {
        snprintf (self->not_ready, sizeof self->not_ready, "the ca's issuing certificate is not DER");
        goto done;
    }
    char sha256 [65];
    publisher_sha256_hex (issuing->data, issuing->len, sha256);
    if (publisher_store_issuer_save (self->db, sha256, issuing->data, issuing->len,
                                     root ? root->data : NULL, root ? root->len : 0)
    ||  publisher_cache_set_issuer (state->cache, sha256, issuing->data, issuing->len,
                                    root ? root->data : NULL, root ? root->len : 0)
    ||  publisher_responder_set_issuer (state->responder, issuer, sha256)
    ||  publisher_publish_load (state, self->db, sha256)) {
        snprintf (self->not_ready, sizeof self->not_ready, "cannot record the issuing CA: %.200s",
                  tsr_db_error (self->db));
        goto done;
    }
    self->issuer = issuer;
    issuer = NULL;
    snprintf (self->issuer_sha256, sizeof self->issuer_sha256, "%s", sha256);
    pthread_mutex_lock (&state->lock);
    snprintf (state->view.issuer_sha256, sizeof state->view.issuer_sha256, "%s", sha256);
    pthread_mutex_unlock (&state->lock);
    tsr_log_info (NULL, "publisher.issuer", "issuer_sha256", sha256, NULL);
    rc = 0;
done:
    X509_free (issuer);
    tessera__v1__get_ca_certificates_reply__free_unpacked (reply, NULL);
    return rc;
}

//  The responder certificate now in use, in the audit trail.
static void
s_audit_responder (publisher_scheduler_t *self, const char *trace_id, const char *why)
{
    publisher_responder_info_t info;
    if (publisher_responder_info (self->state->responder, &info))
        return;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "serial", info.serial_hex);
    tsr_json_str (json, "certificate_sha256", info.sha256);
    tsr_json_int (json, "not_after_unix", info.not_after);
    tsr_json_str (json, "why", why);
    char *details = tsr_json_finish (&json);
    if (details && tsr_db_begin (self->db) == 0) {
        if (tsr_audit_append (self->db, self->own_key, "publisher.responder_certified",
                              info.serial_hex, trace_id, details) || tsr_db_commit (self->db)) {
            tsr_db_rollback (self->db);
            s_warn (self, "publisher.audit_failed", tsr_db_error (self->db));
        }
    }
    free (details);
}

static void
s_responder (publisher_scheduler_t *self, int64_t now_ms, int64_t *wake_at)
{
    publisher_state_t *state = self->state;
    char why [128];
    if (now_ms >= self->responder_retry_at_ms
    &&  publisher_responder_due (state->responder, now_ms / 1000, why, sizeof why)) {
        char err [512], trace_id [TSR_ID_HEX_SIZE];
        tsr_random_id (trace_id);
        tsr_log_info (trace_id, "publisher.responder_renewing", "reason", why, NULL);
        if (publisher_responder_renew (state->responder, state->ca, trace_id, err, sizeof err)) {
            tsr_counter_inc (state->metrics.failures, "responder", 1);
            s_warn (self, "publisher.responder_failed", err);
            self->responder_retry_at_ms = now_ms + state->retry_s * 1000;
        }
        else {
            self->responder_retry_at_ms = 0;
            s_audit_responder (self, trace_id, why);
        }
    }
    publisher_responder_info_t info;
    if (publisher_responder_info (state->responder, &info) == 0) {
        tsr_gauge_set (state->metrics.responder_not_after, NULL, (double) info.not_after);
        if (info.renew_after * 1000 > now_ms && info.renew_after * 1000 < *wake_at)
            *wake_at = info.renew_after * 1000;
    }
    if (self->responder_retry_at_ms && self->responder_retry_at_ms < *wake_at)
        *wake_at = self->responder_retry_at_ms;
}

//  Runs a waiting PublishNow.
static void
s_operator (publisher_scheduler_t *self)
{
    pthread_mutex_lock (&self->lock);
    if (!self->request.pending) {
        pthread_mutex_unlock (&self->lock);
        return;
    }
    self->request.pending = false;
    self->request.running = true;
    s_request_t request = self->request;
    pthread_mutex_unlock (&self->lock);
    int64_t pending_since_ms = 0;
    if (self->db && self->issuer
    &&  publisher_store_pending_since (self->db, self->issuer_sha256, &pending_since_ms) == 0)
        request.status = publisher_publish (self->state, self->db, self->issuer_sha256, self->issuer,
                                            PUBLISHER_TRIGGER_OPERATOR, request.full, true,
                                            request.actor, request.trace_id, pending_since_ms,
                                            request.rows, &request.count, request.message,
                                            sizeof request.message);
    else {
        request.status = TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION;
        snprintf (request.message, sizeof request.message, "not ready to publish: %.200s",
                  self->not_ready [0] ? self->not_ready : "the publisher's database is unreachable");
    }
    pthread_mutex_lock (&self->lock);
    memcpy (self->request.rows, request.rows, sizeof request.rows);
    self->request.count = request.count;
    self->request.status = request.status;
    memcpy (self->request.message, request.message, sizeof request.message);
    self->request.running = false;
    self->request.done = true;
    if (self->request.abandoned)
        memset (&self->request, 0, sizeof self->request);
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->lock);
}

//  Plans, publishes what is due, and updates the view and gauges.
static void
s_crls (publisher_scheduler_t *self, int64_t now_ms, int64_t *wake_at, bool *again)
{
    publisher_state_t *state = self->state;
    publisher_crl_row_t full, delta;
    memset (&full, 0, sizeof full);
    memset (&delta, 0, sizeof delta);
    int64_t pending_since_ms = 0;
    int have_full = publisher_store_crl_get (self->db, self->issuer_sha256, false, 0, &full, NULL, NULL);
    int have_delta = publisher_store_crl_get (self->db, self->issuer_sha256, true, 0, &delta, NULL, NULL);
    if (have_full < 0 || have_delta < 0
    ||  publisher_store_pending_since (self->db, self->issuer_sha256, &pending_since_ms)) {
        s_warn (self, "publisher.database_unavailable", tsr_db_error (self->db));
        return;
    }
    publisher_plan_input_t input = {
        .now_ms = now_ms, .started_ms = self->started_ms,
        .have_full = have_full == 1, .full_this_update_ms = full.this_update * 1000,
        .full_next_update_ms = full.next_update * 1000,
        .have_delta = have_delta == 1, .delta_next_update_ms = delta.next_update * 1000,
        .pending_since_ms = pending_since_ms, .retry_at_ms = self->crl_retry_at_ms,
        .interval_s = state->interval_s, .coalesce_ms = state->coalesce_ms,
        .alert_s = state->alert_s,
    };
    publisher_plan_t plan;
    publisher_plan (&input, &plan);
    if (plan.publish) {
        char trace_id [TSR_ID_HEX_SIZE], message [256];
        tsr_random_id (trace_id);
        publisher_crl_row_t rows [2];
        size_t count = 0;
        tsr_status_t status = publisher_publish (state, self->db, self->issuer_sha256, self->issuer,
                                                 plan.trigger, true, true, self->own_key, trace_id,
                                                 pending_since_ms, rows, &count, message,
                                                 sizeof message);
        self->crl_retry_at_ms = now_ms + (status == TESSERA__V1__STATUS__STATUS_OK
                                          ? S_AFTER_SUCCESS_MS : state->retry_s * 1000);
        if (status != TESSERA__V1__STATUS__STATUS_OK) {
            tsr_counter_inc (state->metrics.failures, "crl", 1);
            s_warn (self, "publisher.crl_failed", message);
        }
        else
            *again = true;          //  read back and plan again at once
    }
    if (plan.due_ms < *wake_at)
        *wake_at = plan.due_ms;
    tsr_gauge_set (state->metrics.stale, NULL, plan.late ? 1 : 0);
    tsr_gauge_set (state->metrics.revocation_pending, NULL,
                   pending_since_ms ? (double) (now_ms - pending_since_ms) / 1000.0 : 0);
    if (have_full == 1) {
        tsr_gauge_set (state->metrics.crl_age, "full", (double) (now_ms / 1000 - full.this_update));
        tsr_gauge_set (state->metrics.crl_next_update_margin, "full",
                       (double) (full.next_update - now_ms / 1000));
    }
    if (have_delta == 1) {
        tsr_gauge_set (state->metrics.crl_age, "delta", (double) (now_ms / 1000 - delta.this_update));
        tsr_gauge_set (state->metrics.crl_next_update_margin, "delta",
                       (double) (delta.next_update - now_ms / 1000));
    }
    pthread_mutex_lock (&state->lock);
    state->view.next_full_due_ms = plan.next_full_due_ms;
    state->view.next_delta_due_ms = plan.next_delta_due_ms;
    state->view.pending_since_ms = pending_since_ms;
    state->view.late = plan.late;
    snprintf (state->view.late_reason, sizeof state->view.late_reason, "%s", plan.late_reason);
    pthread_mutex_unlock (&state->lock);
}

//  Without the issuer there is no CRL at all: the alert fires alert_s
//  after start, as publisher_plan says for an issuer without a full CRL.
static void
s_alert_without_issuer (publisher_scheduler_t *self, int64_t now_ms)
{
    publisher_state_t *state = self->state;
    publisher_plan_input_t input = {
        .now_ms = now_ms, .started_ms = self->started_ms, .interval_s = state->interval_s,
        .coalesce_ms = state->coalesce_ms, .alert_s = state->alert_s,
    };
    publisher_plan_t plan;
    publisher_plan (&input, &plan);
    tsr_gauge_set (state->metrics.stale, NULL, plan.late ? 1 : 0);
    pthread_mutex_lock (&state->lock);
    state->view.late = plan.late;
    snprintf (state->view.late_reason, sizeof state->view.late_reason, "%s", plan.late_reason);
    pthread_mutex_unlock (&state->lock);
}

//  Readiness: the issuer, a responder certificate and a full CRL served.
static void
s_readiness (publisher_scheduler_t *self)
{
    publisher_state_t *state = self->state;
    publisher_responder_info_t info;
    const char *reason = NULL;
    if (!self->issuer)
        reason = self->not_ready [0] ? self->not_ready : "waiting for the ca's certificates";
    else
    if (publisher_responder_info (state->responder, &info))
        reason = "waiting for the OCSP responder certificate (is the ca's key active?)";
    else
    if (publisher_cache_crl_number (state->cache, self->issuer_sha256, false) == 0)
        reason = "waiting for a first CRL (is the ca's key active?)";
    pthread_mutex_lock (&state->lock);
    state->view.ready = reason == NULL;
    snprintf (state->view.not_ready_reason, sizeof state->view.not_ready_reason, "%s",
              reason ? reason : "");
    pthread_mutex_unlock (&state->lock);
    tsr_gauge_set (state->metrics.ready, NULL, reason ? 0 : 1);
}

static void
s_wait (publisher_scheduler_t *self, int64_t wait_ms)
{
    struct timespec deadline;
    clock_gettime (CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t) (wait_ms / 1000);
    deadline.tv_nsec += (long) (wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock (&self->lock);
    while (!self->stop && !self->woken && !self->request.pending)
        if (pthread_cond_timedwait (&self->wake, &self->lock, &deadline))
            break;
    self->woken = false;
    pthread_mutex_unlock (&self->lock);
}

static bool
s_stopping (publisher_scheduler_t *self)
{
    pthread_mutex_lock (&self->lock);
    bool stop = self->stop;
    pthread_mutex_unlock (&self->lock);
    return stop;
}

static void *
s_run (void *arg)
{
    publisher_scheduler_t *self = arg;
    publisher_state_t *state = self->state;
    char err [512];
    while (!s_stopping (self)) {
        int64_t now_ms = tsr_now_ms ();
        int64_t wake_at = now_ms + S_TICK_MS;
        bool again = false;
        if (!self->db) {
            self->db = tsr_db_new (state->dsn, state->schema, err, sizeof err);
            if (!self->db) {
                snprintf (self->not_ready, sizeof self->not_ready, "database unreachable");
                s_warn (self, "publisher.database_unavailable", err);
            }
        }
        if (self->db && !self->issuer && now_ms >= self->issuer_retry_at_ms) {
            if (s_bootstrap (self)) {
                tsr_counter_inc (state->metrics.failures, "issuer", 1);
                s_warn (self, "publisher.issuer_unavailable", self->not_ready);
                self->issuer_retry_at_ms = now_ms + state->retry_s * 1000;
            }
        }
        if (self->db && self->issuer) {
            s_responder (self, now_ms, &wake_at);
            s_operator (self);
            s_crls (self, now_ms, &wake_at, &again);
        }
        else {
            s_operator (self);
            s_alert_without_issuer (self, now_ms);
        }
        s_readiness (self);
        if (!again && wake_at > now_ms)
            s_wait (self, wake_at - now_ms);
    }
    tsr_db_destroy (&self->db);
    OPENSSL_thread_stop ();
    return NULL;
}

publisher_scheduler_t *
publisher_scheduler_new (publisher_state_t *state, char *err, size_t err_size)
{
    publisher_scheduler_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    self->state = state;
    self->started_ms = tsr_now_ms ();
    snprintf (self->own_key, sizeof self->own_key, "%s", zcert_public_txt (state->cert));
    pthread_mutex_init (&self->lock, NULL);
    pthread_condattr_t attributes;
    pthread_condattr_init (&attributes);
    pthread_condattr_setclock (&attributes, CLOCK_MONOTONIC);
    pthread_cond_init (&self->wake, &attributes);
    pthread_condattr_destroy (&attributes);
    pthread_cond_init (&self->changed, NULL);
    if (pthread_create (&self->thread, NULL, s_run, self)) {
        snprintf (err, err_size, "cannot start the scheduler thread");
        publisher_scheduler_destroy (&self);
        return NULL;
    }
    self->started = true;
    return self;
}

void
publisher_scheduler_destroy (publisher_scheduler_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    publisher_scheduler_t *self = *self_p;
    if (self->started) {
        pthread_mutex_lock (&self->lock);
        self->stop = true;
        pthread_cond_signal (&self->wake);
        pthread_mutex_unlock (&self->lock);
        pthread_join (self->thread, NULL);
    }
    X509_free (self->issuer);
    pthread_cond_destroy (&self->wake);
    pthread_cond_destroy (&self->changed);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

void
publisher_scheduler_wake (publisher_scheduler_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    self->woken = true;
    pthread_cond_signal (&self->wake);
    pthread_mutex_unlock (&self->lock);
}

tsr_status_t
publisher_scheduler_publish_now (publisher_scheduler_t *self, bool full, const char *actor,
                                 const char *trace_id, int timeout_ms, publisher_crl_row_t rows [2],
                                 size_t *count, char *message, size_t message_size)
{
    *count = 0;
    struct timespec deadline;
    clock_gettime (CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    pthread_mutex_lock (&self->lock);
    //  One request at a time: wait for the slot.
    bool timed_out = false;
    while (!timed_out && (self->request.pending || self->request.running || self->request.done))
        timed_out = pthread_cond_timedwait (&self->changed, &self->lock, &deadline) != 0;
    if (timed_out) {
        pthread_mutex_unlock (&self->lock);
        snprintf (message, message_size, "another publication is in progress: try again");
        return TESSERA__V1__STATUS__STATUS_UNAVAILABLE;
    }
    memset (&self->request, 0, sizeof self->request);
    self->request.pending = true;
    self->request.full = full;
    snprintf (self->request.actor, sizeof self->request.actor, "%s", actor);
    snprintf (self->request.trace_id, sizeof self->request.trace_id, "%s", trace_id ? trace_id : "");
    pthread_cond_signal (&self->wake);
    while (!timed_out && !self->request.done)
        timed_out = pthread_cond_timedwait (&self->changed, &self->lock, &deadline) != 0;
    tsr_status_t status;
    if (!self->request.done) {
        //  Not run yet: withdrawn; running: its result is dropped.
        if (self->request.pending)
            memset (&self->request, 0, sizeof self->request);
        else
            self->request.abandoned = true;
        snprintf (message, message_size, "the publication did not finish in time");
        status = TESSERA__V1__STATUS__STATUS_UNAVAILABLE;
    }
    else {
        status = self->request.status;
        *count = self->request.count;
        memcpy (rows, self->request.rows, sizeof self->request.rows);
        snprintf (message, message_size, "%s", self->request.message);
        memset (&self->request, 0, sizeof self->request);
    }
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->lock);
    return status;
}
