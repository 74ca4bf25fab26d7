/*  The validation service's bus methods (table in main.c). Each runs inside
    the request's transaction (see tsr_call_t); call->state is the
    validation_state_t.
*/
#ifndef VALIDATION_HANDLERS_H
#define VALIDATION_HANDLERS_H

#include "tessera/bus.h"

//  Decisions (validation_decide.c, validation_batch.c, validation_decisions.c).
tsr_status_t validation_handle_validate (tsr_call_t *call);
tsr_status_t validation_handle_reject (tsr_call_t *call);
tsr_status_t validation_handle_validate_batch (tsr_call_t *call);
tsr_status_t validation_handle_reject_batch (tsr_call_t *call);
tsr_status_t validation_handle_get_decision (tsr_call_t *call);
tsr_status_t validation_handle_list_decisions (tsr_call_t *call);
tsr_status_t validation_handle_list_pending (tsr_call_t *call);

//  Holder accounts (validation_accounts.c, validation_login.c,
//  validation_set_password.c, validation_questions.c).
tsr_status_t validation_handle_get_account (tsr_call_t *call);
tsr_status_t validation_handle_reset_password (tsr_call_t *call);
tsr_status_t validation_handle_unlock (tsr_call_t *call);
tsr_status_t validation_handle_login (tsr_call_t *call);
tsr_status_t validation_handle_set_password (tsr_call_t *call);
tsr_status_t validation_handle_set_questions (tsr_call_t *call);
tsr_status_t validation_handle_get_questions (tsr_call_t *call);
tsr_status_t validation_handle_verify_answers (tsr_call_t *call);

#endif
