/*  perso_mailer: a card's activation code, and the "pin_mailer.ready"
    event that carries it (and the PIN, at personalisation) to mail.

    The code is drawn here, hashed (Argon2id) into the card's row, sealed
    to mail's key into the event, and wiped: nothing else ever sees it.
    Issuing a new one replaces the hash, so the old code stops working,
    and clears the failures and the lock.
*/
#ifndef PERSO_MAILER_H
#define PERSO_MAILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "perso_state.h"

typedef struct {
    const char *card_uuid;
    const char *card_request_id;
    const char *person_id;
    const uint8_t *sealed_pin;      //  NULL on a reissue (no PIN)
    size_t sealed_pin_size;
    bool reissue;
    const char *trace_id;
} perso_mailer_t;

//  In the caller's transaction. 0, or -1 with err.
int perso_mailer_issue (perso_state_t *state, tsr_db_t *db, const perso_mailer_t *mailer,
                        char *err, size_t err_size);

#endif
