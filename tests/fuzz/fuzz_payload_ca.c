/*  Fuzz target: ca's request payloads (fuzz_payload.h). IssueCertificate
    goes through the handler's own pure first step (ca_issue_check: the
    profile, the CSR and its signature, the validity, the subject names);
    what it accepts has a key, its SPKI digest and a subject.
*/
#include "ca_handlers.h"
#include "fuzz_payload.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static tsr_status_t
s_issue (tsr_call_t *call, const ProtobufCMessage *request)
{
    const ca_profile_t *profile = NULL;
    X509_PUBKEY *key = NULL;
    X509_NAME *subject = NULL;
    char spki_sha256 [65] = "";
    tsr_status_t status = ca_issue_check (call, (const Tessera__V1__IssueCertificateRequest *) request,
                                          &profile, &key, spki_sha256, &subject);
    if (status == TESSERA__V1__STATUS__STATUS_OK
    &&  (!profile || !key || !subject || strlen (spki_sha256) != 64))
        __builtin_trap ();
    X509_NAME_free (subject);
    X509_PUBKEY_free (key);
    return status;
}

static const fuzz_payload_check_t s_checks [] = {
    { "IssueCertificate", &tessera__v1__issue_certificate_request__descriptor, s_issue },
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_payload_run (&tessera__v1__ca__descriptor, s_checks,
                      sizeof s_checks / sizeof s_checks [0], data, size);
    return 0;
}
