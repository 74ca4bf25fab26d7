/*  tessera-perso: the card bureau. Drives PIV cards through PC/SC
    (libpcsclite): keys made on the card, CSRs signed by the card,
    certificates issued on hold by ca and written back with a CHUID, a
    random PIN sealed to mail, a PUK and a management key diversified for
    the card; the cards and their states (DESIGN 5b); activation codes
    (Argon2id hashes) that release the hold; level * software
    certificates.

    Owns the schema "perso". Ping and ListEvents are served by libtessera
    for every service. Configuration: docs/configuration.md; decisions and
    the job's steps: docs/perso.md.
*/
#include "perso_card_states.h"
#include "perso_handlers.h"
#include "perso_recovery.h"
#include "perso_puk.h"
#include "perso_runner.h"
#include "perso_state.h"
#include "tessera/roles.h"
#include "tessera/service.h"

extern const tsr_migration_set_t tsr_perso_migrations;

//  Who may call what (tessera/roles.h), as perso.proto says. The portal,
//  mail and revocation call with their service keys (TSR_ROLE_SERVICE).
#define S_PERSO TSR_ROLE_PERSO
#define S_CONTROLLER TSR_ROLE_CONTROLLER
#define S_SERVICE TSR_ROLE_SERVICE
#define S_CARD_READERS (TSR_ROLE_PERSO | TSR_ROLE_SERVICE_DESK | TSR_ROLE_SHIPPING \
                        | TSR_ROLE_REVOCATION | TSR_ROLE_ACTIVATION_CODE | TSR_ROLE_CONTROLLER \
                        | TSR_ROLE_SERVICE)
//  ChangeCardState: the union of the operator rows' roles; each row is
//  checked in the handler (revocation's key: suspension and resume).
#define S_TRANSITIONS (TSR_ROLE_SERVICE_DESK | TSR_ROLE_REVOCATION | TSR_ROLE_PERSO \
                       | TSR_ROLE_SHIPPING | TSR_ROLE_SERVICE)
#define S_READ TSR_METHOD_READ_ONLY

static const tsr_method_t s_methods [] = {
    { "ListReaders", perso_handle_list_readers, S_READ, S_PERSO },
    { "StartJob", perso_handle_start_job, 0, S_PERSO },
    { "RetryJob", perso_handle_retry_job, 0, S_PERSO },
    { "AbandonJob", perso_handle_abandon_job, 0, S_PERSO },
    { "GetJob", perso_handle_get_job, S_READ, S_PERSO | S_CONTROLLER },
    { "ListJobs", perso_handle_list_jobs, S_READ, S_PERSO | S_CONTROLLER },
    { "GetCard", perso_handle_get_card, S_READ, S_CARD_READERS },
    { "ListCards", perso_handle_list_cards, S_READ, S_CARD_READERS },
    { "ListCardTransitions", perso_handle_list_transitions, S_READ,
      TSR_ROLES_OPERATOR | S_CONTROLLER },
    { "ChangeCardState", perso_handle_change_card_state, 0, S_TRANSITIONS },
    { "ActivateCard", perso_handle_activate_card, 0, S_SERVICE },
    { "ReissueActivationCode", perso_handle_reissue_code, 0, TSR_ROLE_ACTIVATION_CODE },
    { "IssueFromCsr", perso_handle_issue_from_csr, 0, S_PERSO | S_SERVICE },
    //  The reply holds the holder's private keys: sent once, never stored.
    { "IssuePkcs12", perso_handle_issue_pkcs12, TSR_METHOD_SECRET_REPLY, S_PERSO | S_SERVICE },
    //  PIN unblock (perso_puk.h): the PUK is in ReleasePuk's reply, sent once.
    { "StartPukRelease", perso_handle_start_puk_release, 0,
      TSR_ROLE_SERVICE_DESK | S_SERVICE },
    { "ReleasePuk", perso_handle_release_puk, TSR_METHOD_SECRET_REPLY,
      TSR_ROLE_SERVICE_DESK | S_SERVICE },
    { "ChangePuk", perso_handle_change_puk, 0, S_PERSO },
    //  Key recovery (perso_recovery.h): four eyes of recovery officers.
    { "RequestKeyRecovery", perso_handle_request_key_recovery, 0,
      TSR_ROLE_SERVICE_DESK | TSR_ROLE_RECOVERY_OFFICER },
    { "ApproveKeyRecovery", perso_handle_approve_key_recovery, 0, TSR_ROLE_RECOVERY_OFFICER },
    { "DeliverRecoveredKey", perso_handle_deliver_recovered_key, TSR_METHOD_SECRET_REPLY,
      TSR_ROLE_SERVICE_DESK | TSR_ROLE_RECOVERY_OFFICER },
    { "GetKeyRecovery", perso_handle_get_key_recovery, S_READ,
      TSR_ROLE_RECOVERY_OFFICER | S_CONTROLLER },
    { "ListEscrowedKeys", perso_handle_list_escrowed_keys, S_READ,
      TSR_ROLE_RECOVERY_OFFICER | S_CONTROLLER },
};

static const tsr_event_subscription_t s_subscriptions [] = {
    { "mail", perso_follow_mail },
};

//  The job runners start once the service is wired, and stop (failing a
//  job in flight before its next step, retryable) after the bus drained.
static int
s_start (void *state, tsr_metrics_t *metrics, char *err, size_t err_size)
{
    perso_state_t *self = state;
    self->jobs_ended = tsr_metrics_counter (metrics, "tessera_perso_jobs_ended_total",
                                            "Personalisation job runs ended, by outcome",
                                            "outcome");
    self->steps_failed = tsr_metrics_counter (metrics, "tessera_perso_steps_failed_total",
                                              "Personalisation steps that failed, by step",
                                              "step");
    //  Every outcome is exposed from the start (at 0), so an alert on
    //  outcome="failed" sees the series before the first failure.
    static const char *outcomes [] = { "succeeded", "failed", "interrupted" };
    for (size_t i = 0; i < sizeof outcomes / sizeof outcomes [0]; i++)
        tsr_counter_inc (self->jobs_ended, outcomes [i], 0);
    self->runner = perso_runner_new (self, err, err_size);
    return self->runner ? 0 : -1;
}

static void
s_stop (void *state)
{
    perso_state_t *self = state;
    perso_runner_destroy (&self->runner);
}

static const tsr_service_definition_t s_definition = {
    .name = "perso",
    .port_offset = 4,
    .migrations = &tsr_perso_migrations,
    .methods = s_methods,
    .method_count = sizeof s_methods / sizeof s_methods [0],
    .state_new = perso_state_new,
    .state_destroy = perso_state_destroy,
    .on_start = s_start,
    .on_stop = s_stop,
    .subscriptions = s_subscriptions,
    .subscription_count = sizeof s_subscriptions / sizeof s_subscriptions [0],
};

int
main (int argc, char **argv)
{
    return tsr_service_main (&s_definition, argc, argv);
}
