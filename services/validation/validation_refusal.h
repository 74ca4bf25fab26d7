/*  validation_refusal: refusals that leave a trace.

    A handler that answers anything but STATUS_OK has its transaction
    rolled back, audit rows included. Some refusals must be kept all the
    same: an operator who tries to decide a request they entered (four
    eyes), and a wrong current password given to SetPassword (it counts
    toward the lockout, or SetPassword would be a way round it). They are
    written here in a transaction of their own, on the state's own
    connection, before the handler answers.

    Rule that keeps this free of deadlocks: call it only while the
    request's transaction has written nothing (no audit row, no event, no
    row lock on the account): that transaction then holds nothing this one
    waits for.
*/
#ifndef VALIDATION_REFUSAL_H
#define VALIDATION_REFUSAL_H

#include "tessera/bus.h"
#include "tessera/json.h"

//  Records the audit row (action, subject, *json_p consumed) and, when
//  failed_account_id is set, one failed login for that account
//  (validation_lockout_fail). 0, or -1 (logged; the refusal stands).
int validation_refusal_record (tsr_call_t *call, const char *action, const char *subject,
                               tsr_json_t **json_p, const char *failed_account_id,
                               const char *client_address, const char *user_agent);

#endif
