/*  revocation_store: records a new revocation request, whatever its
    channel, in the request's transaction: the request row (who asked, as
    what, whose certificates, the authentication of its channel, who
    recorded it, when it was received and its deadline), one row per
    certificate, the audit row "revocation.requested" and the event
    "revocation.requested". An online request is stored approved (the
    holder decided); the others pending, for the revocation operator.

    The deadline runs from received_at: now, or for a paper form the day the
    form was received (revocation_policy.h gives its length).
*/
#ifndef REVOCATION_STORE_H
#define REVOCATION_STORE_H

#include <stdint.h>
#include "revocation_input.h"
#include "tessera/bus.h"

typedef struct {
    int channel;                    //  REVOCATION_CHANNEL_*
    int requester_role;             //  PersonRole
    const char *requester_person_id;
    const char *holder_person_id;
    const char *organisation_id;
    int requested_reason;           //  RevocationReason
    int level;                      //  1..3: the certificates' highest
    const char *statement;
    const char *card_uuid;          //  "" when the serials were named
    char (*serials) [REVOCATION_SERIAL_HEX_MAX + 1];
    const int *levels;
    size_t serial_count;
    const char *recorded_by_operator_id;    //  "" online
    //  Phone.
    const char *challenge_id;
    uint32_t questions_asked;
    //  Paper form.
    const char *form_sha256;
    int64_t form_received_unix;
    const char *reference_document_id;
    //  Online.
    const char *account_id;
    const char *client_address;
    const char *user_agent;
} revocation_new_t;

//  A fresh request id: "rv-" and 32 hex digits from the CSPRNG.
void revocation_new_id (char revocation_id [REVOCATION_ID_MAX + 1]);

//  Stores the request under revocation_id (from revocation_new_id).
//  STATUS_OK, or the refusal (message set in call).
tsr_status_t revocation_store (tsr_call_t *call, const revocation_new_t *request,
                               const char *revocation_id);

#endif
