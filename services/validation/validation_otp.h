/*  validation_otp: issuing a one-time password.

    The password is drawn, hashed (Argon2id) and sealed to the mail
    service's key in one step, and its clear text wiped before
    validation_otp_new returns: what is left is the hash (for the account
    row) and the sealed bytes (for the event). Nothing else ever sees it:
    not the database, the outbox, the log or a reply.
*/
#ifndef VALIDATION_OTP_H
#define VALIDATION_OTP_H

#include <stdint.h>
#include "tessera/db.h"
#include "validation_password.h"
#include "validation_state.h"

typedef struct {
    char hash [VALIDATION_HASH_SIZE];
    uint8_t *sealed;
    size_t sealed_size;
} validation_otp_t;

//  0, or -1 (out of memory).
int validation_otp_new (validation_state_t *state, validation_otp_t *otp);
void validation_otp_release (validation_otp_t *otp);

//  Appends type ("account.created" or "account.password_reset"), a
//  OneTimePasswordIssued carrying the sealed password, in db's
//  transaction. 0, or -1.
int validation_otp_announce (tsr_db_t *db, const validation_state_t *state, const char *type,
                             const char *trace_id, const char *account_id, const char *person_id,
                             const char *login, int64_t expires_unix,
                             const validation_otp_t *otp);

#endif
