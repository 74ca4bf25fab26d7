/*  Fuzz target: perso's request payloads (fuzz_payload.h), each through
    the handler's own pure first step where it has one (IssueFromCsr's
    parses the CSR and verifies its signature; IssuePkcs12's bounds the
    password that will protect the holder's keys; RequestKeyRecovery's
    bounds the reason and reference kept in the audit trail).
*/
#include "fuzz_payload.h"
#include "perso_handlers.h"
#include "perso_recovery.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static tsr_status_t
s_start_job (tsr_call_t *call, const ProtobufCMessage *request)
{
    return perso_start_job_check (call, (const Tessera__V1__StartJobRequest *) request);
}

static tsr_status_t
s_change_card_state (tsr_call_t *call, const ProtobufCMessage *request)
{
    return perso_change_card_state_check (call, (const Tessera__V1__ChangeCardStateRequest *) request);
}

static tsr_status_t
s_activate_card (tsr_call_t *call, const ProtobufCMessage *request)
{
    return perso_activate_card_check (call, (const Tessera__V1__ActivateCardRequest *) request);
}

static tsr_status_t
s_issue_from_csr (tsr_call_t *call, const ProtobufCMessage *request)
{
    return perso_issue_from_csr_check (call, (const Tessera__V1__IssueFromCsrRequest *) request);
}

static tsr_status_t
s_issue_pkcs12 (tsr_call_t *call, const ProtobufCMessage *request)
{
    return perso_issue_pkcs12_check (call, (const Tessera__V1__IssuePkcs12Request *) request);
}

static tsr_status_t
s_request_key_recovery (tsr_call_t *call, const ProtobufCMessage *request)
{
    return perso_request_key_recovery_check (
        call, (const Tessera__V1__RequestKeyRecoveryRequest *) request);
}

static const fuzz_payload_check_t s_checks [] = {
    { "StartJob", &tessera__v1__start_job_request__descriptor, s_start_job },
    { "ChangeCardState", &tessera__v1__change_card_state_request__descriptor, s_change_card_state },
    { "ActivateCard", &tessera__v1__activate_card_request__descriptor, s_activate_card },
    { "IssueFromCsr", &tessera__v1__issue_from_csr_request__descriptor, s_issue_from_csr },
    { "IssuePkcs12", &tessera__v1__issue_pkcs12_request__descriptor, s_issue_pkcs12 },
    { "RequestKeyRecovery", &tessera__v1__request_key_recovery_request__descriptor,
      s_request_key_recovery },
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_payload_run (&tessera__v1__perso__descriptor, s_checks,
                      sizeof s_checks / sizeof s_checks [0], data, size);
    return 0;
}
