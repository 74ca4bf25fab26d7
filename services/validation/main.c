/*  tessera-validation: the validation operator's four-eyes decision on
    each card request (never the operator who entered it, whatever roles
    they hold), and the holder accounts the portal logs in to: one-time
    password sealed to mail, password change, secret questions (revocation
    by phone), lockout.

    Owns the schema "validation". Ping and ListEvents are served by
    libtessera for every service. Configuration: docs/configuration.md;
    decisions and rules: docs/validation.md.
*/
#include "validation_handlers.h"
#include "validation_state.h"
#include "tessera/roles.h"
#include "tessera/service.h"

extern const tsr_migration_set_t tsr_validation_migrations;

//  Who may call what (tessera/roles.h), as validation.proto says. The
//  portal's and revocation's calls come with their service keys
//  (TSR_ROLE_SERVICE, which any tessera service's own key holds).
#define S_VALIDATION TSR_ROLE_VALIDATION
#define S_DESK TSR_ROLE_SERVICE_DESK
#define S_CONTROLLER TSR_ROLE_CONTROLLER
#define S_SERVICE TSR_ROLE_SERVICE
#define S_READ TSR_METHOD_READ_ONLY

static const tsr_method_t s_methods [] = {
    { "ListPendingRequests", validation_handle_list_pending, S_READ, S_VALIDATION | S_CONTROLLER },
    { "ValidateCardRequest", validation_handle_validate, 0, S_VALIDATION },
    { "RejectCardRequest", validation_handle_reject, 0, S_VALIDATION },
    { "ValidateBatch", validation_handle_validate_batch, 0, S_VALIDATION },
    { "RejectBatch", validation_handle_reject_batch, 0, S_VALIDATION },
    { "GetDecision", validation_handle_get_decision, S_READ,
      S_VALIDATION | S_DESK | S_CONTROLLER | S_SERVICE },
    { "ListDecisions", validation_handle_list_decisions, S_READ, S_VALIDATION | S_CONTROLLER },
    { "GetHolderAccount", validation_handle_get_account, S_READ,
      S_DESK | S_VALIDATION | S_CONTROLLER | S_SERVICE },
    //  The reply of a one-time-password login holds the change token: sent
    //  once, never stored.
    { "Login", validation_handle_login, TSR_METHOD_SECRET_REPLY, S_SERVICE },
    { "SetPassword", validation_handle_set_password, 0, S_SERVICE },
    { "SetSecretQuestions", validation_handle_set_questions, 0, S_SERVICE },
    { "GetSecretQuestions", validation_handle_get_questions, S_READ, S_SERVICE },
    { "VerifyAnswers", validation_handle_verify_answers, 0, S_SERVICE },
    { "ResetPassword", validation_handle_reset_password, 0, S_DESK },
    { "UnlockAccount", validation_handle_unlock, 0, S_DESK },
};

static const tsr_service_definition_t s_definition = {
    .name = "validation",
    .port_offset = 2,
    .migrations = &tsr_validation_migrations,
    .methods = s_methods,
    .method_count = sizeof s_methods / sizeof s_methods [0],
    .state_new = validation_state_new,
    .state_destroy = validation_state_destroy,
};

int
main (int argc, char **argv)
{
    return tsr_service_main (&s_definition, argc, argv);
}
