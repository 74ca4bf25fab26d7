/*  tessera-ca: the only holder of CA keys. Key ceremony, k-of-n activation
    by custodians, RGS certificate profiles, issuance, revocation status
    and CRL signing.

    Owns the schema "ca". Ping and ListEvents are served by libtessera for
    every service. Configuration: docs/configuration.md (TSR_CA_*);
    decisions: docs/ca.md.
*/
#include "ca_handlers.h"
#include "ca_state.h"
#include "tessera/roles.h"
#include "tessera/service.h"

extern const tsr_migration_set_t tsr_ca_migrations;

//  Who may call what (tessera/roles.h). Status and certificates are public
//  facts; signing and key management are not.
#define S_CUSTODIAN TSR_ROLE_CUSTODIAN
#define S_OFFICER TSR_ROLE_SECURITY_OFFICER
#define S_SERVICE TSR_ROLE_SERVICE
#define S_WATCHERS (TSR_ROLE_CUSTODIAN | TSR_ROLE_SECURITY_OFFICER | TSR_ROLE_CONTROLLER \
                    | TSR_ROLE_SYSTEM_ENGINEER | TSR_ROLE_SERVICE)

static const tsr_method_t s_methods [] = {
    { "Ceremony", ca_handle_ceremony, TSR_METHOD_SECRET_REPLY, S_OFFICER },
    { "Activate", ca_handle_activate, 0, S_CUSTODIAN },
    { "Deactivate", ca_handle_deactivate, 0, S_CUSTODIAN | S_OFFICER },
    { "GetActivationStatus", ca_handle_activation_status, TSR_METHOD_READ_ONLY, S_WATCHERS },
    //  Holders' certificates come through perso, services' own through the
    //  security officer; revocations through the revocation service.
    { "IssueCertificate", ca_handle_issue, TSR_METHOD_BATCHED, S_SERVICE | S_OFFICER },
    { "RevokeCertificate", ca_handle_revoke, 0, S_SERVICE | S_OFFICER },
    { "GetStatus", ca_handle_get_status, TSR_METHOD_READ_ONLY, TSR_ROLES_ANY },
    { "GetCertificate", ca_handle_get_certificate, TSR_METHOD_READ_ONLY, TSR_ROLES_ANY },
    { "GetCaCertificates", ca_handle_ca_certificates, TSR_METHOD_READ_ONLY, TSR_ROLES_ANY },
    { "SignCrl", ca_handle_sign_crl, 0, S_SERVICE | S_OFFICER },
    { "ListRevoked", ca_handle_list_revoked, TSR_METHOD_READ_ONLY, TSR_ROLES_ANY },
};

//  A full CRL of a million entries is 49 MB: kept once, in its crls row.
static const tsr_replay_t s_replays [] = {
    { "SignCrl", ca_replay_sign_crl },
};

static const tsr_service_definition_t s_definition = {
    .name = "ca",
    .port_offset = 3,
    .migrations = &tsr_ca_migrations,
    .methods = s_methods,
    .method_count = sizeof s_methods / sizeof s_methods [0],
    .replays = s_replays,
    .replay_count = sizeof s_replays / sizeof s_replays [0],
    .state_new = ca_state_new,
    .state_destroy = ca_state_destroy,
    .on_start = ca_state_on_start,
};

int
main (int argc, char **argv)
{
    return tsr_service_main (&s_definition, argc, argv);
}
