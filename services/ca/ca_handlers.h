/*  The ca service's bus methods (table in main.c). Each runs inside the
    request's transaction (see tsr_call_t); call->state is the ca_state_t.
*/
#ifndef CA_HANDLERS_H
#define CA_HANDLERS_H

#include "ca_profile.h"
#include "tessera/bus.h"
#include "tessera/v1/ca.pb-c.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

tsr_status_t ca_handle_ceremony (tsr_call_t *call);
tsr_status_t ca_handle_activate (tsr_call_t *call);
tsr_status_t ca_handle_deactivate (tsr_call_t *call);
tsr_status_t ca_handle_activation_status (tsr_call_t *call);
tsr_status_t ca_handle_issue (tsr_call_t *call);
tsr_status_t ca_handle_revoke (tsr_call_t *call);
tsr_status_t ca_handle_get_status (tsr_call_t *call);
tsr_status_t ca_handle_get_certificate (tsr_call_t *call);
tsr_status_t ca_handle_ca_certificates (tsr_call_t *call);
tsr_status_t ca_handle_sign_crl (tsr_call_t *call);
//  A retried SignCrl: its reply again, the DER read from the crls row.
tsr_status_t ca_replay_sign_crl (tsr_call_t *call, const uint8_t *kept, size_t kept_size);
tsr_status_t ca_handle_list_revoked (tsr_call_t *call);

//  IssueCertificate's pure first step: everything about the request that
//  needs neither the key nor the database (ids, the profile, the CSR and
//  its signature, the validity, the subject). STATUS_OK with *profile, *key
//  (the CSR's, X509_PUBKEY_free it), spki_sha256 and *subject (X509_NAME_free
//  it), or the refusal with the call's message set (*key and *subject may
//  be set then too). The handler calls it first; so does
//  tests/fuzz/fuzz_payload_ca.c.
tsr_status_t ca_issue_check (tsr_call_t *call, const Tessera__V1__IssueCertificateRequest *request,
                             const ca_profile_t **profile, X509_PUBKEY **key, char spki_sha256 [65],
                             X509_NAME **subject);

#endif
