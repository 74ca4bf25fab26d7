/*  tessera-mail: everything that leaves for a person. E-mail notices from a
    durable outbox over SMTP (libcurl) with retries, backoff and dead
    letters, each S/MIME-signed by mail's own certificate from tessera's CA,
    in French or English; cards by registered mail, PIN mailers (PDF, once)
    by simple mail at least 24 h later; acceptance returns.

    Owns the schema "mail". Ping and ListEvents are served by libtessera
    for every service. Follows validation's, enrollment's, ca's and perso's
    events (mail_events.h). Configuration: docs/configuration.md; decisions
    and the once-only delivery: docs/mail.md.
*/
#include "mail_events.h"
#include "mail_handlers.h"
#include "mail_state.h"
#include "tessera/roles.h"
#include "tessera/service.h"

extern const tsr_migration_set_t tsr_mail_migrations;

//  Who may call what (tessera/roles.h), as mail.proto says. The portal's
//  and perso's calls come with their service keys (TSR_ROLE_SERVICE).
#define S_ENGINEER TSR_ROLE_SYSTEM_ENGINEER
#define S_DESK TSR_ROLE_SERVICE_DESK
#define S_CONTROLLER TSR_ROLE_CONTROLLER
#define S_SHIPPING TSR_ROLE_SHIPPING
#define S_ENTRY TSR_ROLE_ENTRY
#define S_SERVICE TSR_ROLE_SERVICE
#define S_READ TSR_METHOD_READ_ONLY

static const tsr_method_t s_methods [] = {
    { "ListEmails", mail_handle_list_emails, S_READ, S_ENGINEER | S_DESK | S_CONTROLLER },
    { "GetEmail", mail_handle_get_email, S_READ, S_ENGINEER | S_DESK | S_CONTROLLER },
    { "RequeueEmail", mail_handle_requeue_email, 0, S_ENGINEER },
    { "RunExpirySweep", mail_handle_run_expiry_sweep, 0, S_ENGINEER },
    { "PrepareShipment", mail_handle_prepare_shipment, 0, S_SHIPPING },
    //  The PDF holds the PIN and the activation code: sent once, never
    //  stored with the request id.
    { "ReleasePinMailer", mail_handle_release_pin_mailer, TSR_METHOD_SECRET_REPLY, S_SHIPPING },
    { "SetShipmentState", mail_handle_set_shipment_state, 0, S_SHIPPING },
    { "GetShipment", mail_handle_get_shipment, S_READ,
      S_SHIPPING | S_DESK | S_CONTROLLER | S_SERVICE },
    { "ListShipments", mail_handle_list_shipments, S_READ, S_SHIPPING | S_DESK | S_CONTROLLER },
    //  Paper: shipping or entry; portal: the portal's service key (the
    //  handler checks the channel against the caller).
    { "RecordAcceptance", mail_handle_record_acceptance, 0, S_SHIPPING | S_ENTRY | S_SERVICE },
    { "ListAcceptances", mail_handle_list_acceptances, S_READ,
      S_SHIPPING | S_ENTRY | S_DESK | S_CONTROLLER | S_SERVICE },
};

//  Perso may not be running (or not written yet): its consumer keeps
//  asking and applies its events whenever they come.
static const tsr_event_subscription_t s_subscriptions [] = {
    { "validation", mail_apply_validation },
    { "enrollment", mail_apply_enrollment },
    { "ca", mail_apply_ca },
    { "perso", mail_apply_perso },
};

static const tsr_service_definition_t s_definition = {
    .name = "mail",
    .port_offset = 5,
    .migrations = &tsr_mail_migrations,
    .methods = s_methods,
    .method_count = sizeof s_methods / sizeof s_methods [0],
    .state_new = mail_state_new,
    .state_destroy = mail_state_destroy,
    .on_start = mail_on_start,
    .on_stop = mail_on_stop,
    .subscriptions = s_subscriptions,
    .subscription_count = sizeof s_subscriptions / sizeof s_subscriptions [0],
};

int
main (int argc, char **argv)
{
    return tsr_service_main (&s_definition, argc, argv);
}
