/*  tessera-revocation: revocation requests from the portal, by phone and by paper form, holder authentication attempts and the revocation operator's decisions.

    Owns the schema "revocation". Its methods are listed below; Ping and ListEvents
    are served by libtessera for every service. Configuration: see
    docs/configuration.md.
*/
#include "tessera/service.h"

extern const tsr_migration_set_t tsr_revocation_migrations;

static const tsr_method_t s_methods [] = {
    { NULL, NULL, 0, 0 }   //  business methods arrive with the service's issue
};

static const tsr_service_definition_t s_definition = {
    .name = "revocation",
    .port_offset = 6,
    .migrations = &tsr_revocation_migrations,
    .methods = s_methods,
    .method_count = 0,
};

int
main (int argc, char **argv)
{
    return tsr_service_main (&s_definition, argc, argv);
}
