/*  publisher_state: configuration, parts and metrics (see
    publisher_state.h).
*/
#include "publisher_state.h"
#include "publisher_http.h"
#include "publisher_schedule.h"

#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  8207 beside the default operations port 8107. An instance whose
//  operations port was moved (a second one on the host, the tests) gets a
//  free public port, logged, rather than fighting over 8207.
static long
s_default_port (tsr_config_t *config)
{
    const char *http_port = tsr_config_get (config, "TSR_HTTP_PORT", NULL);
    return !http_port || strcmp (http_port, "8107") == 0 ? 8207 : 0;
}

typedef struct {
    long level, crl_hours, interval_s, delta_hours, coalesce_ms, retry_s, alert_s, max_age_s,
         ocsp_next_update_s, ocsp_validity_days, ocsp_renew_days, port, threads;
} s_numbers_t;

//  The numeric settings, with the bounds that keep the schedule sound: a
//  full CRL is regenerated well before its nextUpdate.
static int
s_read_numbers (tsr_config_t *config, s_numbers_t *n, char *err, size_t err_size)
{
    if (tsr_config_get_long (config, "TSR_POLICY_LEVEL", 2, 1, 3, &n->level, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PUBLISHER_CRL_NEXT_UPDATE_HOURS", n->level == 1 ? 72 : 24,
                             2, 72, &n->crl_hours, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PUBLISHER_CRL_INTERVAL_S", 6 * 3600, 60, 71 * 3600,
                             &n->interval_s, err, err_size))
        return -1;
    if (n->interval_s > n->crl_hours * 3600 - 3600) {
        snprintf (err, err_size, "TSR_PUBLISHER_CRL_INTERVAL_S must leave at least an hour before "
                  "the CRL's nextUpdate (%ld hours)", n->crl_hours);
        return -1;
    }
    //  A delta is fetched more often than the full CRL: its nextUpdate is
    //  one schedule interval (rounded up to hours) plus an hour.
    long delta_default = (n->interval_s + 3599) / 3600 + 1;
    if (delta_default > n->crl_hours)
        delta_default = n->crl_hours;
    return tsr_config_get_long (config, "TSR_PUBLISHER_DELTA_NEXT_UPDATE_HOURS", delta_default, 1,
                                n->crl_hours, &n->delta_hours, err, err_size)
        || tsr_config_get_long (config, "TSR_PUBLISHER_COALESCE_MS", 60000, 0, 3600000,
                                &n->coalesce_ms, err, err_size)
        || tsr_config_get_long (config, "TSR_PUBLISHER_RETRY_S", 30, 1, 3600, &n->retry_s,
                                err, err_size)
        || tsr_config_get_long (config, "TSR_PUBLISHER_ALERT_S", 1800, 1, 86400, &n->alert_s,
                                err, err_size)
        || tsr_config_get_long (config, "TSR_PUBLISHER_HTTP_MAX_AGE_S", 900, 0, 86400,
                                &n->max_age_s, err, err_size)
        || tsr_config_get_long (config, "TSR_PUBLISHER_OCSP_NEXT_UPDATE_S", 3600, 60, 7 * 86400,
                                &n->ocsp_next_update_s, err, err_size)
        || tsr_config_get_long (config, "TSR_PUBLISHER_OCSP_VALIDITY_DAYS", 0, 0, 366,
                                &n->ocsp_validity_days, err, err_size)
        || tsr_config_get_long (config, "TSR_PUBLISHER_OCSP_RENEW_DAYS", 0, 0, 365,
                                &n->ocsp_renew_days, err, err_size)
        || tsr_config_get_long (config, "TSR_PUBLISH_PORT", s_default_port (config), 0, 65535,
                                &n->port, err, err_size)
        || tsr_config_get_long (config, "TSR_PUBLISH_THREADS", 4, 1, 64, &n->threads, err,
                                err_size) ? -1 : 0;
}

void *
publisher_state_new (tsr_config_t *config, char *err, size_t err_size)
{
    s_numbers_t n;
    if (s_read_numbers (config, &n, err, err_size))
        return NULL;
    publisher_state_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    atomic_init (&self->ocsp_requests, 0);
    atomic_init (&self->ocsp_malformed, 0);
    snprintf (self->view.not_ready_reason, sizeof self->view.not_ready_reason, "starting");
    self->level = (int) n.level;
    self->crl_hours = n.crl_hours;
    self->delta_hours = n.delta_hours;
    self->interval_s = n.interval_s;
    self->coalesce_ms = n.coalesce_ms;
    self->retry_s = n.retry_s;
    self->alert_s = n.alert_s;
    self->max_age_s = n.max_age_s;
    self->ocsp_next_update_s = n.ocsp_next_update_s;
    self->publish_port = n.port;
    self->publish_threads = n.threads;
    snprintf (self->publish_address, sizeof self->publish_address, "%s",
              tsr_config_get (config, "TSR_PUBLISH_ADDRESS", "127.0.0.1"));
    //  Unset: made from the port bound (publisher_on_start).
    snprintf (self->base_url, sizeof self->base_url, "%s",
              tsr_config_get (config, "TSR_PUBLISH_BASE_URL", ""));
    size_t url_length = strlen (self->base_url);
    if (url_length && self->base_url [url_length - 1] == '/')
        self->base_url [url_length - 1] = 0;
    self->dsn = strdup (tsr_config_get (config, "TSR_DB_DSN", ""));
    self->schema = strdup (tsr_config_get (config, "TSR_DB_SCHEMA", "publisher"));
    const char *cert_path = tsr_config_get (config, "TSR_CERT", NULL);
    self->cert = cert_path ? zcert_load (cert_path) : NULL;
    if (!self->dsn || !self->schema || !self->cert) {
        snprintf (err, err_size, "cannot load the service certificate %s (TSR_CERT)",
                  cert_path ? cert_path : "(unset)");
        goto fail;
    }
    publisher_responder_config_t responder = {
        .directory = tsr_config_get (config, "TSR_PUBLISHER_OCSP_DIR", "var/publisher"),
        .common_name = tsr_config_get (config, "TSR_PUBLISHER_OCSP_CN", "Tessera OCSP Responder"),
        .level = self->level,
        .validity_days = n.ocsp_validity_days,
        .renew_days = n.ocsp_renew_days,
    };
    self->ca = tsr_peer_new_configured (config, "ca", self->cert, 5000, 1, err, err_size);
    if (!self->ca)
        goto fail;
    self->responder = publisher_responder_new (&responder, err, err_size);
    if (!self->responder)
        goto fail;
    self->cache = publisher_cache_new ();
    self->dbpool = publisher_dbpool_new (self->dsn, self->schema, (int) self->publish_threads);
    if (!self->cache || !self->dbpool) {
        snprintf (err, err_size, "out of memory");
        goto fail;
    }
    return self;
fail:
    {
        void *state = self;
        publisher_state_destroy (&state);
    }
    return NULL;
}

void
publisher_state_destroy (void **state_p)
{
    if (!state_p || !*state_p)
        return;
    publisher_state_t *self = *state_p;
    publisher_scheduler_destroy (&self->scheduler);
    publisher_http_destroy (&self->http);
    publisher_dbpool_destroy (&self->dbpool);
    publisher_cache_destroy (&self->cache);
    publisher_responder_destroy (&self->responder);
    tsr_peer_destroy (&self->ca);
    zcert_destroy (&self->cert);
    pthread_mutex_destroy (&self->lock);
    free (self->dsn);
    free (self->schema);
    free (self);
    *state_p = NULL;
}

static void
s_register_metrics (publisher_metrics_t *m, tsr_metrics_t *metrics)
{
    static const double delay_bounds [] = { 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300,
                                            1800, 3600 };
    static const double revocation_bounds [] = { 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800,
                                                 3600, 7200 };
    m->publication_delay = tsr_metrics_histogram (metrics,
        "tessera_publisher_crl_publication_delay_seconds",
        "From a CRL's thisUpdate (signed by the ca) to its publication, by kind", "kind",
        delay_bounds, sizeof delay_bounds / sizeof delay_bounds [0]);
    m->revocation_delay = tsr_metrics_histogram (metrics,
        "tessera_publisher_revocation_publication_seconds",
        "From a revocation's arrival to the publication of a full CRL listing it", NULL,
        revocation_bounds, sizeof revocation_bounds / sizeof revocation_bounds [0]);
    m->last_publication_delay = tsr_metrics_gauge (metrics,
        "tessera_publisher_last_publication_delay_seconds",
        "The publication delay of the latest CRL, by kind", "kind");
    m->stale = tsr_metrics_gauge (metrics, "tessera_publisher_crl_stale",
        "1 when a revocation has waited for publication past the alert delay, or the full CRL "
        "is older than the schedule (the alert); 0 otherwise", NULL);
    m->crl_age = tsr_metrics_gauge (metrics, "tessera_publisher_crl_age_seconds",
        "Age of the CRL served, from its thisUpdate, by kind", "kind");
    m->crl_number = tsr_metrics_gauge (metrics, "tessera_publisher_crl_number",
        "Number of the CRL served, by kind", "kind");
    m->crl_next_update = tsr_metrics_gauge (metrics,
        "tessera_publisher_crl_next_update_timestamp_seconds",
        "nextUpdate of the CRL served, by kind", "kind");
    m->crl_next_update_margin = tsr_metrics_gauge (metrics,
        "tessera_publisher_crl_next_update_margin_seconds",
        "nextUpdate of the CRL served minus now, by kind (negative: past its nextUpdate)", "kind");
    m->revocation_pending = tsr_metrics_gauge (metrics,
        "tessera_publisher_revocation_pending_seconds",
        "How long the oldest revocation not in a published full CRL has waited (0: none)", NULL);
    m->published = tsr_metrics_counter (metrics, "tessera_publisher_crls_published_total",
        "CRLs published, by trigger", "trigger");
    m->failures = tsr_metrics_counter (metrics, "tessera_publisher_failures_total",
        "Failed attempts, by what failed (crl, responder, issuer)", "what");
    m->ocsp_responses = tsr_metrics_counter (metrics, "tessera_publisher_ocsp_responses_total",
        "OCSP answers: good, revoked, unknown per certificate; malformed, unauthorized, "
        "try_later, internal per response", "answer");
    m->http_requests = tsr_metrics_counter (metrics, "tessera_publisher_http_requests_total",
        "Requests to the public endpoint, by route", "route");
    m->responder_not_after = tsr_metrics_gauge (metrics,
        "tessera_publisher_ocsp_responder_not_after_timestamp_seconds",
        "notAfter of the OCSP responder certificate", NULL);
    m->ready = tsr_metrics_gauge (metrics, "tessera_publisher_ready",
        "1 when the issuer, the responder certificate and a CRL are in hand", NULL);
}

int
publisher_on_start (void *state, tsr_metrics_t *metrics, char *err, size_t err_size)
{
    publisher_state_t *self = state;
    s_register_metrics (&self->metrics, metrics);
    tsr_gauge_set (self->metrics.ready, NULL, 0);
    self->http = publisher_http_new (self, err, err_size);
    if (!self->http)
        return -1;
    self->scheduler = publisher_scheduler_new (self, err, err_size);
    if (!self->scheduler) {
        publisher_http_destroy (&self->http);
        return -1;
    }
    char port [8];
    snprintf (port, sizeof port, "%u", publisher_http_port (self->http));
    if (!self->base_url [0])
        snprintf (self->base_url, sizeof self->base_url, "http://127.0.0.1:%s", port);
    tsr_log_info (NULL, "publisher.serving", "address", self->publish_address, "port", port,
                  "base_url", self->base_url, NULL);
    return 0;
}

void
publisher_on_stop (void *state)
{
    publisher_state_t *self = state;
    publisher_scheduler_destroy (&self->scheduler);
    publisher_http_destroy (&self->http);
}

void
publisher_state_view (publisher_state_t *self, publisher_view_t *view)
{
    pthread_mutex_lock (&self->lock);
    *view = self->view;
    pthread_mutex_unlock (&self->lock);
}

void
publisher_state_url (publisher_state_t *self, const char *path, char *out, size_t size)
{
    snprintf (out, size, "%s%s", self->base_url, path);
}
