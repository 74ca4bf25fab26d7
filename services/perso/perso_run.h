/*  perso_run: one run of a personalisation job, step by step (the steps
    of perso.proto's PersoStep, in order).

    Every run does CONNECT, SELECT_APPLICATION and
    AUTHENTICATE_TRANSPORT_KEY; the later steps look at the job's progress
    and do only what is not done yet:
    - a key already made is checked, while the transport PIN still works,
      by a test signature that must verify with the recorded public key;
      a card that lost it (another card, a wiped one) gets a new key, and
      the certificate of the old key, if any, is revoked (superseded);
    - a key with a CSR is not signed again; one with a certificate is not
      certified again (and the CA answers the first certificate again for
      the same card request, use and key, so a reply lost on the way is
      no second certificate either);
    - the PIN change is recorded as sent before it is sent, with the new
      PIN sealed to mail, so a card pulled at that moment is resolved at
      the next run (the transport PIN works: not changed; refused:
      changed);
    - likewise the management key change, resolved by which key the card
      then accepts.
    A step that fails records the failure only (perso_run_fail): the step,
    the reason, "perso.job.failed".
*/
#ifndef PERSO_RUN_H
#define PERSO_RUN_H

#include <stdatomic.h>
#include "perso_job.h"
#include "perso_pcsc.h"
#include "perso_piv.h"
#include "perso_state.h"
#include "tessera/json.h"

typedef struct {
    perso_state_t *state;
    tsr_db_t *db;
    perso_pcsc_t *pcsc;
    perso_card_t card;
    perso_job_t job;
    char trace_id [65];
    char detail [512];              //  the step's detail, or the failure's reason
    char holder_pin [9];            //  a renewal: the holder's PIN for VERIFY ("" otherwise)
    atomic_bool *stop;
} perso_run_t;

//  Runs job_id (claimed: state RUNNING) to success or failure. db is the
//  runner's connection (no transaction open), pcsc its PC/SC context.
void perso_run_job (perso_state_t *state, tsr_db_t *db, perso_pcsc_t *pcsc, const char *job_id,
                    atomic_bool *stop);

//  Commits the job's progress and keys now (a result that must survive a
//  failure later in the step: a certificate issued, a PIN change sent).
int perso_run_checkpoint (perso_run_t *run);

//  The steps (perso_run_card.c, perso_run_keys.c, perso_run_issue.c,
//  perso_run_record.c): 0 done (run->detail says what), -1 failed
//  (run->detail says why).
int perso_run_connect (perso_run_t *run);
int perso_run_select (perso_run_t *run);
int perso_run_authenticate (perso_run_t *run);
int perso_run_generate (perso_run_t *run, int key_index);
int perso_run_sign_csrs (perso_run_t *run);
int perso_run_issue (perso_run_t *run);
int perso_run_write_certificates (perso_run_t *run);
int perso_run_escrow (perso_run_t *run);
int perso_run_write_chuid (perso_run_t *run);
int perso_run_set_pin_and_puk (perso_run_t *run);
int perso_run_change_management_key (perso_run_t *run);
int perso_run_record_card (perso_run_t *run);

//  Revokes serial at ca with reason (RevocationReason), treating "revoked
//  already" as done. 0, or -1 with message.
int perso_run_revoke (perso_state_t *state, const char *trace_id, const char *serial_hex,
                      int reason, const char *reference, char *message, size_t message_size);

//  The end of RECORD_CARD, in the caller's transaction: the card event
//  (event_type), the job succeeded with its sealed PINs dropped, the step
//  done, the audit row (action, *json_p consumed). 0, or -1.
int perso_run_record_end (perso_run_t *run, const char *event_type, const char *action,
                          tsr_json_t **json_p);

//  Emits type ("card.personalised", "card.renewed") with the job's card and
//  certificates (CardPersonalised), in the caller's transaction. 0, or -1.
int perso_run_card_event (perso_run_t *run, const char *type);

//  Sets run->detail from a card status and returns -1.
int perso_run_card_failed (perso_run_t *run, const perso_piv_status_t *status);

#endif
