/*  revocation_state: configuration read at start, metrics and timer (see
    revocation_state.h).
*/
#include "revocation_state.h"
#include "revocation_timer.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_settings (revocation_state_t *self, tsr_config_t *config, char *err, size_t err_size)
{
    return tsr_config_get_long (config, "TSR_POLICY_LEVEL", 2, 1, 3, &self->policy_level,
                                err, err_size)
        || tsr_config_get_long (config, "TSR_REVOCATION_DEADLINE_S", 0, 0, 31L * 86400,
                                &self->deadline_override_s, err, err_size)
        || tsr_config_get_long (config, "TSR_PHONE_MAX_FAILURES", 3, 1, 20,
                                &self->phone_max_failures, err, err_size)
        || tsr_config_get_long (config, "TSR_PHONE_WINDOW_S", 3600, 1, 31L * 86400,
                                &self->phone_window_s, err, err_size)
        || tsr_config_get_long (config, "TSR_PHONE_LOCK_S", 3600, 1, 31L * 86400,
                                &self->phone_lock_s, err, err_size)
        || tsr_config_get_long (config, "TSR_PHONE_CHALLENGE_S", 900, 10, 86400,
                                &self->challenge_s, err, err_size)
        || tsr_config_get_long (config, "TSR_REVOCATION_TIMER_MS", 30000, 100, 3600000,
                                &self->timer_ms, err, err_size);
}

void *
revocation_state_new (tsr_config_t *config, char *err, size_t err_size)
{
    if (sodium_init () < 0) {
        snprintf (err, err_size, "libsodium cannot start");
        return NULL;
    }
    revocation_state_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->side_lock, NULL);
    self->dsn = strdup (tsr_config_get (config, "TSR_DB_DSN", ""));
    self->schema = strdup (tsr_config_get (config, "TSR_DB_SCHEMA", "revocation"));
    if (!self->dsn || !self->schema) {
        snprintf (err, err_size, "out of memory");
        goto fail;
    }
    if (s_settings (self, config, err, err_size))
        goto fail;
    const char *cert_path = tsr_config_get (config, "TSR_CERT", NULL);
    self->cert = cert_path ? zcert_load (cert_path) : NULL;
    if (!self->cert) {
        snprintf (err, err_size, "cannot load the service certificate %s (TSR_CERT)",
                  cert_path ? cert_path : "(unset)");
        goto fail;
    }
    if (!(self->enrollment = tsr_peer_new_configured (config, "enrollment", self->cert, 5000, 1,
                                                      err, err_size))
    ||  !(self->validation = tsr_peer_new_configured (config, "validation", self->cert, 5000, 1,
                                                      err, err_size))
    ||  !(self->ca = tsr_peer_new_configured (config, "ca", self->cert, 5000, 1,
                                              err, err_size))
    ||  !(self->perso = tsr_peer_new_configured (config, "perso", self->cert, 5000, 1,
                                                 err, err_size)))
        goto fail;
    return self;
fail:
    {
        void *state = self;
        revocation_state_destroy (&state);
    }
    return NULL;
}

void
revocation_state_destroy (void **state_p)
{
    if (!state_p || !*state_p)
        return;
    revocation_state_t *self = *state_p;
    zactor_destroy (&self->timer);
    tsr_peer_destroy (&self->enrollment);
    tsr_peer_destroy (&self->validation);
    tsr_peer_destroy (&self->ca);
    tsr_peer_destroy (&self->perso);
    zcert_destroy (&self->cert);
    tsr_db_destroy (&self->side_db);
    pthread_mutex_destroy (&self->side_lock);
    free (self->dsn);
    free (self->schema);
    free (self);
    *state_p = NULL;
}

int
revocation_state_start (void *state, tsr_metrics_t *metrics, char *err, size_t err_size)
{
    revocation_state_t *self = state;
    self->pending_gauge = tsr_metrics_gauge (
        metrics, "tessera_revocation_requests_open",
        "Revocation requests not yet applied or rejected (pending a decision, or approved and "
        "waiting for ca)", "state");
    self->overdue_gauge = tsr_metrics_gauge (
        metrics, "tessera_revocation_requests_overdue",
        "Open revocation requests past their deadline (24 h at levels ** and ***, 72 h at *)",
        NULL);
    self->requests_counter = tsr_metrics_counter (
        metrics, "tessera_revocation_requests_total", "Revocation requests recorded, by channel",
        "channel");
    self->applied_counter = tsr_metrics_counter (
        metrics, "tessera_revocation_applied_total", "Revocation requests applied in ca", NULL);
    self->phone_failures_counter = tsr_metrics_counter (
        metrics, "tessera_revocation_phone_failures_total",
        "Phone challenges answered wrongly (they count toward the lockout)", NULL);
    self->timer = revocation_timer_new (self);
    if (!self->timer) {
        snprintf (err, err_size, "cannot start the revocation timer");
        return -1;
    }
    return 0;
}

void
revocation_state_stop (void *state)
{
    revocation_state_t *self = state;
    zactor_destroy (&self->timer);
}
