/*  tessera-publisher: CRL publication (full and delta) on a schedule and
    after revocations, HTTP distribution of CRLs and CA certificates, and
    the OCSP responder (RFC 6960) with a delegated responder certificate.

    Owns the schema "publisher". Follows the ca's events (certificate
    status) with catch-up. Ping and ListEvents are served by libtessera for
    every service. Configuration: docs/configuration.md; decisions and
    routes: docs/publisher.md.
*/
#include "publisher_handlers.h"
#include "publisher_state.h"
#include "publisher_status.h"
#include "tessera/roles.h"
#include "tessera/service.h"

extern const tsr_migration_set_t tsr_publisher_migrations;

//  Who may call what (tessera/roles.h), as publisher.proto says. Relying
//  parties use the HTTP endpoint, not the bus.
#define S_WATCHERS (TSR_ROLE_SYSTEM_ENGINEER | TSR_ROLE_SECURITY_OFFICER | TSR_ROLE_CONTROLLER)
#define S_PUBLISHERS (TSR_ROLE_SYSTEM_ENGINEER | TSR_ROLE_SECURITY_OFFICER)
#define S_READ TSR_METHOD_READ_ONLY

static const tsr_method_t s_methods [] = {
    { "GetCrl", publisher_handle_get_crl, S_READ, S_WATCHERS },
    { "ListCrls", publisher_handle_list_crls, S_READ, S_WATCHERS },
    { "PublishNow", publisher_handle_publish_now, 0, S_PUBLISHERS },
    { "GetPublicationStatus", publisher_handle_status, S_READ, S_WATCHERS },
};

//  Certificate status comes from the ca's events (publisher_status.c).
static const tsr_event_subscription_t s_subscriptions [] = {
    { "ca", publisher_on_ca_event },
};

static const tsr_service_definition_t s_definition = {
    .name = "publisher",
    .port_offset = 7,
    .migrations = &tsr_publisher_migrations,
    .methods = s_methods,
    .method_count = sizeof s_methods / sizeof s_methods [0],
    .state_new = publisher_state_new,
    .state_destroy = publisher_state_destroy,
    .on_start = publisher_on_start,
    .on_stop = publisher_on_stop,
    .subscriptions = s_subscriptions,
    .subscription_count = sizeof s_subscriptions / sizeof s_subscriptions [0],
};

int
main (int argc, char **argv)
{
    return tsr_service_main (&s_definition, argc, argv);
}
