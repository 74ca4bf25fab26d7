/*  validation_otp: one-time passwords, hashed and sealed (see validation_otp.h).
*/
#include "validation_otp.h"
#include "validation_records.h"
#include "validation_seal.h"

#include <stdlib.h>
#include <string.h>

int
validation_otp_new (validation_state_t *state, validation_otp_t *otp)
{
    memset (otp, 0, sizeof *otp);
    char clear [VALIDATION_OTP_LENGTH + 1];
    validation_otp_generate (clear);
    int rc = -1;
    if (validation_hash (clear, VALIDATION_OTP_LENGTH, otp->hash) == 0
    &&  validation_seal (state->mail_public_key, clear, VALIDATION_OTP_LENGTH, &otp->sealed,
                         &otp->sealed_size) == 0)
        rc = 0;
    sodium_memzero (clear, sizeof clear);
    if (rc)
        validation_otp_release (otp);
    return rc;
}

void
validation_otp_release (validation_otp_t *otp)
{
    free (otp->sealed);
    memset (otp, 0, sizeof *otp);
}

int
validation_otp_announce (tsr_db_t *db, const validation_state_t *state, const char *type,
                         const char *trace_id, const char *account_id, const char *person_id,
                         const char *login, int64_t expires_unix, const validation_otp_t *otp)
{
    Tessera__V1__OneTimePasswordIssued event = TESSERA__V1__ONE_TIME_PASSWORD_ISSUED__INIT;
    event.account_id = (char *) account_id;
    event.person_id = (char *) person_id;
    event.login = (char *) login;
    event.sealed_password.data = otp->sealed;
    event.sealed_password.len = otp->sealed_size;
    event.sealed_for_key = (char *) state->mail_public_txt;
    event.expires_unix = expires_unix;
    return validation_emit (db, type, account_id, trace_id, &event.base);
}
