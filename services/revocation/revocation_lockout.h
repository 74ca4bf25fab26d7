/*  revocation_lockout: the phone channel's lock, per person (the caller,
    whose secret questions are asked).

    Computed from phone_attempts, which is only ever added to: the failures
    that count are those after the person's last passed attempt, after the
    end of their last lock, and within TSR_PHONE_WINDOW_S. The failure that
    brings the count to TSR_PHONE_MAX_FAILURES (3) is marked locked, and the
    lock lasts TSR_PHONE_LOCK_S (1 hour) from it, as configured now: until
    then StartPhoneChallenge and AnswerPhoneChallenge are refused for that
    person; afterwards the count starts from zero. Attempts of one person
    are serialised by an advisory lock on the person, so two operators
    answering at once count two failures, not one.
*/
#ifndef REVOCATION_LOCKOUT_H
#define REVOCATION_LOCKOUT_H

#include <stdbool.h>
#include <stdint.h>
#include "revocation_state.h"
#include "tessera/bus.h"

typedef struct {
    uint32_t failed_attempts;
    bool locked;
    int64_t locked_until_unix;      //  0 when not locked
} revocation_phone_status_t;

//  The person's status as of now (db's transaction). 0, or -1.
int revocation_phone_status (revocation_state_t *state, tsr_db_t *db, const char *person_id,
                             revocation_phone_status_t *out);

//  Takes the person's advisory lock until db's transaction ends. 0, or -1.
int revocation_phone_serialise (tsr_db_t *db, const char *person_id);

//  One answered challenge (after revocation_phone_serialise): the attempt
//  row, locking the channel when this failure reaches the maximum. *after
//  is the status including this attempt, *locked_now true when it locked.
//  0, or -1.
typedef struct {
    const char *challenge_id;
    const char *person_id;
    const char *holder_person_id;
    const char *operator_id;
    const char *operator_key;
    uint32_t questions_asked;
    bool passed;
} revocation_attempt_t;

int revocation_phone_attempt (revocation_state_t *state, tsr_db_t *db,
                              const revocation_attempt_t *attempt,
                              revocation_phone_status_t *after, bool *locked_now);

//  GetPhoneChannelStatus (handler).
tsr_status_t revocation_handle_phone_status (tsr_call_t *call);

#endif
