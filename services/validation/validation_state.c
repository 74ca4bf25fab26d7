/*  validation_state: configuration read at start (see validation_state.h).
*/
#include "validation_state.h"
#include "tessera/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Loads the mail service's public key.
static int
s_mail_key (validation_state_t *self, tsr_config_t *config, const char *keyring,
            char *err, size_t err_size)
{
    char fallback [1024];
    snprintf (fallback, sizeof fallback, "%s/mail.cert", keyring);
    const char *path = tsr_config_get (config, "TSR_MAIL_CERT", fallback);
    zcert_t *mail = zsys_file_exists (path) ? zcert_load (path) : NULL;
    if (!mail) {
        snprintf (err, err_size, "cannot read the mail service's certificate %s (TSR_MAIL_CERT)",
                  path);
        return -1;
    }
    memcpy (self->mail_public_key, zcert_public_key (mail), sizeof self->mail_public_key);
    snprintf (self->mail_public_txt, sizeof self->mail_public_txt, "%s", zcert_public_txt (mail));
    zcert_destroy (&mail);
    return 0;
}

//  The client to enrollment, under our own certificate.
static int
s_enrollment (validation_state_t *self, tsr_config_t *config, const char *keyring,
              char *err, size_t err_size)
{
    char fallback_endpoint [256], fallback_cert [1024];
    tsr_service_default_endpoint (tsr_service_port_offset ("enrollment"), fallback_endpoint,
                                  sizeof fallback_endpoint);
    snprintf (fallback_cert, sizeof fallback_cert, "%s/enrollment.cert", keyring);
    const char *endpoint = tsr_config_get (config, "TSR_ENROLLMENT_ENDPOINT", fallback_endpoint);
    const char *server_path = tsr_config_get (config, "TSR_ENROLLMENT_CERT", fallback_cert);
    const char *cert_path = tsr_config_get (config, "TSR_CERT", NULL);
    long timeout_ms = 0;
    if (tsr_config_get_long (config, "TSR_ENROLLMENT_TIMEOUT_MS", 5000, 100, 600000, &timeout_ms,
                             err, err_size))
        return -1;
    self->cert = cert_path ? zcert_load (cert_path) : NULL;
    if (!self->cert) {
        snprintf (err, err_size, "cannot load the service certificate %s (TSR_CERT)",
                  cert_path ? cert_path : "(unset)");
        return -1;
    }
    zcert_t *server = zsys_file_exists (server_path) ? zcert_load (server_path) : NULL;
    if (!server) {
        snprintf (err, err_size, "cannot read enrollment's certificate %s (TSR_ENROLLMENT_CERT)",
                  server_path);
        return -1;
    }
    self->enrollment = tsr_peer_new ( "enrollment",endpoint, self->cert, zcert_public_txt (server),
                                     (int) timeout_ms, 1);
    zcert_destroy (&server);
    if (!self->enrollment) {
        snprintf (err, err_size, "cannot connect to enrollment at %s (TSR_ENROLLMENT_ENDPOINT)",
                  endpoint);
        return -1;
    }
    return 0;
}

void *
validation_state_new (tsr_config_t *config, char *err, size_t err_size)
{
    if (sodium_init () < 0) {
        snprintf (err, err_size, "libsodium cannot start");
        return NULL;
    }
    validation_state_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->side_lock, NULL);
    const char *keyring = tsr_config_get (config, "TSR_KEYRING_DIR", ".");
    self->dsn = strdup (tsr_config_get (config, "TSR_DB_DSN", ""));
    self->schema = strdup (tsr_config_get (config, "TSR_DB_SCHEMA", "validation"));
    if (!self->dsn || !self->schema) {
        snprintf (err, err_size, "out of memory");
        goto fail;
    }
    if (tsr_config_get_long (config, "TSR_LOGIN_MAX_FAILURES", 5, 1, 100,
                             &self->login_max_failures, err, err_size)
    ||  tsr_config_get_long (config, "TSR_LOCKOUT_S", 900, 1, 31 * 86400, &self->lockout_s,
                             err, err_size)
    ||  tsr_config_get_long (config, "TSR_OTP_VALIDITY_S", 14 * 86400, 60, 90 * 86400,
                             &self->otp_validity_s, err, err_size)
    ||  s_mail_key (self, config, keyring, err, err_size)
    ||  s_enrollment (self, config, keyring, err, err_size))
        goto fail;
    self->breached = validation_breach_list_new (
        tsr_config_get (config, "TSR_BREACHED_PASSWORDS_FILE", NULL), err, err_size);
    if (!self->breached)
        goto fail;
    //  The decoy: the hash of 32 random bytes, thrown away.
    uint8_t nothing [32];
    randombytes_buf (nothing, sizeof nothing);
    int hashed = validation_hash ((const char *) nothing, sizeof nothing, self->decoy_hash);
    sodium_memzero (nothing, sizeof nothing);
    if (hashed) {
        snprintf (err, err_size, "cannot compute an Argon2id hash (out of memory?)");
        goto fail;
    }
    return self;
fail:
    {
        void *state = self;
        validation_state_destroy (&state);
    }
    return NULL;
}

void
validation_state_destroy (void **state_p)
{
    if (!state_p || !*state_p)
        return;
    validation_state_t *self = *state_p;
    tsr_peer_destroy (&self->enrollment);
    zcert_destroy (&self->cert);
    validation_breach_list_destroy (&self->breached);
    tsr_db_destroy (&self->side_db);
    pthread_mutex_destroy (&self->side_lock);
    free (self->dsn);
    free (self->schema);
    free (self);
    *state_p = NULL;
}
