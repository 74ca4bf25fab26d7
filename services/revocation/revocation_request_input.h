/*  revocation_request_input: the fields the three channels share — the
    certificates (serials, or a card), the reason, the statement, the role
    the requester claims — checked the same way for each. Bad input gets
    INVALID_ARGUMENT naming the field; a card_uuid is refused
    (FAILED_PRECONDITION) until perso lists a card's certificates.
*/
#ifndef REVOCATION_REQUEST_INPUT_H
#define REVOCATION_REQUEST_INPUT_H

#include "revocation_input.h"
#include "tessera/bus.h"
#include "tessera/v1/revocation.pb-c.h"

typedef struct {
    const char *card_uuid;
    char *const *serials;
    size_t serial_count;
    Tessera__V1__RevocationReason reason;
    const char *statement;
    Tessera__V1__PersonRole requester_role;     //  claimed; UNSPECIFIED: none
} revocation_common_t;

//  Checks common for channel; serials normalised into serials.
tsr_status_t revocation_common_check (tsr_call_t *call, const revocation_common_t *common,
                                      int channel,
                                      char serials [][REVOCATION_SERIAL_HEX_MAX + 1]);

//  The role the requester claimed, when they claimed one, must be the one
//  they ask as (revocation_checks.h).
tsr_status_t revocation_claimed_role_check (tsr_call_t *call, Tessera__V1__PersonRole claimed,
                                            int role);

#endif
