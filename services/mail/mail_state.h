/*  mail_state: what the mail process holds, read once at start and shared
    by its workers, its event consumers and its background jobs.

    - its CURVE keys (TSR_CERT and its _secret file): the secret key opens
      what validation and perso sealed to mail (mail_unseal.h);
    - clients to enrollment, perso, validation and ca (tsr_peer, tessera/peer.h);
    - the S/MIME signer (mail_signer.h) and the SMTP transport
      (mail_smtp.h);
    - the outbox policy: attempts, backoff, the claim lease;
    - the service's clock: the system clock moved by
      TSR_MAIL_CLOCK_OFFSET_S, for every business time (the PIN mailer's
      24 hours, shipments, acceptances, the expiry sweep), so tests and
      rehearsals move time by configuration, never by sleeping;
    - the background jobs: the sender and the sweeper (started by
      mail_on_start, stopped by mail_on_stop).
*/
#ifndef MAIL_STATE_H
#define MAIL_STATE_H

#include <czmq.h>
#include <stdint.h>
#include "mail_header.h"
#include "tessera/peer.h"
#include "mail_signer.h"
#include "mail_smtp.h"
#include "mail_unseal.h"
#include "tessera/config.h"
#include "tessera/metrics.h"

typedef struct {
    char *dsn;
    char *schema;
    //  Outbox policy.
    long max_attempts;
    long retry_base_ms;
    long retry_max_ms;
    long poll_ms;
    long lease_s;
    //  Sweep policy.
    long sweep_interval_s;
    long expiry_notice_days;
    long renewal_notice_days;
    long clock_offset_s;
    long signer_retry_ms;
    //  What notices and documents say.
    char portal_url [256];
    char return_address [256];
    char from_name [MAIL_NAME_MAX * 4 + 1];
    char from_address [MAIL_ADDRESS_MAX + 1];
    const char *message_domain;     //  in from_address, after '@'
    zcert_t *cert;
    mail_keys_t *keys;
    tsr_peer_t *enrollment, *perso, *validation, *ca;
    mail_signer_t *signer;
    mail_smtp_t *smtp;
    zactor_t *sender;
    zactor_t *sweeper;
    tsr_counter_t *sent_total;
    tsr_counter_t *failed_total;
    tsr_counter_t *dead_total;
    tsr_gauge_t *outbox_gauge;
    tsr_gauge_t *signer_gauge;
} mail_state_t;

//  The service's state_new/state_destroy and on_start/on_stop.
void *mail_state_new (tsr_config_t *config, char *err, size_t err_size);
void mail_state_destroy (void **state_p);
int mail_on_start (void *state, tsr_metrics_t *metrics, char *err, size_t err_size);
void mail_on_stop (void *state);

//  The service's clock, in Unix seconds.
int64_t mail_now (const mail_state_t *state);

#endif
