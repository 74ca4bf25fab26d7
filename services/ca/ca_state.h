/*  ca_state: what the ca process holds in memory, shared by its workers.

    The CA key is inactive after every start. Custodians' shares collect in
    the pending set until the ceremony's threshold is reached; then the
    secret is rebuilt, opens the issuing key in the key store, and is wiped
    with the shares. Signing holds the lock, so one signature is made at a
    time through the key store's session.

    A pending set older than the activation window (TSR_CA_ACTIVATION_WINDOW_S)
    is wiped and activation starts over: a share presented on Monday does
    not wait for a second one on Friday.
*/
#ifndef CA_STATE_H
#define CA_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "ca_keystore.h"
#include "ca_profile.h"
#include "ca_shares.h"
#include "tessera/config.h"
#include "tessera/metrics.h"

#define CA_ID_MAX 64
#define CA_NAME_FIELD_MAX 128
#define CA_KEY_Z85_SIZE 41

typedef struct {
    pthread_mutex_t lock;
    //  Configuration, read once at start.
    char keystore_kind [16];            //  "pkcs11" or "file"
    char pkcs11_module [256];
    char pkcs11_token [64];
    char key_directory [256];
    ca_profile_config_t profiles;
    long activation_window_s;
    long crl_next_update_hours;
    char delta_crl_url [CA_URL_MAX];
    //  Pending activation (under lock).
    char pending_ceremony [CA_ID_MAX];
    ca_share_t pending [CA_SHARES_MAX];
    char pending_keys [CA_SHARES_MAX][CA_KEY_Z85_SIZE];
    char pending_names [CA_SHARES_MAX][CA_NAME_FIELD_MAX];
    unsigned pending_count;
    int64_t pending_since_ms;
    //  Active key (under lock).
    bool active;
    char active_ceremony [CA_ID_MAX];
    ca_keystore_t *keystore;
    EVP_PKEY *issuing_key;
    X509 *issuing_cert;
    char issuing_sha256 [65];
    int64_t activated_at_ms;
    char activated_by [CA_SHARES_MAX][CA_NAME_FIELD_MAX];
    unsigned activated_by_count;
    //  tessera_ca_key_active: 1 while active is true (set with it).
    tsr_gauge_t *key_active;
} ca_state_t;

//  The service's state_new/state_destroy (see tsr_service_definition_t).
void *ca_state_new (tsr_config_t *config, char *err, size_t err_size);
void ca_state_destroy (void **state_p);

//  The service's on_start: declares tessera_ca_key_active (0: the key is
//  inactive after every start).
int ca_state_on_start (void *state, tsr_metrics_t *metrics, char *err, size_t err_size);

//  A new key store of the configured kind (caller destroys).
ca_keystore_t *ca_state_open_keystore (ca_state_t *self, char *err, size_t err_size);

//  Under lock: wipes the pending shares; drops the active key.
void ca_state_wipe_pending (ca_state_t *self);
void ca_state_deactivate (ca_state_t *self);
//  Under lock, once the key is open: marks the key active (and the gauge).
void ca_state_mark_active (ca_state_t *self);


#endif
