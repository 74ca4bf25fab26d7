/*  mail_state: configuration read at start and the background jobs (see
    mail_state.h).
*/
#include "mail_state.h"
#include "mail_input.h"
#include "mail_sender.h"
#include "mail_sweep.h"
#include "tessera/log.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_PEER_TIMEOUT_MS 5000
#define S_CA_TIMEOUT_MS 2000
#define S_SIGNER_CHECK_MS (3600 * 1000)

typedef struct {
    const char *key;
    long fallback, min, max;
    size_t offset;
} s_number_t;

#define S_FIELD(name) offsetof (mail_state_t, name)

static const s_number_t s_numbers [] = {
    { "TSR_MAIL_MAX_ATTEMPTS", 10, 1, 100, S_FIELD (max_attempts) },
    { "TSR_MAIL_RETRY_BASE_MS", 60000, 10, 86400000, S_FIELD (retry_base_ms) },
    { "TSR_MAIL_RETRY_MAX_MS", 3600000, 10, 86400000, S_FIELD (retry_max_ms) },
    { "TSR_MAIL_POLL_MS", 1000, 50, 60000, S_FIELD (poll_ms) },
    { "TSR_MAIL_SENDING_LEASE_S", 300, 2, 86400, S_FIELD (lease_s) },
    { "TSR_MAIL_SWEEP_INTERVAL_S", 86400, 60, 7L * 86400, S_FIELD (sweep_interval_s) },
    { "TSR_MAIL_EXPIRY_NOTICE_DAYS", 60, 1, 365, S_FIELD (expiry_notice_days) },
    { "TSR_MAIL_RENEWAL_NOTICE_DAYS", 15, 1, 365, S_FIELD (renewal_notice_days) },
    { "TSR_MAIL_CLOCK_OFFSET_S", 0, -3650L * 86400, 3650L * 86400, S_FIELD (clock_offset_s) },
    { "TSR_MAIL_SIGNER_RETRY_MS", 5000, 100, 3600000, S_FIELD (signer_retry_ms) },
};

static int
s_numbers_read (mail_state_t *self, tsr_config_t *config, char *err, size_t err_size)
{
    for (size_t i = 0; i < sizeof s_numbers / sizeof s_numbers [0]; i++) {
        long *field = (long *) ((char *) self + s_numbers [i].offset);
        if (tsr_config_get_long (config, s_numbers [i].key, s_numbers [i].fallback,
                                 s_numbers [i].min, s_numbers [i].max, field, err, err_size))
            return -1;
    }
    if (self->retry_max_ms < self->retry_base_ms) {
        snprintf (err, err_size, "TSR_MAIL_RETRY_MAX_MS must be at least TSR_MAIL_RETRY_BASE_MS");
        return -1;
    }
    return 0;
}

//  From address, portal URL, return address.
static int
s_texts_read (mail_state_t *self, tsr_config_t *config, char *err, size_t err_size)
{
    const char *from = tsr_config_get (config, "TSR_SMTP_FROM", "tessera <noreply@tessera.example>");
    if (mail_mailbox_parse (from, self->from_name, sizeof self->from_name, self->from_address,
                            sizeof self->from_address)) {
        snprintf (err, err_size, "TSR_SMTP_FROM must be \"Name <local@domain>\" or "
                                 "\"local@domain\" (plain ASCII address, no control characters)");
        return -1;
    }
    self->message_domain = strchr (self->from_address, '@') + 1;
    const char *portal = tsr_config_get (config, "TSR_MAIL_PORTAL_URL",
                                         "https://portal.tessera.example/");
    const char *sender = tsr_config_get (config, "TSR_MAIL_RETURN_ADDRESS", "tessera");
    if (strlen (portal) >= sizeof self->portal_url || strlen (sender) >= sizeof self->return_address
    ||  !mail_text_valid (portal, 1, 255) || !mail_text_valid (sender, 1, 255)) {
        snprintf (err, err_size, "TSR_MAIL_PORTAL_URL and TSR_MAIL_RETURN_ADDRESS are at most "
                                 "255 bytes of text without control characters");
        return -1;
    }
    snprintf (self->portal_url, sizeof self->portal_url, "%s", portal);
    snprintf (self->return_address, sizeof self->return_address, "%s", sender);
    return 0;
}

//  Our certificate, with its secret key, and the keys that open seals.
static int
s_keys (mail_state_t *self, tsr_config_t *config, char *err, size_t err_size)
{
    const char *path = tsr_config_get (config, "TSR_CERT", NULL);
    self->cert = path ? zcert_load (path) : NULL;
    if (!self->cert) {
        snprintf (err, err_size, "cannot load the service certificate %s (TSR_CERT)",
                  path ? path : "(unset)");
        return -1;
    }
    static const uint8_t zero [32];
    if (memcmp (zcert_secret_key (self->cert), zero, sizeof zero) == 0) {
        snprintf (err, err_size, "the service certificate %s has no secret key (%s_secret): "
                                 "mail cannot open what is sealed to it", path, path);
        return -1;
    }
    self->keys = mail_keys_new (zcert_public_key (self->cert), zcert_secret_key (self->cert));
    if (!self->keys) {
        snprintf (err, err_size, "cannot keep the secret key in guarded memory");
        return -1;
    }
    return 0;
}

static int
s_services (mail_state_t *self, tsr_config_t *config, char *err, size_t err_size)
{
    long timeout_ms = 0, level = 0, renew_days = 0;
    if (tsr_config_get_long (config, "TSR_MAIL_PEER_TIMEOUT_MS", S_PEER_TIMEOUT_MS, 100, 600000,
                             &timeout_ms, err, err_size)
    ||  tsr_config_get_long (config, "TSR_POLICY_LEVEL", 2, 1, 3, &level, err, err_size)
    ||  tsr_config_get_long (config, "TSR_MAIL_SIGNER_RENEW_DAYS", 30, 1, 365, &renew_days,
                             err, err_size))
        return -1;
    if (!(self->enrollment = tsr_peer_new_configured (config, "enrollment", self->cert,
                                                      (int) timeout_ms, 1, err, err_size))
    ||  !(self->perso = tsr_peer_new_configured (config, "perso", self->cert, (int) timeout_ms, 1,
                                                 err, err_size))
    ||  !(self->validation = tsr_peer_new_configured (config, "validation", self->cert,
                                                      (int) timeout_ms, 1, err, err_size))
    ||  !(self->ca = tsr_peer_new_configured (config, "ca", self->cert, S_CA_TIMEOUT_MS, 1, err,
                                              err_size)))
        return -1;
    mail_signer_config_t signer = {
        .key_dir = tsr_config_get (config, "TSR_MAIL_KEY_DIR", "var/mail-keys"),
        .common_name = tsr_config_get (config, "TSR_MAIL_SIGNER_NAME", "tessera mail"),
        .organization = tsr_config_get (config, "TSR_MAIL_ORGANIZATION", "tessera"),
        .email = self->from_address, .level = (int) level, .renew_days = (int) renew_days,
    };
    self->signer = mail_signer_new (&signer, self->ca, err, err_size);
    self->smtp = self->signer ? mail_smtp_new (config, err, err_size) : NULL;
    if (!self->smtp)
        return -1;
    if (self->lease_s * 1000 <= mail_smtp_timeout_ms (self->smtp) + 1000) {
        snprintf (err, err_size, "TSR_MAIL_SENDING_LEASE_S must exceed TSR_SMTP_TIMEOUT_MS by "
                                 "more than a second: a claim may not expire while it sends");
        return -1;
    }
    return 0;
}

void *
mail_state_new (tsr_config_t *config, char *err, size_t err_size)
{
    if (sodium_init () < 0 || curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf (err, err_size, "libsodium or libcurl cannot start");
        return NULL;
    }
    mail_state_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    self->dsn = strdup (tsr_config_get (config, "TSR_DB_DSN", ""));
    self->schema = strdup (tsr_config_get (config, "TSR_DB_SCHEMA", "mail"));
    if (!self->dsn || !self->schema) {
        snprintf (err, err_size, "out of memory");
        goto fail;
    }
    if (s_numbers_read (self, config, err, err_size)
    ||  s_texts_read (self, config, err, err_size)
    ||  s_keys (self, config, err, err_size)
    ||  s_services (self, config, err, err_size))
        goto fail;
    return self;
fail:
    {
        void *state = self;
        mail_state_destroy (&state);
    }
    return NULL;
}

void
mail_state_destroy (void **state_p)
{
    if (!state_p || !*state_p)
        return;
    mail_state_t *self = *state_p;
    mail_signer_destroy (&self->signer);
    mail_smtp_destroy (&self->smtp);
    tsr_peer_destroy (&self->enrollment);
    tsr_peer_destroy (&self->perso);
    tsr_peer_destroy (&self->validation);
    tsr_peer_destroy (&self->ca);
    mail_keys_destroy (&self->keys);
    zcert_destroy (&self->cert);
    free (self->dsn);
    free (self->schema);
    free (self);
    *state_p = NULL;
    curl_global_cleanup ();
}

int
mail_on_start (void *state, tsr_metrics_t *metrics, char *err, size_t err_size)
{
    mail_state_t *self = state;
    self->sent_total = tsr_metrics_counter (metrics, "tessera_mail_emails_sent_total",
                                            "E-mails accepted by the SMTP server", "template");
    self->failed_total = tsr_metrics_counter (metrics, "tessera_mail_attempts_failed_total",
                                              "SMTP attempts that failed", "outcome");
    self->dead_total = tsr_metrics_counter (metrics, "tessera_mail_dead_letters_total",
                                            "E-mails moved to the dead letters", NULL);
    self->outbox_gauge = tsr_metrics_gauge (metrics, "tessera_mail_outbox_emails",
                                            "E-mails in the outbox by state", "state");
    self->signer_gauge = tsr_metrics_gauge (metrics, "tessera_mail_signer_ready",
                                            "1 when the S/MIME certificate is usable", NULL);
    //  One attempt now; the CA key may not be active yet, so the signer
    //  keeps asking in the background.
    char reason [256] = "";
    if (mail_signer_refresh (self->signer, reason, sizeof reason))
        tsr_log_warn (NULL, "mail.signer_pending", "reason", reason, NULL);
    tsr_gauge_set (self->signer_gauge, NULL, mail_signer_ready (self->signer) ? 1 : 0);
    if (mail_signer_start (self->signer, (int) self->signer_retry_ms, S_SIGNER_CHECK_MS)
    ||  !(self->sender = mail_sender_new (self))
    ||  !(self->sweeper = mail_sweeper_new (self))) {
        snprintf (err, err_size, "cannot start the mail service's background jobs");
        mail_on_stop (self);
        return -1;
    }
    return 0;
}

void
mail_on_stop (void *state)
{
    mail_state_t *self = state;
    zactor_destroy (&self->sweeper);
    zactor_destroy (&self->sender);
    mail_signer_stop (self->signer);
}

int64_t
mail_now (const mail_state_t *state)
{
    return (int64_t) time (NULL) + state->clock_offset_s;
}
