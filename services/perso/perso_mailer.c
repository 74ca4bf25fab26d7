/*  perso_mailer: activation codes and the PIN mailer event (see
    perso_mailer.h).
*/
#include "perso_mailer.h"
#include "perso_records.h"
#include "perso_secrets.h"
#include "tessera/v1/perso.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
perso_mailer_issue (perso_state_t *state, tsr_db_t *db, const perso_mailer_t *mailer, char *err,
                    size_t err_size)
{
    char code [PERSO_CODE_TEXT_SIZE], normalised [PERSO_CODE_CHARS + 1];
    char hash [PERSO_HASH_SIZE];
    uint8_t *sealed_code = NULL;
    size_t sealed_code_size = 0;
    int rc = -1;
    perso_random_code (code);
    if (!perso_code_normalise (code, normalised) || perso_code_hash (normalised, hash)) {
        snprintf (err, err_size, "cannot hash the activation code (out of memory?)");
        goto done;
    }
    //  The holder reads the grouped form.
    if (perso_seal (state->mail_public_key, code, strlen (code), &sealed_code, &sealed_code_size)) {
        snprintf (err, err_size, "cannot seal the activation code");
        goto done;
    }
    const char *values [] = { mailer->card_uuid, hash };
    PGresult *res = tsr_db_query (db,
        "UPDATE cards SET activation_code_hash = $2, activation_code_issued_at = now(),"
        " activation_failures = 0, activation_locked = false, updated_at = now()"
        " WHERE card_uuid = $1", 2, values);
    bool updated = res && strcmp (PQcmdTuples (res), "1") == 0;
    PQclear (res);
    if (!updated) {
        snprintf (err, err_size, "cannot record the activation code");
        goto done;
    }
    Tessera__V1__PinMailerReady event = TESSERA__V1__PIN_MAILER_READY__INIT;
    event.card_uuid = (char *) mailer->card_uuid;
    event.card_request_id = (char *) mailer->card_request_id;
    event.person_id = (char *) mailer->person_id;
    event.sealed_pin.data = (uint8_t *) mailer->sealed_pin;
    event.sealed_pin.len = mailer->sealed_pin ? mailer->sealed_pin_size : 0;
    event.sealed_activation_code.data = sealed_code;
    event.sealed_activation_code.len = sealed_code_size;
    event.sealed_for_key = state->mail_public_txt;
    event.reissue = mailer->reissue;
    if (perso_emit (db, "pin_mailer.ready", mailer->card_uuid, mailer->trace_id, &event.base)) {
        snprintf (err, err_size, "cannot record the PIN mailer event");
        goto done;
    }
    rc = 0;
done:
    sodium_memzero (code, sizeof code);
    sodium_memzero (normalised, sizeof normalised);
    free (sealed_code);
    return rc;
}
