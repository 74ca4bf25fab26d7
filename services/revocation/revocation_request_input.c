/*  revocation_request_input: the channels' shared fields (see
    revocation_request_input.h).
*/
#include "revocation_request_input.h"
#include "revocation_policy.h"

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT

static const char *s_roles [] = { "unspecified", "RL", "MC", "the holder" };

tsr_status_t
revocation_common_check (tsr_call_t *call, const revocation_common_t *common, int channel,
                         char serials [][REVOCATION_SERIAL_HEX_MAX + 1],
                         char card_uuid [REVOCATION_UUID_MAX + 1])
{
    card_uuid [0] = 0;
    bool by_card = common->card_uuid && *common->card_uuid;
    if (by_card && common->serial_count)
        return tsr_call_fail (call, S_INVALID, "card_uuid and serials: name a card or "
                              "certificates, not both");
    if (by_card && !revocation_uuid_normalise (common->card_uuid, card_uuid))
        return tsr_call_fail (call, S_INVALID, "card_uuid must be a card's UUID "
                              "(8-4-4-4-12 hex digits)");
    long bad = by_card ? -1 : revocation_serials_normalise (common->serials, common->serial_count,
                                                            serials);
    if (bad >= 0 && (size_t) bad == common->serial_count)
        return tsr_call_fail (call, S_INVALID, "serials: give 1 to %d certificates' serials, "
                              "or a card_uuid", REVOCATION_SERIALS_MAX);
    if (bad >= 0)
        return tsr_call_fail (call, S_INVALID, "serials[%ld] must be 2 to 40 hex digits (an even "
                              "count), not repeated", bad);
    const char *refusal = revocation_reason_refusal (common->reason, channel);
    if (refusal)
        return tsr_call_fail (call, S_INVALID, "reason %s", refusal);
    if (!revocation_text_valid (common->statement, 0, REVOCATION_STATEMENT_MAX))
        return tsr_call_fail (call, S_INVALID, "statement must be at most %d printable "
                              "characters", REVOCATION_STATEMENT_MAX);
    if (common->requester_role < 0 || common->requester_role > 3)
        return tsr_call_fail (call, S_INVALID, "requester_role must be a PersonRole (0 to 3)");
    return S_OK;
}

tsr_status_t
revocation_claimed_role_check (tsr_call_t *call, Tessera__V1__PersonRole claimed, int role)
{
    if (claimed == TESSERA__V1__PERSON_ROLE__PERSON_ROLE_UNSPECIFIED || (int) claimed == role)
        return S_OK;
    return tsr_call_fail (call, S_INVALID, "requester_role: the requester asks as %s, not as %s "
                          "(leave it unset to take enrollment's)", s_roles [role],
                          s_roles [claimed]);
}
