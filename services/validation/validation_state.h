/*  validation_state: what the validation process holds, read once at start
    and shared by its workers.

    - the mail service's CURVE public key (TSR_MAIL_CERT, default
      $TSR_KEYRING_DIR/mail.cert): one-time passwords are sealed to it;
    - the breached-password list (TSR_BREACHED_PASSWORDS_FILE, default the
      built-in list);
    - the lockout policy (TSR_LOGIN_MAX_FAILURES, TSR_LOCKOUT_S) and the
      one-time password's lifetime (TSR_OTP_VALIDITY_S);
    - the client to enrollment, under the service's own certificate
      (TSR_CERT, loaded here: tsr_service_main does not hand it over);
    - a database connection of its own for refusals (validation_refusal.h),
      opened when first needed;
    - an Argon2id hash of nothing anyone knows, verified against when there
      is no account or no password, so refusals take as long as failures.
*/
#ifndef VALIDATION_STATE_H
#define VALIDATION_STATE_H

#include <czmq.h>
#include <pthread.h>
#include <sodium.h>
#include "tessera/config.h"
#include "tessera/db.h"
#include "validation_breach.h"
#include "validation_enrollment.h"
#include "validation_password.h"

//  The proof a one-time-password login gives for SetPassword lives this
//  long (LoginReply says 15 minutes).
#define VALIDATION_CHANGE_TOKEN_VALIDITY_S 900

typedef struct {
    long login_max_failures;
    long lockout_s;
    long otp_validity_s;
    uint8_t mail_public_key [crypto_box_PUBLICKEYBYTES];
    char mail_public_txt [41];
    validation_breach_list_t *breached;
    char decoy_hash [VALIDATION_HASH_SIZE];
    zcert_t *cert;
    tsr_peer_t *enrollment;
    //  Refusals' own connection (under side_lock).
    pthread_mutex_t side_lock;
    tsr_db_t *side_db;
    char *dsn;
    char *schema;
} validation_state_t;

//  The service's state_new/state_destroy (see tsr_service_definition_t).
void *validation_state_new (tsr_config_t *config, char *err, size_t err_size);
void validation_state_destroy (void **state_p);

#endif
