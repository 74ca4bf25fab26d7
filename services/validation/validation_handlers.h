/*  The validation service's bus methods (table in main.c). Each runs inside
    the request's transaction (see tsr_call_t); call->state is the
    validation_state_t.
*/
#ifndef VALIDATION_HANDLERS_H
#define VALIDATION_HANDLERS_H

#include "tessera/bus.h"
#include "tessera/v1/validation.pb-c.h"
#include "validation_answer.h"

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

//  The pure first steps: every bound of a request that needs no database.
//  STATUS_OK, or the refusal with the call's message set. The handlers call
//  them first; so does tests/fuzz/fuzz_payload_validation.c.
tsr_status_t validation_login_check (tsr_call_t *call, const Tessera__V1__LoginRequest *request);
tsr_status_t validation_set_password_check (tsr_call_t *call,
                                            const Tessera__V1__SetPasswordRequest *request);
//  answers [i] gets pair i's answer in normal form.
tsr_status_t validation_questions_check (tsr_call_t *call,
                                         const Tessera__V1__SetSecretQuestionsRequest *request,
                                         char answers [][VALIDATION_NORMALISED_SIZE]);
//  normalised [i] gets answer i in normal form.
tsr_status_t validation_answers_check (tsr_call_t *call,
                                       const Tessera__V1__VerifyAnswersRequest *request,
                                       char normalised [][VALIDATION_NORMALISED_SIZE]);
//  ResetPassword's and UnlockAccount's input: an account and a reason.
tsr_status_t validation_remedy_check (tsr_call_t *call, const char *account_id,
                                      const char *reason);

#endif
