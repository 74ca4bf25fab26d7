/*  IssueFromCsr: a level * software certificate for the holder's own CSR
    (browser, OpenSSL), for a validated request that asks for software
    certificates. The CSR's signature is checked here before ca checks it
    again; its subject is ignored (ca builds it from the request).
*/
#include "perso_handlers.h"
#include "perso_input.h"
#include "perso_software.h"
#include "perso_state.h"

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_CSR_MAX 16384

static bool
s_use_valid (int use)
{
    return use == TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_AUTHENTICATION
        || use == TESSERA__V1__CERTIFICATE_USE__CERTIFICATE_USE_SIGNATURE;
}

//  A DER PKCS#10 whose signature verifies with its own key.
static bool
s_csr_valid (const uint8_t *der, size_t size)
{
    const unsigned char *cursor = der;
    X509_REQ *request = d2i_X509_REQ (NULL, &cursor, (long) size);
    EVP_PKEY *key = request && cursor == der + size ? X509_REQ_get0_pubkey (request) : NULL;
    bool ok = key && X509_REQ_verify (request, key) == 1;
    X509_REQ_free (request);
    return ok;
}

//  Every bound of the request that needs no database: the CSR parses and
//  its signature verifies.
tsr_status_t
perso_issue_from_csr_check (tsr_call_t *call, const Tessera__V1__IssueFromCsrRequest *in)
{
    if (!perso_id_valid (in->card_request_id))
        return tsr_call_fail (call, S_INVALID, "card_request_id must be 1 to 64 of [A-Za-z0-9._:-]");
    if (!perso_optional_id_valid (in->account_id))
        return tsr_call_fail (call, S_INVALID, "account_id must be empty or 1 to 64 of [A-Za-z0-9._:-]");
    if (!s_use_valid ((int) in->use))
        return tsr_call_fail (call, S_INVALID, "use must be AUTHENTICATION or SIGNATURE");
    if (in->csr_der.len == 0 || in->csr_der.len > S_CSR_MAX)
        return tsr_call_fail (call, S_INVALID, "csr_der must be 1 to %d bytes", S_CSR_MAX);
    if (!s_csr_valid (in->csr_der.data, in->csr_der.len))
        return tsr_call_fail (call, S_INVALID, "csr_der is not a DER PKCS#10 request whose "
                              "signature verifies");
    return S_OK;
}

tsr_status_t
perso_handle_issue_from_csr (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__IssueFromCsrRequest *in = (Tessera__V1__IssueFromCsrRequest *) tsr_call_unpack (
        call, &tessera__v1__issue_from_csr_request__descriptor, &status);
    if (!in)
        return status;
    status = S_OK;
    perso_software_t software;
    memset (&software, 0, sizeof software);
    Tessera__V1__CertificateRecord *record = NULL;
    if ((status = perso_issue_from_csr_check (call, in)) != S_OK
    ||  (status = perso_software_load (call, in->card_request_id, in->account_id, &software)) != S_OK)
        goto done;
    if (!perso_software_use_allowed (&software, (int) in->use)) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION,
                                "card request %s does not ask for this use", in->card_request_id);
        goto done;
    }
    status = perso_software_issue (call, &software, in->csr_der.data, in->csr_der.len,
                                   (int) in->use, false, &record);
    if (status == S_OK) {
        Tessera__V1__IssueFromCsrReply reply = TESSERA__V1__ISSUE_FROM_CSR_REPLY__INIT;
        reply.certificate = record;
        status = tsr_call_reply (call, &reply.base, "certificate issued");
    }
done:
    if (record)
        tessera__v1__certificate_record__free_unpacked (record, NULL);
    perso_software_release (&software);
    tessera__v1__issue_from_csr_request__free_unpacked (in, NULL);
    return status;
}
