/*  tessera-mail: outgoing e-mail and postal shipments: SMTP with retries, S/MIME-signed notices, card by registered mail, PIN mailer 24 h later.

    Owns the schema "mail". Its methods are listed below; Ping and ListEvents
    are served by libtessera for every service. Configuration: see
    docs/configuration.md.
*/
#include "tessera/service.h"

extern const tsr_migration_set_t tsr_mail_migrations;

static const tsr_method_t s_methods [] = {
    { NULL, NULL, 0, 0 }   //  business methods arrive with the service's issue
};

static const tsr_service_definition_t s_definition = {
    .name = "mail",
    .port_offset = 5,
    .migrations = &tsr_mail_migrations,
    .methods = s_methods,
    .method_count = 0,
};

int
main (int argc, char **argv)
{
    return tsr_service_main (&s_definition, argc, argv);
}
