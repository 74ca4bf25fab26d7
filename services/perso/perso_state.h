/*  perso_state: what the perso process holds, read once at start and
    shared by its bus workers and job runners.

    - the mail service's CURVE public key (TSR_MAIL_CERT, default
      $TSR_KEYRING_DIR/mail.cert): the PIN and activation codes are sealed
      to it;
    - the master key the management keys and PUKs are diversified from
      (TSR_PERSO_MASTER_KEY_FILE); without it perso starts, answers reads
      and refuses jobs;
    - the cards' transport values: management key
      (TSR_PERSO_TRANSPORT_KEY, hex, with
      TSR_PERSO_TRANSPORT_KEY_ALGORITHM 3des|aes128|aes192|aes256), PIN and
      PUK (TSR_PERSO_TRANSPORT_PIN, TSR_PERSO_TRANSPORT_PUK);
    - the FASC-N agency and system codes (TSR_PERSO_FASCN_AGENCY,
      TSR_PERSO_FASCN_SYSTEM), the wait for a card
      (TSR_PERSO_CARD_WAIT_MS), the runners (TSR_PERSO_RUNNERS) and when a
      running job is deemed abandoned by its runner (TSR_PERSO_STALE_S);
    - the activation lockout (TSR_PERSO_ACTIVATION_MAX_FAILURES);
    - the PUK release lockout and challenge life
      (TSR_PERSO_PUK_MAX_FAILURES, TSR_PERSO_PUK_LOCK_S,
      TSR_PERSO_PUK_CHALLENGE_S);
    - escrow of encryption keys (perso_escrow.h): the key-recovery
      authority's public key (TSR_PERSO_RECOVERY_PUBLIC_KEY, 64 hex;
      without it a request asking for encryption is refused at StartJob),
      the path of its private half, read only when a recovery is
      delivered (TSR_PERSO_RECOVERY_KEY_FILE), the archive period after a
      certificate expires (TSR_PERSO_ESCROW_RETAIN_YEARS, at least 5);
    - clients to enrollment, validation and ca under perso's own
      certificate (TSR_CERT);
    - a connection of its own for refusals that must be kept
      (perso_refusal.h), and the job runners (perso_runner.h).
*/
#ifndef PERSO_STATE_H
#define PERSO_STATE_H

#include <czmq.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include "tessera/peer.h"
#include "perso_piv.h"
#include "perso_secrets.h"
#include "tessera/config.h"
#include "tessera/db.h"
#include "tessera/metrics.h"

typedef struct _perso_runner_t perso_runner_t;

typedef struct {
    uint8_t mail_public_key [crypto_box_PUBLICKEYBYTES];
    char mail_public_txt [41];
    bool have_master_key;
    uint8_t master_key [PERSO_MASTER_KEY_MAX];
    size_t master_key_size;
    uint8_t transport_key [PERSO_PIV_MGMT_KEY_MAX];
    size_t transport_key_size;
    uint8_t transport_algorithm;
    char transport_pin [9];
    char transport_puk [9];
    char fascn_agency [5];
    char fascn_system [5];
    long card_wait_ms;
    long runners;
    long stale_s;
    long activation_max_failures;
    //  PIN unblock (perso_puk.h): wrong answer sets before releases lock,
    //  for how long, and a challenge's life.
    long puk_max_failures;
    long puk_lock_s;
    long puk_challenge_s;
    bool have_recovery_key;
    uint8_t recovery_public_key [crypto_box_PUBLICKEYBYTES];
    char recovery_key_file [256];
    long escrow_retain_years;
    zcert_t *cert;
    tsr_peer_t *enrollment;
    tsr_peer_t *validation;
    tsr_peer_t *ca;
    pthread_mutex_t side_lock;
    tsr_db_t *side_db;
    char *dsn;
    char *schema;
    perso_runner_t *runner;
    //  Set at start (main.c): jobs ended by outcome, failures by step.
    tsr_counter_t *jobs_ended;
    tsr_counter_t *steps_failed;
} perso_state_t;

//  The service's state_new/state_destroy (see tsr_service_definition_t).
void *perso_state_new (tsr_config_t *config, char *err, size_t err_size);
void perso_state_destroy (void **state_p);

#endif
