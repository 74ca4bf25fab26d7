/*  revocation_policy: questions, deadlines, reasons, requesters (see
    revocation_policy.h).
*/
#include "revocation_policy.h"

#include <sodium.h>
#include <string.h>

size_t
revocation_questions_for_level (int level)
{
    return level == 1 ? 2 : level == 2 ? 4 : level == 3 ? 5 : 0;
}

long
revocation_deadline_s (int level, long override_s)
{
    if (level < 1 || level > 3)
        return 0;
    if (override_s > 0)
        return override_s;
    return level == 1 ? 72L * 3600 : 24L * 3600;
}

const char *
revocation_reason_refusal (Tessera__V1__RevocationReason reason, int channel)
{
    switch (reason) {
        case TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_NOT_SET:
            return "is required (an RFC 5280 reason)";
        case TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_UNSPECIFIED:
        case TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_KEY_COMPROMISE:
        case TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_AFFILIATION_CHANGED:
        case TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_SUPERSEDED:
        case TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_CESSATION_OF_OPERATION:
        case TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_PRIVILEGE_WITHDRAWN:
            return NULL;
        case TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_CERTIFICATE_HOLD:
            //  A suspension is the operator's call, never the portal's.
            return channel == REVOCATION_CHANNEL_ONLINE
                ? "certificateHold is not offered online: ask by phone or paper form" : NULL;
        case TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_REMOVE_FROM_CRL:
            return "removeFromCRL releases a hold: it is not a revocation";
        case TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_CA_COMPROMISE:
        case TESSERA__V1__REVOCATION_REASON__REVOCATION_REASON_AA_COMPROMISE:
            return "cACompromise and aACompromise are the CA's own reasons, not a holder's";
        default:
            return "must be an RFC 5280 reason (RevocationReason 1 to 11, not 8)";
    }
}

int
revocation_requester_role (const revocation_party_t *requester, const revocation_party_t *holder,
                           const char **why)
{
    *why = NULL;
    if (strcmp (requester->person_id, holder->person_id) == 0)
        return REVOCATION_ROLE_HOLDER;
    if (requester->role != REVOCATION_ROLE_RL && requester->role != REVOCATION_ROLE_MC) {
        *why = "a holder may ask only for the revocation of their own certificates";
        return 0;
    }
    if (!*requester->organisation_id
    ||  strcmp (requester->organisation_id, holder->organisation_id) != 0) {
        *why = "an RL or MC may ask only for the revocation of their own organisation's holders";
        return 0;
    }
    return requester->role;
}

int
revocation_pick (const uint32_t *ids, size_t count, size_t wanted, uint32_t *picked)
{
    if (count < wanted || count > 64)
        return -1;
    uint32_t pool [64];
    memcpy (pool, ids, count * sizeof *ids);
    //  The first steps of a Fisher-Yates shuffle: each step draws uniformly
    //  (randombytes_uniform rejects the biased range) among those left.
    for (size_t i = 0; i < wanted; i++) {
        size_t j = i + (size_t) randombytes_uniform ((uint32_t) (count - i));
        uint32_t kept = pool [j];
        pool [j] = pool [i];
        pool [i] = kept;
        picked [i] = kept;
    }
    return 0;
}

const char *
revocation_level_stars (int level)
{
    return level == 1 ? "*" : level == 2 ? "**" : level == 3 ? "***" : "?";
}
