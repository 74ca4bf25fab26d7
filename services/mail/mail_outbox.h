/*  mail_outbox: the durable e-mail outbox in the mail schema, and the
    once-only delivery around it.

    1. Queued: mail_outbox_enqueue, in the transaction of whatever called
       for the e-mail (an event applied, a shipment posted, the sweep). The
       Message-ID is fixed here ("<email_id@domain of TSR_SMTP_FROM>") and
       never changes; dedup_key (unique) makes a second enqueue for the same
       cause a no-op. The recipient and subject are checked here (header
       injection), and a refusal stores nothing but its audit row.
    2. Claimed: mail_outbox_claim takes one due e-mail (FOR UPDATE SKIP
       LOCKED, so replicas never take the same one), marks it "sending"
       with a fresh attempt id, counts the attempt and records it in
       email_attempts, and commits before any byte goes to SMTP.
    3. Finished: mail_outbox_finish records the outcome in one transaction
       with its audit row and event: sent (the body's inputs are dropped),
       retry (next attempt after base * 2^(attempts-1), capped), or dead
       letter (max attempts, or a permanent SMTP refusal).
    4. Reclaimed: a claim older than TSR_MAIL_SENDING_LEASE_S means the
       process died or stalled between claim and finish; the e-mail goes
       back to the queue (or to the dead letters at max attempts) and is
       sent again with the same Message-ID. That is the one window where a
       message can arrive twice (SMTP has no idempotency): a crash after the
       server accepted DATA and before step 3 committed. The receiver sees
       the same Message-ID twice and can drop the second (docs/mail.md).
*/
#ifndef MAIL_OUTBOX_H
#define MAIL_OUTBOX_H

#include <stddef.h>
#include <stdint.h>
#include "mail_smtp.h"
#include "mail_state.h"
#include "mail_template.h"
#include "tessera/db.h"
#include "tessera/envelope.h"

//  Email states (EmailState).
#define MAIL_EMAIL_QUEUED 1
#define MAIL_EMAIL_SENDING 2
#define MAIL_EMAIL_SENT 3
#define MAIL_EMAIL_DEAD 4

#define MAIL_PARAMS_MAX 16

//  What to queue. params are not secret (they are stored); sealed_secret
//  is stored sealed and becomes the template's {{password}} at each
//  attempt.
typedef struct {
    int template_id;
    const char *language;
    const char *recipient_person_id;        //  or ""
    const char *recipient_operator_id;      //  or ""
    const char *to_address;
    const char *to_name;                    //  may be ""
    const mail_param_t *params;
    size_t param_count;
    const uint8_t *sealed_secret;           //  or NULL
    size_t sealed_size;
    const char *source_service;             //  "" when not an event
    uint64_t source_event_seq;
    const char *dedup_key;
    const char *actor;                      //  for the audit trail
    const char *trace_id;
} mail_enqueue_t;

typedef enum {
    MAIL_ENQUEUE_QUEUED = 1,
    MAIL_ENQUEUE_DUPLICATE = 0,             //  dedup_key seen before
    MAIL_ENQUEUE_FAILED = -1,               //  database error: roll back
    MAIL_ENQUEUE_REFUSED = -2               //  bad recipient or subject (audited)
} mail_enqueue_result_t;

//  Inside the caller's transaction. reason (256) says why on a refusal.
mail_enqueue_result_t mail_outbox_enqueue (tsr_db_t *db, mail_state_t *state,
                                           const mail_enqueue_t *email, char *reason,
                                           size_t reason_size);

//  One claimed e-mail, as the sender needs it (strings borrowed from the
//  results).
typedef struct {
    char attempt_id [TSR_ID_HEX_SIZE];
    PGresult *row;
    PGresult *params_res;
    const char *email_id, *message_id, *language, *to_address, *to_name, *subject;
    const char *recipient_person_id, *recipient_operator_id, *trace_id;
    int template_id;
    int attempts;
    int max_attempts;
    uint8_t *sealed;                        //  PQfreemem
    size_t sealed_size;
    mail_param_t params [MAIL_PARAMS_MAX];
    size_t param_count;
} mail_claim_t;

//  Claims the next due e-mail in a transaction of its own. 1 claimed, 0
//  none due, -1 database error. Release with mail_claim_release.
int mail_outbox_claim (tsr_db_t *db, mail_state_t *state, mail_claim_t *claim);
void mail_claim_release (mail_claim_t *claim);

//  How an attempt ended.
typedef enum {
    MAIL_ATTEMPT_SENT,
    MAIL_ATTEMPT_RETRY,         //  transient: try again later
    MAIL_ATTEMPT_DEAD           //  permanent: to the dead letters now
} mail_attempt_outcome_t;

//  Records the outcome in a transaction of its own. 0, or -1.
int mail_outbox_finish (tsr_db_t *db, mail_state_t *state, const mail_claim_t *claim,
                        mail_attempt_outcome_t outcome, const char *detail);

//  Puts claims older than the lease back (see above). Returns how many,
//  or -1.
int mail_outbox_reclaim (tsr_db_t *db, mail_state_t *state);

//  The delay before attempt attempts + 1: base * 2^(attempts - 1), at
//  most max (milliseconds).
int64_t mail_outbox_backoff_ms (long base_ms, long max_ms, int attempts);

#endif
