/*  revocation_state: what the revocation process holds, read once at start
    and shared by its workers and its timer.

    - the rules' settings: the deployment's level (TSR_POLICY_LEVEL), the
      deadline override (TSR_REVOCATION_DEADLINE_S), the phone lockout
      (TSR_PHONE_MAX_FAILURES failures within TSR_PHONE_WINDOW_S lock the
      channel for TSR_PHONE_LOCK_S) and the life of a challenge
      (TSR_PHONE_CHALLENGE_S);
    - the clients to enrollment (persons, dossiers, operators), validation
      (secret questions and answers, holder accounts), ca (certificates,
      revocation) and perso (cards, for suspensions), under the service's own certificate (TSR_CERT, loaded
      here: tsr_service_main does not hand it over);
    - a database connection of its own for refusals (revocation_refusal.h),
      opened when first needed;
    - from on_start: the metrics and the timer (revocation_timer.h), which
      keeps the pending and overdue gauges and applies approved requests
      that ca did not take at once.
*/
#ifndef REVOCATION_STATE_H
#define REVOCATION_STATE_H

#include <czmq.h>
#include <pthread.h>
#include "tessera/peer.h"
#include "tessera/config.h"
#include "tessera/db.h"
#include "tessera/metrics.h"

//  Archived requests are kept this long (DESIGN 3).
#define REVOCATION_RETENTION "5 years"

typedef struct {
    long policy_level;
    long deadline_override_s;       //  0: by level
    long phone_max_failures;
    long phone_window_s;
    long phone_lock_s;
    long challenge_s;
    long timer_ms;
    zcert_t *cert;
    tsr_peer_t *enrollment;
    tsr_peer_t *validation;
    tsr_peer_t *ca;
    tsr_peer_t *perso;       //  cards (suspension)
    //  Refusals' own connection (under side_lock).
    pthread_mutex_t side_lock;
    tsr_db_t *side_db;
    char *dsn;
    char *schema;
    //  From on_start (the registry outlives the state's users).
    tsr_gauge_t *pending_gauge;
    tsr_gauge_t *overdue_gauge;
    tsr_counter_t *requests_counter;    //  by channel
    tsr_counter_t *applied_counter;
    tsr_counter_t *phone_failures_counter;
    zactor_t *timer;
} revocation_state_t;

//  The service's hooks (see tsr_service_definition_t).
void *revocation_state_new (tsr_config_t *config, char *err, size_t err_size);
void revocation_state_destroy (void **state_p);
int revocation_state_start (void *state, tsr_metrics_t *metrics, char *err, size_t err_size);
void revocation_state_stop (void *state);

#endif
