/*  revocation_policy: the rules of issue 7 that do not need the database or
    another service, in one place.

    - how many secret questions a phone caller answers: 2 at level *, 4 at
      **, 5 at *** (picked at random, uniformly, from the caller's set);
    - the deadline of a request not made online: 72 h at level *, 24 h at
      ** and *** (TSR_REVOCATION_DEADLINE_S replaces both when set);
    - which RFC 5280 reasons a request may ask for on each channel;
    - who may ask for whose certificates: the holder for their own, the RL
      or an MC of the holder's organisation for its holders, nobody else.

    Pure functions; tests/unit/revocation/test_policy.c.
*/
#ifndef REVOCATION_POLICY_H
#define REVOCATION_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include "tessera/v1/revocation.pb-c.h"

#define REVOCATION_CHANNEL_ONLINE 1
#define REVOCATION_CHANNEL_PHONE 2
#define REVOCATION_CHANNEL_PAPER 3

#define REVOCATION_STATE_PENDING 1
#define REVOCATION_STATE_APPROVED 2
#define REVOCATION_STATE_APPLIED 3
#define REVOCATION_STATE_REJECTED 4

#define REVOCATION_ROLE_RL 1
#define REVOCATION_ROLE_MC 2
#define REVOCATION_ROLE_HOLDER 3

//  Questions asked at level (1..3); 0 for another level.
size_t revocation_questions_for_level (int level);

//  Seconds a request has to be decided at level (1..3); override_s > 0
//  replaces the level's. 0 for another level.
long revocation_deadline_s (int level, long override_s);

//  NULL when a request on channel may ask for reason, else why not (a
//  phrase that completes "reason ...").
const char *revocation_reason_refusal (Tessera__V1__RevocationReason reason, int channel);

//  One person as enrollment knows them.
typedef struct {
    const char *person_id;
    const char *organisation_id;
    int role;                       //  PersonRole: 1 RL, 2 MC, 3 holder
} revocation_party_t;

//  The role the requester asks as (3 "the holder" for their own
//  certificates, else their RL or MC role), or 0 with why set when they
//  may not ask for the holder's certificates.
int revocation_requester_role (const revocation_party_t *requester,
                               const revocation_party_t *holder, const char **why);

//  Picks wanted distinct ids out of ids [0..count) uniformly at random
//  (CSPRNG), in random order, into picked. 0, or -1 when count < wanted.
int revocation_pick (const uint32_t *ids, size_t count, size_t wanted, uint32_t *picked);

//  "*", "**", "***" (or "?").
const char *revocation_level_stars (int level);

#endif
