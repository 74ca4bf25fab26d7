/*  revocation_request_input: the fields the three channels share — the
    certificates (serials, or a card), the reason, the statement, the role
    the requester claims — checked the same way for each. Bad input gets
    INVALID_ARGUMENT naming the field. A card (card_uuid) stands for its
    certificates, which each channel then reads from perso
    (revocation_card_certificates, revocation_checks.h).
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

//  Checks common for channel: exactly one of a card_uuid (normalised into
//  card_uuid) and 1..REVOCATION_SERIALS_MAX serials (normalised into
//  serials; card_uuid is then "").
tsr_status_t revocation_common_check (tsr_call_t *call, const revocation_common_t *common,
                                      int channel,
                                      char serials [][REVOCATION_SERIAL_HEX_MAX + 1],
                                      char card_uuid [REVOCATION_UUID_MAX + 1]);

//  The role the requester claimed, when they claimed one, must be the one
//  they ask as (revocation_checks.h).
tsr_status_t revocation_claimed_role_check (tsr_call_t *call, Tessera__V1__PersonRole claimed,
                                            int role);

#endif
