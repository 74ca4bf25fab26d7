/*  validation_accounts: one holder account per person, created by the
    first validated request of that person and reused by the later ones.

    The login is the person's e-mail address as enrollment has it when the
    account is created (unique among accounts, ASCII case aside); the
    account starts in "pending first login" with a one-time password whose
    hash only is stored, sealed to mail in the "account.created" event.
*/
#ifndef VALIDATION_ACCOUNTS_H
#define VALIDATION_ACCOUNTS_H

#include <stdbool.h>
#include "tessera/bus.h"
#include "validation_input.h"

//  Inside the call's transaction: the account of person_id, created when
//  there is none (login = email). account_id gets its id. Returns
//  STATUS_OK, or a failure with the call's message set.
tsr_status_t validation_account_for_person (tsr_call_t *call, const char *person_id,
                                            const char *email, const char *decision_id,
                                            char account_id [VALIDATION_ID_MAX + 1],
                                            bool *created);

//  Replies the account as stored now (text: the status message).
tsr_status_t validation_reply_account (tsr_call_t *call, const char *account_id,
                                       const char *text);

#endif
