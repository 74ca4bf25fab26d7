/*  ca_state: configuration and in-memory activation state (see ca_state.h).
*/
#include "ca_state.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_copy (tsr_config_t *config, const char *key, const char *fallback, char *out, size_t size,
        char *err, size_t err_size)
{
    const char *value = tsr_config_get (config, key, fallback);
    if (strlen (value) >= size) {
        snprintf (err, err_size, "%s is longer than %zu characters", key, size - 1);
        return -1;
    }
    snprintf (out, size, "%s", value);
    return 0;
}

void *
ca_state_new (tsr_config_t *config, char *err, size_t err_size)
{
    ca_state_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    if (s_copy (config, "TSR_CA_KEYSTORE", "pkcs11", self->keystore_kind,
                sizeof self->keystore_kind, err, err_size)
    ||  s_copy (config, "TSR_CA_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so",
                self->pkcs11_module, sizeof self->pkcs11_module, err, err_size)
    ||  s_copy (config, "TSR_CA_PKCS11_TOKEN", "tessera-ca", self->pkcs11_token,
                sizeof self->pkcs11_token, err, err_size)
    ||  s_copy (config, "TSR_CA_KEY_DIR", "var/ca-keys", self->key_directory,
                sizeof self->key_directory, err, err_size)
    ||  s_copy (config, "TSR_CA_DELTA_CRL_URL", "http://127.0.0.1:8207/crl/issuing-delta.crl",
                self->delta_crl_url, sizeof self->delta_crl_url, err, err_size)
    ||  ca_profile_config_load (&self->profiles, config, err, err_size)
    ||  tsr_config_get_long (config, "TSR_CA_ACTIVATION_WINDOW_S", 900, 10, 86400,
                             &self->activation_window_s, err, err_size)
    ||  tsr_config_get_long (config, "TSR_CA_CRL_NEXT_UPDATE_HOURS", 24, 1, 72,
                             &self->crl_next_update_hours, err, err_size))
        goto fail;
    if (strcmp (self->keystore_kind, "pkcs11") != 0 && strcmp (self->keystore_kind, "file") != 0) {
        snprintf (err, err_size, "TSR_CA_KEYSTORE must be pkcs11 or file");
        goto fail;
    }
    return self;
fail:
    {
        void *state = self;
        ca_state_destroy (&state);
    }
    return NULL;
}

int
ca_state_on_start (void *state, tsr_metrics_t *metrics, char *err, size_t err_size)
{
    (void) err;
    (void) err_size;
    ca_state_t *self = state;
    pthread_mutex_lock (&self->lock);
    self->key_active = tsr_metrics_gauge (metrics, "tessera_ca_key_active",
                                          "1 while the issuing CA key is activated, 0 otherwise",
                                          NULL);
    tsr_gauge_set (self->key_active, NULL, self->active ? 1 : 0);
    pthread_mutex_unlock (&self->lock);
    return 0;
}

ca_keystore_t *
ca_state_open_keystore (ca_state_t *self, char *err, size_t err_size)
{
    if (strcmp (self->keystore_kind, "file") == 0)
        return ca_keystore_new_file (self->key_directory, err, err_size);
    return ca_keystore_new_pkcs11 (self->pkcs11_module, self->pkcs11_token, err, err_size);
}

void
ca_state_wipe_pending (ca_state_t *self)
{
    for (unsigned i = 0; i < CA_SHARES_MAX; i++)
        ca_share_wipe (&self->pending [i]);
    memset (self->pending_keys, 0, sizeof self->pending_keys);
    memset (self->pending_names, 0, sizeof self->pending_names);
    self->pending_count = 0;
    self->pending_ceremony [0] = 0;
    self->pending_since_ms = 0;
}

void
ca_state_deactivate (ca_state_t *self)
{
    //  The key object first: it lives in the key store's session.
    EVP_PKEY_free (self->issuing_key);
    self->issuing_key = NULL;
    ca_keystore_destroy (&self->keystore);
    X509_free (self->issuing_cert);
    self->issuing_cert = NULL;
    self->active = false;
    tsr_gauge_set (self->key_active, NULL, 0);
    self->active_ceremony [0] = 0;
    self->issuing_sha256 [0] = 0;
    self->activated_at_ms = 0;
    self->activated_by_count = 0;
    memset (self->activated_by, 0, sizeof self->activated_by);
}

void
ca_state_mark_active (ca_state_t *self)
{
    self->active = true;
    tsr_gauge_set (self->key_active, NULL, 1);
}

void
ca_state_destroy (void **state_p)
{
    if (!state_p || !*state_p)
        return;
    ca_state_t *self = *state_p;
    pthread_mutex_lock (&self->lock);
    ca_state_wipe_pending (self);
    ca_state_deactivate (self);
    pthread_mutex_unlock (&self->lock);
    pthread_mutex_destroy (&self->lock);
    OPENSSL_cleanse (self, sizeof *self);
    free (self);
    *state_p = NULL;
}
