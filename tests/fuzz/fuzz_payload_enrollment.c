/*  Fuzz target: enrollment's request payloads (fuzz_payload.h), each
    through the handler's own pure first step where it has one: the
    organisation (SIRET, address), the person (names, contact, address),
    the dossier's documents, the card request, the operator and its roles
    (at each of the three policy levels, picked by the payload's size).
*/
#include "enrollment_operators.h"
#include "enrollment_registry.h"
#include "fuzz_payload.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static tsr_status_t
s_organisation (tsr_call_t *call, const ProtobufCMessage *request)
{
    return enrollment_organisation_check (
        call, (const Tessera__V1__RegisterOrganisationRequest *) request);
}

static tsr_status_t
s_person (tsr_call_t *call, const ProtobufCMessage *request)
{
    return enrollment_person_check (call, (const Tessera__V1__RegisterPersonRequest *) request);
}

static tsr_status_t
s_document (tsr_call_t *call, const ProtobufCMessage *request)
{
    return enrollment_document_check (call, (const Tessera__V1__RecordDocumentRequest *) request,
                                      1800000000);
}

static tsr_status_t
s_card_request (tsr_call_t *call, const ProtobufCMessage *request)
{
    int level = 0;
    bool authentication = false, signature = false;
    tsr_status_t status = enrollment_card_request_check (
        call, (const Tessera__V1__CreateCardRequestRequest *) request, &level, &authentication,
        &signature);
    if (status == TESSERA__V1__STATUS__STATUS_OK
    &&  (level < 1 || level > 3 || !(authentication || signature)))
        __builtin_trap ();
    return status;
}

static tsr_status_t
s_operator (tsr_call_t *call, const ProtobufCMessage *request)
{
    uint32_t roles = 0;
    int level = 1 + (int) (call->request->payload.len % 3);
    return enrollment_operator_add_check (call, (const Tessera__V1__AddOperatorRequest *) request,
                                          level, &roles);
}

static const fuzz_payload_check_t s_checks [] = {
    { "RegisterOrganisation", &tessera__v1__register_organisation_request__descriptor,
      s_organisation },
    { "RegisterPerson", &tessera__v1__register_person_request__descriptor, s_person },
    { "RecordDocument", &tessera__v1__record_document_request__descriptor, s_document },
    { "CreateCardRequest", &tessera__v1__create_card_request_request__descriptor, s_card_request },
    { "AddOperator", &tessera__v1__add_operator_request__descriptor, s_operator },
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_payload_run (&tessera__v1__enrollment__descriptor, s_checks,
                      sizeof s_checks / sizeof s_checks [0], data, size);
    return 0;
}
