/*  Fuzz target: validation's request payloads (fuzz_payload.h), each
    through the handler's own pure first step where it has one; a
    SetPassword that passes goes on to the password rules
    (validation_password_check, the built-in breached list), as the handler
    does once it has the account's login.
*/
#include "fuzz_payload.h"
#include "validation_handlers.h"
#include "validation_password.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char s_normalised [10][VALIDATION_NORMALISED_SIZE];

static tsr_status_t
s_login (tsr_call_t *call, const ProtobufCMessage *request)
{
    return validation_login_check (call, (const Tessera__V1__LoginRequest *) request);
}

static tsr_status_t
s_set_password (tsr_call_t *call, const ProtobufCMessage *message)
{
    static validation_breach_list_t *breached;
    if (!breached) {
        char err [256];
        if (!(breached = validation_breach_list_new (NULL, err, sizeof err)))
            abort ();
    }
    const Tessera__V1__SetPasswordRequest *request = (const Tessera__V1__SetPasswordRequest *) message;
    tsr_status_t status = validation_set_password_check (call, request);
    if (status == TESSERA__V1__STATUS__STATUS_OK) {
        char why [256] = "";
        if (validation_password_check (request->new_password, "jeanne.martin@example.fr",
                                       breached, why, sizeof why)
        &&  !*why)
            __builtin_trap ();      //  a refusal always says which rule
    }
    return status;
}

static tsr_status_t
s_questions (tsr_call_t *call, const ProtobufCMessage *request)
{
    return validation_questions_check (
        call, (const Tessera__V1__SetSecretQuestionsRequest *) request, s_normalised);
}

static tsr_status_t
s_answers (tsr_call_t *call, const ProtobufCMessage *request)
{
    return validation_answers_check (call, (const Tessera__V1__VerifyAnswersRequest *) request,
                                     s_normalised);
}

static tsr_status_t
s_reset (tsr_call_t *call, const ProtobufCMessage *message)
{
    const Tessera__V1__ResetPasswordRequest *request = (const Tessera__V1__ResetPasswordRequest *) message;
    return validation_remedy_check (call, request->account_id, request->reason);
}

static tsr_status_t
s_unlock (tsr_call_t *call, const ProtobufCMessage *message)
{
    const Tessera__V1__UnlockAccountRequest *request = (const Tessera__V1__UnlockAccountRequest *) message;
    return validation_remedy_check (call, request->account_id, request->reason);
}

static const fuzz_payload_check_t s_checks [] = {
    { "Login", &tessera__v1__login_request__descriptor, s_login },
    { "SetPassword", &tessera__v1__set_password_request__descriptor, s_set_password },
    { "SetSecretQuestions", &tessera__v1__set_secret_questions_request__descriptor, s_questions },
    { "VerifyAnswers", &tessera__v1__verify_answers_request__descriptor, s_answers },
    { "ResetPassword", &tessera__v1__reset_password_request__descriptor, s_reset },
    { "UnlockAccount", &tessera__v1__unlock_account_request__descriptor, s_unlock },
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_payload_run (&tessera__v1__validation__descriptor, s_checks,
                      sizeof s_checks / sizeof s_checks [0], data, size);
    return 0;
}
