/*  revocation_refusal: refusals that leave a trace.

    A handler that answers anything but STATUS_OK has its transaction rolled
    back, audit rows included. Some refusals must be kept all the same,
    because they are what an attacker's tries look like: a call while the
    phone channel is locked, a requester asking for another organisation's
    holder (or a holder for someone else's certificates), certificates that
    are not the holder's, a paper form without the signature check. They are
    written here, in a transaction of their own on the state's own
    connection, before the handler answers. (Wrong phone answers are not
    refusals: AnswerPhoneChallenge records them in its own transaction and
    answers OK with passed = false.)

    Rule that keeps this free of deadlocks: call it only while the
    request's transaction has written nothing (no audit row, no event): it
    then holds nothing this one waits for.
*/
#ifndef REVOCATION_REFUSAL_H
#define REVOCATION_REFUSAL_H

#include "tessera/bus.h"
#include "tessera/json.h"

//  Records the audit row "revocation.refused" (subject, *json_p consumed,
//  with the method and why added), logs it, and returns
//  tsr_call_fail (call, status, "%s", message).
tsr_status_t revocation_refuse (tsr_call_t *call, tsr_status_t status, const char *why,
                                const char *subject, tsr_json_t **json_p, const char *message);

#endif
