/*  tessera-enrollment: organisations (name, SIRET), persons (RL, MC, holder), dossiers and their documents, card requests and batches: the entry operator's work.

    Owns the schema "enrollment". Its methods are listed below; Ping and ListEvents
    are served by libtessera for every service. Configuration: see
    docs/configuration.md.
*/
#include "tessera/service.h"

extern const tsr_migration_set_t tsr_enrollment_migrations;

static const tsr_method_t s_methods [] = {
    { NULL, NULL, 0 }   //  business methods arrive with the service's issue
};

static const tsr_service_definition_t s_definition = {
    .name = "enrollment",
    .port_offset = 1,
    .migrations = &tsr_enrollment_migrations,
    .methods = s_methods,
    .method_count = 0,
};

int
main (int argc, char **argv)
{
    return tsr_service_main (&s_definition, argc, argv);
}
