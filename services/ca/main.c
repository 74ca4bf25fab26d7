/*  tessera-ca: the only holder of CA keys. Key ceremony, k-of-n activation
    by custodians, RGS certificate profiles, issuance, revocation status
    and CRL signing.

    Owns the schema "ca". Ping and ListEvents are served by libtessera for
    every service. Configuration: docs/configuration.md (TSR_CA_*);
    decisions: docs/ca.md.
*/
#include "ca_handlers.h"
#include "ca_state.h"
#include "tessera/service.h"

extern const tsr_migration_set_t tsr_ca_migrations;

static const tsr_method_t s_methods [] = {
    { "Ceremony", ca_handle_ceremony, TSR_METHOD_SECRET_REPLY },
    { "Activate", ca_handle_activate, 0 },
    { "Deactivate", ca_handle_deactivate, 0 },
    { "GetActivationStatus", ca_handle_activation_status, TSR_METHOD_READ_ONLY },
    { "IssueCertificate", ca_handle_issue, 0 },
    { "RevokeCertificate", ca_handle_revoke, 0 },
    { "GetStatus", ca_handle_get_status, TSR_METHOD_READ_ONLY },
    { "GetCertificate", ca_handle_get_certificate, TSR_METHOD_READ_ONLY },
    { "GetCaCertificates", ca_handle_ca_certificates, TSR_METHOD_READ_ONLY },
    { "SignCrl", ca_handle_sign_crl, 0 },
    { "ListRevoked", ca_handle_list_revoked, TSR_METHOD_READ_ONLY },
};

static const tsr_service_definition_t s_definition = {
    .name = "ca",
    .port_offset = 3,
    .migrations = &tsr_ca_migrations,
    .methods = s_methods,
    .method_count = sizeof s_methods / sizeof s_methods [0],
    .state_new = ca_state_new,
    .state_destroy = ca_state_destroy,
};

int
main (int argc, char **argv)
{
    return tsr_service_main (&s_definition, argc, argv);
}
