/*  Fuzz target: the publisher's request payloads (fuzz_payload.h). ListCrls
    goes through the handler's pure first step; a page token it accepts
    must be one the service could have given: "<generated_at_ms>.<number>",
    both positive decimals, written back the same.
*/
#include "fuzz_payload.h"
#include "publisher_handlers.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static tsr_status_t
s_list_crls (tsr_call_t *call, const ProtobufCMessage *message)
{
    const Tessera__V1__ListCrlsRequest *request = (const Tessera__V1__ListCrlsRequest *) message;
    long long generated = -1;
    unsigned long long number = 0;
    tsr_status_t status = publisher_list_crls_check (call, request, &generated, &number);
    if (status == TESSERA__V1__STATUS__STATUS_OK && *request->page_token) {
        char again [48];
        snprintf (again, sizeof again, "%lld.%llu", generated, number);
        if (generated <= 0 || number == 0 || strcmp (again, request->page_token) != 0)
            __builtin_trap ();
    }
    return status;
}

static const fuzz_payload_check_t s_checks [] = {
    { "ListCrls", &tessera__v1__list_crls_request__descriptor, s_list_crls },
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_payload_run (&tessera__v1__publisher__descriptor, s_checks,
                      sizeof s_checks / sizeof s_checks [0], data, size);
    return 0;
}
