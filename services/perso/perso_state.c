/*  perso_state: configuration read at start (see perso_state.h).
*/
#include "perso_state.h"
#include "perso_escrow.h"
#include "perso_runner.h"
#include "tessera/service.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_mail_key (perso_state_t *self, tsr_config_t *config, const char *keyring, char *err,
            size_t err_size)
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

static int
s_transport (perso_state_t *self, tsr_config_t *config, char *err, size_t err_size)
{
    const char *algorithm = tsr_config_get (config, "TSR_PERSO_TRANSPORT_KEY_ALGORITHM", "3des");
    size_t expected = 0;
    if (streq (algorithm, "3des")) {
        self->transport_algorithm = PERSO_PIV_ALG_3DES;
        expected = 24;
    }
    else
    if (streq (algorithm, "aes128") || streq (algorithm, "aes192") || streq (algorithm, "aes256")) {
        self->transport_algorithm = streq (algorithm, "aes128") ? PERSO_PIV_ALG_AES128
                                  : streq (algorithm, "aes192") ? PERSO_PIV_ALG_AES192
                                  : PERSO_PIV_ALG_AES256;
        expected = streq (algorithm, "aes128") ? 16 : streq (algorithm, "aes192") ? 24 : 32;
    }
    else {
        snprintf (err, err_size, "TSR_PERSO_TRANSPORT_KEY_ALGORITHM must be 3des, aes128, aes192 or aes256");
        return -1;
    }
    const char *hex = tsr_config_get (config, "TSR_PERSO_TRANSPORT_KEY",
                                      "010203040506070801020304050607080102030405060708");
    size_t size = 0;
    if (strlen (hex) != 2 * expected
    ||  sodium_hex2bin (self->transport_key, sizeof self->transport_key, hex, strlen (hex), NULL,
                        &size, NULL) != 0
    ||  size != expected) {
        snprintf (err, err_size, "TSR_PERSO_TRANSPORT_KEY must be %zu bytes as hex for %s",
                  expected, algorithm);
        return -1;
    }
    self->transport_key_size = size;
    const char *pin = tsr_config_get (config, "TSR_PERSO_TRANSPORT_PIN", "123456");
    const char *puk = tsr_config_get (config, "TSR_PERSO_TRANSPORT_PUK", "12345678");
    if (strlen (pin) < 6 || strlen (pin) > 8 || strlen (puk) < 6 || strlen (puk) > 8) {
        snprintf (err, err_size, "TSR_PERSO_TRANSPORT_PIN and _PUK must be 6 to 8 characters");
        return -1;
    }
    snprintf (self->transport_pin, sizeof self->transport_pin, "%s", pin);
    snprintf (self->transport_puk, sizeof self->transport_puk, "%s", puk);
    const char *agency = tsr_config_get (config, "TSR_PERSO_FASCN_AGENCY", "9999");
    const char *system = tsr_config_get (config, "TSR_PERSO_FASCN_SYSTEM", "9999");
    uint8_t fascn [PERSO_PIV_FASCN_SIZE];
    if (perso_piv_fascn (agency, system, "000001", fascn)) {
        snprintf (err, err_size, "TSR_PERSO_FASCN_AGENCY and _SYSTEM must be 4 digits each");
        return -1;
    }
    snprintf (self->fascn_agency, sizeof self->fascn_agency, "%s", agency);
    snprintf (self->fascn_system, sizeof self->fascn_system, "%s", system);
    return 0;
}

//  The key-recovery authority's public key, and where its private half is
//  (read by the recovery path only: perso_escrow.h).
static int
s_recovery (perso_state_t *self, tsr_config_t *config, char *err, size_t err_size)
{
    const char *public_hex = tsr_config_get (config, "TSR_PERSO_RECOVERY_PUBLIC_KEY", "");
    const char *file = tsr_config_get (config, "TSR_PERSO_RECOVERY_KEY_FILE", "");
    if (strlen (file) >= sizeof self->recovery_key_file) {
        snprintf (err, err_size, "TSR_PERSO_RECOVERY_KEY_FILE is too long");
        return -1;
    }
    snprintf (self->recovery_key_file, sizeof self->recovery_key_file, "%s", file);
    if (!*public_hex)
        return 0;
    char why [96];
    if (perso_escrow_key_parse (public_hex, self->recovery_public_key, why, sizeof why)) {
        snprintf (err, err_size, "TSR_PERSO_RECOVERY_PUBLIC_KEY: %s", why);
        return -1;
    }
    self->have_recovery_key = true;
    return 0;
}

void *
perso_state_new (tsr_config_t *config, char *err, size_t err_size)
{
    if (sodium_init () < 0) {
        snprintf (err, err_size, "libsodium cannot start");
        return NULL;
    }
    perso_state_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->side_lock, NULL);
    const char *keyring = tsr_config_get (config, "TSR_KEYRING_DIR", ".");
    const char *cert_path = tsr_config_get (config, "TSR_CERT", NULL);
    const char *master = tsr_config_get (config, "TSR_PERSO_MASTER_KEY_FILE", NULL);
    self->dsn = strdup (tsr_config_get (config, "TSR_DB_DSN", ""));
    self->schema = strdup (tsr_config_get (config, "TSR_DB_SCHEMA", "perso"));
    if (!self->dsn || !self->schema) {
        snprintf (err, err_size, "out of memory");
        goto fail;
    }
    if (tsr_config_get_long (config, "TSR_PERSO_CARD_WAIT_MS", 10000, 0, 600000,
                             &self->card_wait_ms, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PERSO_RUNNERS", 2, 1, 16, &self->runners, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PERSO_STALE_S", 120, 10, 86400, &self->stale_s,
                             err, err_size)
    ||  tsr_config_get_long (config, "TSR_PERSO_ACTIVATION_MAX_FAILURES", 5, 1, 20,
                             &self->activation_max_failures, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PERSO_PUK_MAX_FAILURES", 3, 1, 20,
                             &self->puk_max_failures, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PERSO_PUK_LOCK_S", 3600, 60, 7 * 86400,
                             &self->puk_lock_s, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PERSO_PUK_CHALLENGE_S", 900, 60, 3600,
                             &self->puk_challenge_s, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PERSO_ESCROW_RETAIN_YEARS", 5, 5, 50,
                             &self->escrow_retain_years, err, err_size)
    ||  s_recovery (self, config, err, err_size)
    ||  s_transport (self, config, err, err_size)
    ||  s_mail_key (self, config, keyring, err, err_size))
        goto fail;
    if (master) {
        if (perso_master_key_load (master, self->master_key, &self->master_key_size, err,
                                   err_size))
            goto fail;
        self->have_master_key = true;
    }
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
    ||  !(self->ca = tsr_peer_new_configured (config, "ca", self->cert, 15000, 1, err, err_size)))
        goto fail;
    return self;
fail:
    {
        void *state = self;
        perso_state_destroy (&state);
    }
    return NULL;
}

void
perso_state_destroy (void **state_p)
{
    if (!state_p || !*state_p)
        return;
    perso_state_t *self = *state_p;
    perso_runner_destroy (&self->runner);
    tsr_peer_destroy (&self->enrollment);
    tsr_peer_destroy (&self->validation);
    tsr_peer_destroy (&self->ca);
    zcert_destroy (&self->cert);
    tsr_db_destroy (&self->side_db);
    pthread_mutex_destroy (&self->side_lock);
    OPENSSL_cleanse (self->master_key, sizeof self->master_key);
    OPENSSL_cleanse (self->transport_key, sizeof self->transport_key);
    OPENSSL_cleanse (self->transport_pin, sizeof self->transport_pin);
    OPENSSL_cleanse (self->transport_puk, sizeof self->transport_puk);
    free (self->dsn);
    free (self->schema);
    free (self);
    *state_p = NULL;
}
