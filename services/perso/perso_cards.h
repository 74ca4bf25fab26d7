/*  perso_cards: card rows, their transitions and the Card message.

    perso_card_apply is the one place a card changes state: it checks the
    transition against the table (perso_card_states.h), keeps the state a
    suspended card came from, appends the history row, the audit row and
    the "card.state_changed" event, all in the caller's transaction.
*/
#ifndef PERSO_CARDS_H
#define PERSO_CARDS_H

#include <stdbool.h>
#include "perso_card_states.h"
#include "tessera/db.h"
#include "tessera/v1/perso.pb-c.h"

//  One card row, locked (FOR UPDATE) when asked.
typedef struct {
    char card_uuid [37];
    char person_id [65];
    char account_id [65];
    perso_card_state_t state;
    perso_card_state_t suspended_from;
    char activation_code_hash [160];    //  "" when none (used or never issued)
    int activation_failures;
    bool activation_locked;
} perso_card_row_t;

//  1 found, 0 none, -1 error.
int perso_card_row_load (tsr_db_t *db, const char *card_uuid, bool lock, perso_card_row_t *row);

typedef struct {
    const char *actor;              //  the caller's key or PERSO_RUNNER_ACTOR
    const char *operator_id;        //  operator-made: who; "" for a card operation
    const char *reason;
    const char *trace_id;
} perso_card_change_t;

//  Moves the card (row as loaded, locked) to `to` by kind. Returns
//  PERSO_TRANSITION_OK, the refusal, or -1 on a database error. roles:
//  the caller's (operator rows).
int perso_card_apply (tsr_db_t *db, const perso_card_row_t *row, perso_card_state_t to,
                      perso_transition_kind_t kind, uint32_t roles,
                      const perso_card_change_t *change);

//  A card as the Card message (strings borrowed from the results, valid
//  until release); history only when asked (GetCard).
typedef struct {
    Tessera__V1__Card message;
    PGresult *card_res, *certs_res, *history_res;
    Tessera__V1__CardCertificate *certs;
    Tessera__V1__CardCertificate **cert_list;
    Tessera__V1__CardStateChange *history;
    Tessera__V1__CardStateChange **history_list;
} perso_card_view_t;

int perso_card_view_load (tsr_db_t *db, const char *card_uuid, bool with_history,
                          perso_card_view_t *view);
void perso_card_view_release (perso_card_view_t *view);

#endif
