/*  RecordPhoneRevocation: the request of a phone caller who passed their
    challenge, recorded by the revocation operator for the operator's
    decision.

    The challenge must be passed, unused, and passed less than
    TSR_PHONE_CHALLENGE_S ago; it is used once. The caller and the holder
    are those of the challenge, checked again with enrollment (a role or an
    organisation may have changed since). The certificates must be the
    holder's, and none may be of a higher level than the challenge's: more
    questions would have been due (start a new challenge naming them).
*/
#include "revocation_checks.h"
#include "revocation_handlers.h"
#include "revocation_policy.h"
#include "revocation_records.h"
#include "revocation_request_input.h"
#include "revocation_state.h"
#include "revocation_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

//  The passed challenge (row locked).
typedef struct {
    PGresult *res;
    const char *caller_person_id;
    const char *holder_person_id;
    int level;
    uint32_t questions_asked;
} s_passed_t;

static tsr_status_t
s_load_passed (tsr_call_t *call, const char *challenge_id, s_passed_t *passed)
{
    revocation_state_t *state = call->state;
    char life [24];
    snprintf (life, sizeof life, "%ld", state->challenge_s);
    const char *values [] = { challenge_id, life };
    passed->res = tsr_db_query (call->db,
        "SELECT caller_person_id, holder_person_id, level, cardinality(question_ids), state,"
        " coalesce(answered_at + $2::bigint * interval '1 second' <= now(), false),"
        " coalesce((SELECT revocation_id FROM revocations r"
        "           WHERE r.challenge_id = c.challenge_id), '')"
        " FROM phone_challenges c WHERE challenge_id = $1 FOR UPDATE", 2, values);
    PGresult *res = passed->res;
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the phone challenges");
    if (PQntuples (res) != 1)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                              "challenge_id: no phone challenge %s", challenge_id);
    long challenge_state = strtol (PQgetvalue (res, 0, 4), NULL, 10);
    if (challenge_state == 4)
        return tsr_call_fail (call, S_PRECONDITION, "phone challenge %s was used already "
                              "(revocation request %s)", challenge_id, PQgetvalue (res, 0, 6));
    if (challenge_state != 2)
        return tsr_call_fail (call, S_PRECONDITION, "phone challenge %s was not passed: %s",
                              challenge_id, challenge_state == 1 ? "answer it first"
                                                                 : "its answers did not match");
    if (PQgetvalue (res, 0, 5) [0] == 't')
        return tsr_call_fail (call, S_PRECONDITION, "phone challenge %s was passed more than %ld "
                              "s ago: start a new one", challenge_id, state->challenge_s);
    passed->caller_person_id = PQgetvalue (res, 0, 0);
    passed->holder_person_id = PQgetvalue (res, 0, 1);
    passed->level = (int) strtol (PQgetvalue (res, 0, 2), NULL, 10);
    passed->questions_asked = (uint32_t) strtoul (PQgetvalue (res, 0, 3), NULL, 10);
    return S_OK;
}

//  Every bound of the request that needs no other service.
tsr_status_t
revocation_record_phone_check (tsr_call_t *call,
                               const Tessera__V1__RecordPhoneRevocationRequest *request,
                               char serials [][REVOCATION_SERIAL_HEX_MAX + 1],
                               char card_uuid [REVOCATION_UUID_MAX + 1])
{
    revocation_common_t common = {
        .card_uuid = request->card_uuid, .serials = request->serials,
        .serial_count = request->n_serials, .reason = request->reason,
        .statement = request->statement, .requester_role = request->requester_role };
    if (!revocation_id_valid (request->challenge_id))
        return tsr_call_fail (call, S_INVALID, "challenge_id must be 1 to %d of "
                              "[A-Za-z0-9._:-]", REVOCATION_ID_MAX);
    return revocation_common_check (call, &common, REVOCATION_CHANNEL_PHONE, serials, card_uuid);
}

tsr_status_t
revocation_handle_record_phone (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__RecordPhoneRevocationRequest *request =
        (Tessera__V1__RecordPhoneRevocationRequest *) tsr_call_unpack (
            call, &tessera__v1__record_phone_revocation_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    char serials [REVOCATION_SERIALS_MAX][REVOCATION_SERIAL_HEX_MAX + 1];
    char card_uuid [REVOCATION_UUID_MAX + 1];
    size_t count = request->n_serials;
    int levels [REVOCATION_SERIALS_MAX];
    char operator_id [REVOCATION_ID_MAX + 1], revocation_id [REVOCATION_ID_MAX + 1];
    s_passed_t passed;
    memset (&passed, 0, sizeof passed);
    revocation_parties_t parties;
    memset (&parties, 0, sizeof parties);
    int level = 0;
    tsr_status_t status;
    if ((status = revocation_record_phone_check (call, request, serials, card_uuid)) != S_OK
    ||  (status = revocation_caller_operator (call, operator_id)) != S_OK
    ||  (status = s_load_passed (call, request->challenge_id, &passed)) != S_OK
    ||  (status = revocation_parties_check (call, passed.caller_person_id, "caller_person_id",
                                            passed.holder_person_id, "holder_person_id",
                                            &parties)) != S_OK
    ||  (status = revocation_claimed_role_check (call, request->requester_role,
                                                 parties.requester_role)) != S_OK
    ||  (status = revocation_request_certificates (call, card_uuid, passed.holder_person_id,
                                                   serials, &count, levels, &level)) != S_OK)
        goto done;
    if (level > passed.level) {
        status = tsr_call_fail (call, S_PRECONDITION, "the certificates are of level %s, which "
                                "asks %zu questions; the challenge asked %u: start a new one "
                                "naming the serials", revocation_level_stars (level),
                                revocation_questions_for_level (level), passed.questions_asked);
        goto done;
    }
    if ((status = revocation_open_check (call, serials, count)) != S_OK)
        goto done;
    revocation_new_t record = {
        .channel = REVOCATION_CHANNEL_PHONE, .requester_role = parties.requester_role,
        .requester_person_id = parties.requester->person_id,
        .holder_person_id = parties.holder->person_id,
        .organisation_id = parties.holder->organisation_id,
        .requested_reason = (int) request->reason, .level = level,
        .statement = request->statement, .card_uuid = card_uuid, .serials = serials,
        .levels = levels, .serial_count = count, .recorded_by_operator_id = operator_id,
        .challenge_id = request->challenge_id, .questions_asked = passed.questions_asked };
    revocation_new_id (revocation_id);
    if ((status = revocation_store (call, &record, revocation_id)) != S_OK)
        goto done;
    const char *values [] = { request->challenge_id };
    PGresult *res = tsr_db_query (call->db, "UPDATE phone_challenges SET state = 4,"
                                  " used_at = now() WHERE challenge_id = $1", 1, values);
    PQclear (res);
    status = res ? revocation_reply_record (call, revocation_id, "recorded: awaiting the "
                                            "revocation operator's decision")
                 : tsr_call_fail (call, S_UNAVAILABLE, "cannot record the revocation request");
done:
    revocation_parties_release (&parties);
    PQclear (passed.res);
    tessera__v1__record_phone_revocation_request__free_unpacked (request, NULL);
    return status;
}
