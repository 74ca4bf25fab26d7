/*  tessera-ca: issuers, CA key activation (k of n), certificate profiles, issued certificates, revocation status and CRL numbers: the only holder of CA keys.

    Owns the schema "ca". Its methods are listed below; Ping and ListEvents
    are served by libtessera for every service. Configuration: see
    docs/configuration.md.
*/
#include "tessera/service.h"

extern const tsr_migration_set_t tsr_ca_migrations;

static const tsr_method_t s_methods [] = {
    { NULL, NULL, 0 }   //  business methods arrive with the service's issue
};

static const tsr_service_definition_t s_definition = {
    .name = "ca",
    .port_offset = 3,
    .migrations = &tsr_ca_migrations,
    .methods = s_methods,
    .method_count = 0,
};

int
main (int argc, char **argv)
{
    return tsr_service_main (&s_definition, argc, argv);
}
