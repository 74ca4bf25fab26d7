/*  tessera-revocation: revocation requests by the portal (the holder, at
    once), by phone (secret questions, with a lockout) and by paper form
    (handwritten signature checked against the dossier), each recorded with
    who asked, how they were authenticated and by whom; the revocation
    operator's decision within the deadline; application in ca; the 5-year
    archive of the requests.

    Owns the schema "revocation". Ping and ListEvents are served by
    libtessera for every service. Configuration: docs/configuration.md;
    rules and decisions: docs/revocation.md.
*/
#include "revocation_handlers.h"
#include "revocation_state.h"
#include "tessera/roles.h"
#include "tessera/service.h"

extern const tsr_migration_set_t tsr_revocation_migrations;

//  Who may call what (tessera/roles.h), as revocation.proto says. The
//  portal's calls come with its service key (TSR_ROLE_SERVICE, which any
//  tessera service's own key holds).
#define S_REVOCATION TSR_ROLE_REVOCATION
#define S_DESK TSR_ROLE_SERVICE_DESK
#define S_CONTROLLER TSR_ROLE_CONTROLLER
#define S_OFFICER TSR_ROLE_SECURITY_OFFICER
#define S_SERVICE TSR_ROLE_SERVICE
#define S_READ TSR_METHOD_READ_ONLY

static const tsr_method_t s_methods [] = {
    { "RevokeOnline", revocation_handle_revoke_online, 0, S_SERVICE },
    { "StartPhoneChallenge", revocation_handle_start_phone, 0, S_REVOCATION },
    { "AnswerPhoneChallenge", revocation_handle_answer_phone, 0, S_REVOCATION },
    { "RecordPhoneRevocation", revocation_handle_record_phone, 0, S_REVOCATION },
    { "RecordPaperRevocation", revocation_handle_record_paper, 0, S_REVOCATION },
    { "DecideRevocation", revocation_handle_decide, 0, S_REVOCATION },
    { "SuspendCertificates", revocation_handle_suspend, 0, S_REVOCATION | S_DESK },
    { "ResumeCertificates", revocation_handle_resume, 0, S_REVOCATION | S_DESK },
    { "GetRevocation", revocation_handle_get, S_READ,
      S_REVOCATION | S_DESK | S_CONTROLLER | S_SERVICE },
    { "ListRevocations", revocation_handle_list, S_READ, S_REVOCATION | S_DESK | S_CONTROLLER },
    { "GetPhoneChannelStatus", revocation_handle_phone_status, S_READ, S_REVOCATION | S_DESK },
    { "ExportRevocationArchive", revocation_handle_export_archive, S_READ,
      S_CONTROLLER | S_OFFICER },
};

static const tsr_service_definition_t s_definition = {
    .name = "revocation",
    .port_offset = 6,
    .migrations = &tsr_revocation_migrations,
    .methods = s_methods,
    .method_count = sizeof s_methods / sizeof s_methods [0],
    .state_new = revocation_state_new,
    .state_destroy = revocation_state_destroy,
    .on_start = revocation_state_start,
    .on_stop = revocation_state_stop,
};

int
main (int argc, char **argv)
{
    return tsr_service_main (&s_definition, argc, argv);
}
