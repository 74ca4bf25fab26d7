/*  The registry's methods and who may call each (enrollment.proto's
    "Roles:" and "Services:"; tessera/roles.h). Services are admitted as a
    whole (TSR_ROLE_SERVICE): the bus knows a service's key, not which
    service it is. Reads store no reply (TSR_METHOD_READ_ONLY); writes are
    idempotent by request id.
*/
#include "enrollment.h"
#include "enrollment_registry.h"
#include "tessera/roles.h"

#define S_READ TSR_METHOD_READ_ONLY
#define S_ENTRY TSR_ROLE_ENTRY
#define S_SERVICE TSR_ROLE_SERVICE
#define S_AGENT TSR_ROLE_AGENT
#define S_DESK TSR_ROLE_SERVICE_DESK
#define S_VALIDATION TSR_ROLE_VALIDATION
#define S_PERSO TSR_ROLE_PERSO
#define S_SHIPPING TSR_ROLE_SHIPPING
#define S_REVOCATION TSR_ROLE_REVOCATION
#define S_CONTROLLER TSR_ROLE_CONTROLLER
#define S_OFFICER TSR_ROLE_SECURITY_OFFICER

const tsr_method_t enrollment_registry_methods [] = {
    { "RegisterOrganisation", enrollment_register_organisation, 0, S_ENTRY },
    { "UpdateOrganisation", enrollment_update_organisation, 0, S_ENTRY },
    { "GetOrganisation", enrollment_get_organisation, S_READ,
      S_AGENT | S_DESK | S_ENTRY | S_VALIDATION | S_SHIPPING | S_REVOCATION | S_CONTROLLER | S_SERVICE },
    { "ListOrganisations", enrollment_list_organisations, S_READ,
      S_AGENT | S_DESK | S_ENTRY | S_VALIDATION | S_CONTROLLER },

    { "RegisterPerson", enrollment_register_person, 0, S_ENTRY },
    { "UpdatePerson", enrollment_update_person, 0, S_ENTRY | S_DESK },
    { "GetPerson", enrollment_get_person, S_READ,
      S_AGENT | S_DESK | S_ENTRY | S_VALIDATION | S_PERSO | S_SHIPPING | S_REVOCATION | S_CONTROLLER
      | S_SERVICE },
    { "ListPersons", enrollment_list_persons, S_READ,
      S_AGENT | S_DESK | S_ENTRY | S_VALIDATION | S_SHIPPING | S_REVOCATION | S_CONTROLLER | S_SERVICE },

    { "OpenDossier", enrollment_open_dossier, 0, S_ENTRY },
    { "GetDossier", enrollment_get_dossier, S_READ,
      S_AGENT | S_ENTRY | S_VALIDATION | S_CONTROLLER | S_SERVICE },
    { "ListDossiers", enrollment_list_dossiers, S_READ, S_AGENT | S_ENTRY | S_VALIDATION | S_CONTROLLER },
    { "RecordDocument", enrollment_record_document, 0, S_ENTRY },
    { "WithdrawDocument", enrollment_withdraw_document, 0, S_ENTRY },
    { "CheckDossier", enrollment_check_dossier, S_READ, S_AGENT | S_ENTRY | S_VALIDATION | S_SERVICE },

    { "CreateBatch", enrollment_create_batch, 0, S_ENTRY },
    { "GetBatch", enrollment_get_batch, S_READ, S_ENTRY | S_VALIDATION | S_CONTROLLER | S_SERVICE },
    { "ListBatches", enrollment_list_batches, S_READ, S_ENTRY | S_VALIDATION | S_CONTROLLER | S_SERVICE },
    { "CreateCardRequest", enrollment_create_card_request, 0, S_ENTRY },
    { "CancelCardRequest", enrollment_cancel_card_request, 0, S_ENTRY },
    { "GetCardRequest", enrollment_get_card_request, S_READ,
      S_DESK | S_ENTRY | S_VALIDATION | S_PERSO | S_SHIPPING | S_REVOCATION | S_CONTROLLER | S_SERVICE },
    { "ListCardRequests", enrollment_list_card_requests, S_READ,
      S_DESK | S_ENTRY | S_VALIDATION | S_PERSO | S_SHIPPING | S_CONTROLLER | S_SERVICE },
    { "CheckBatch", enrollment_check_batch, S_READ, S_ENTRY },
    { "SubmitBatch", enrollment_submit_batch, 0, S_ENTRY },

    { "ExportDossierArchive", enrollment_export_dossier_archive, S_READ, S_CONTROLLER | S_OFFICER },
};

const size_t enrollment_registry_method_count =
    sizeof enrollment_registry_methods / sizeof enrollment_registry_methods [0];
