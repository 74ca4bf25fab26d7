/*  perso_software: what IssueFromCsr and IssuePkcs12 share: the level *
    software request checked for the caller, a certificate asked of ca
    (not on hold: the holder has the key already) and recorded.
*/
#ifndef PERSO_SOFTWARE_H
#define PERSO_SOFTWARE_H

#include "perso_caller.h"
#include "tessera/v1/ca.pb-c.h"

typedef struct {
    Tessera__V1__CardRequest *request;
    perso_subject_t subject;
} perso_software_t;

//  The validated level * software request, for account_id (required from
//  a service's key: the portal speaks for one holder). STATUS_OK, or the
//  refusal set. Release with perso_software_release.
tsr_status_t perso_software_load (tsr_call_t *call, const char *card_request_id,
                                  const char *account_id, perso_software_t *software);
void perso_software_release (perso_software_t *software);
//  Does the request ask for use?
bool perso_software_use_allowed (const perso_software_t *software, int use);

//  Asks ca for a certificate of csr_der for use, records it and its
//  event. STATUS_OK and *record_p (caller frees), or the refusal set.
tsr_status_t perso_software_issue (tsr_call_t *call, const perso_software_t *software,
                                   const uint8_t *csr_der, size_t csr_size, int use,
                                   bool key_made_by_perso,
                                   Tessera__V1__CertificateRecord **record_p);

#endif
