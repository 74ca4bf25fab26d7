/*  validation_lockout: failed logins and the lock they lead to.

    Each failed proof of a holder's password (Login, or SetPassword's
    current password) adds one to the account's failed_logins. At
    TSR_LOGIN_MAX_FAILURES the account is locked for TSR_LOCKOUT_S seconds
    ("validation.account_locked" audited, "account.locked" emitted): Login
    answers authenticated = false whatever the password, until the time
    passes (the count then starts again from zero) or the service desk
    unlocks it. A successful login resets the count.
*/
#ifndef VALIDATION_LOCKOUT_H
#define VALIDATION_LOCKOUT_H

#include "tessera/db.h"
#include "validation_state.h"

//  Inside db's open transaction: one more failure for account_id (whose
//  lock is not in force), the audit row "validation.login_failed" with
//  why, and the lock when the count reaches the maximum. 0, or -1.
int validation_lockout_fail (validation_state_t *state, tsr_db_t *db, const char *account_id,
                             const char *actor, const char *trace_id, const char *why,
                             const char *client_address, const char *user_agent);

//  Inside db's open transaction: clears a lock whose time has passed, and
//  its count. 0, or -1.
int validation_lockout_clear_expired (tsr_db_t *db, const char *account_id);

#endif
