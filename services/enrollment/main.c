/*  tessera-enrollment: the registration authority's front desk. Operators
    and their roles; organisations (name, SIRET), persons (RL, MC,
    holders), dossiers and their documents, card requests and batches.

    Owns the schema "enrollment". Ping and ListEvents are served by
    libtessera for every service. Configuration: docs/configuration.md.
*/
#include "enrollment.h"
#include "tessera/service.h"

#include <stdio.h>
#include <string.h>

extern const tsr_migration_set_t tsr_enrollment_migrations;

#define S_METHODS_MAX 64

int
main (int argc, char **argv)
{
    //  One table from the two groups of methods.
    static tsr_method_t methods [S_METHODS_MAX];
    size_t count = 0;
    if (enrollment_operator_method_count + enrollment_registry_method_count > S_METHODS_MAX) {
        fprintf (stderr, "tessera-enrollment: too many methods\n");
        return 1;
    }
    for (size_t i = 0; i < enrollment_operator_method_count; i++)
        methods [count++] = enrollment_operator_methods [i];
    for (size_t i = 0; i < enrollment_registry_method_count; i++)
        methods [count++] = enrollment_registry_methods [i];
    //  Validation's decisions move card requests on (enrollment_decisions.c).
    static const tsr_event_subscription_t subscriptions [] = {
        { "validation", enrollment_on_validation_event },
        //  Acceptance returns close and archive dossiers (enrollment_acceptance.c).
        { "mail", enrollment_on_mail_event },
    };
    tsr_service_definition_t definition = {
        .name = "enrollment",
        .port_offset = 1,
        .migrations = &tsr_enrollment_migrations,
        .methods = methods,
        .method_count = count,
        .state_new = enrollment_state_new,
        .state_destroy = enrollment_state_destroy,
        .resolve_roles = enrollment_resolve_roles,
        .subscriptions = subscriptions,
        .subscription_count = sizeof subscriptions / sizeof subscriptions [0],
    };
    return tsr_service_main (&definition, argc, argv);
}
