/*  StartPhoneChallenge and AnswerPhoneChallenge: how a phone caller is
    authenticated.

    Start: the revocation operator names the caller (and the holder, when
    the caller is the holder's RL or MC). The caller must be allowed to ask
    for the holder (revocation_checks.h) and their phone channel must not
    be locked. The level comes from the certificates when the operator
    names them, else from the deployment (TSR_POLICY_LEVEL); it sets how
    many of the caller's secret questions (validation's GetSecretQuestions)
    are picked at random: 2, 4 or 5. The challenge lives
    TSR_PHONE_CHALLENGE_S (15 minutes).

    Answer: one answer to each question asked, checked once, all or nothing,
    by validation's VerifyAnswers (the answers are only ever compared with
    Argon2id hashes there, and wiped here). A wrong set is an attempt like
    a right one: recorded, audited, answered STATUS_OK with passed = false;
    the third failure locks the channel (revocation_lockout.h) and emits
    "phone_channel.locked".
*/
#include "revocation_checks.h"
#include "revocation_handlers.h"
#include "revocation_lockout.h"
#include "revocation_policy.h"
#include "revocation_records.h"
#include "revocation_refusal.h"
#include "revocation_state.h"
#include "tessera/log.h"
#include "tessera/v1/validation.pb-c.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

//  "2024-05-01 12:00:00 UTC".
static void
s_time_text (int64_t unix_s, char out [32])
{
    time_t when = (time_t) unix_s;
    struct tm tm;
    if (!gmtime_r (&when, &tm) || !strftime (out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf (out, 32, "%lld", (long long) unix_s);
}

//  Refuses (and keeps on record) a call while person's channel is locked.
static tsr_status_t
s_refuse_locked (tsr_call_t *call, const char *person_id, const revocation_phone_status_t *phone)
{
    char until [32], message [TSR_CALL_MESSAGE_MAX];
    s_time_text (phone->locked_until_unix, until);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_int (json, "failed_attempts", phone->failed_attempts);
    tsr_json_int (json, "locked_until_unix", phone->locked_until_unix);
    snprintf (message, sizeof message, "the phone channel of person %s is locked until %s after "
              "%u failed attempts: ask by paper form", person_id, until, phone->failed_attempts);
    return revocation_refuse (call, S_PRECONDITION, "phone_channel_locked", person_id, &json,
                              message);
}

//  The caller's secret questions (validation).
static tsr_status_t
s_questions (tsr_call_t *call, const char *person_id, Tessera__V1__SecretQuestions **questions_p)
{
    revocation_state_t *state = call->state;
    Tessera__V1__GetSecretQuestionsRequest request =
        TESSERA__V1__GET_SECRET_QUESTIONS_REQUEST__INIT;
    request.person_id = (char *) person_id;
    char message [160] = "";
    tsr_status_t status = tsr_peer_call (
        state->validation, "GetSecretQuestions", &request.base,
        &tessera__v1__secret_questions__descriptor, NULL, call->request->trace_id,
        (ProtobufCMessage **) questions_p, message, sizeof message);
    if (status == S_NOT_FOUND)
        return tsr_call_fail (call, S_PRECONDITION, "caller_person_id: person %s has no holder "
                              "account, hence no secret questions: ask by paper form", person_id);
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the secret questions at "
                              "validation (%.120s); retry", message);
    return S_OK;
}

//  The challenge row.
static tsr_status_t
s_store_challenge (tsr_call_t *call, const char *challenge_id,
                   const revocation_parties_t *parties, int level, const char *account_id,
                   const uint32_t *picked, size_t count, const char *operator_id,
                   int64_t *expires_unix)
{
    revocation_state_t *state = call->state;
    char ids [REVOCATION_QUESTIONS_MAX * 4 + 3], role [12], level_text [12], life [24];
    size_t len = (size_t) snprintf (ids, sizeof ids, "{");
    for (size_t i = 0; i < count; i++)
        len += (size_t) snprintf (ids + len, sizeof ids - len, "%s%u", i ? "," : "", picked [i]);
    snprintf (ids + len, sizeof ids - len, "}");
    snprintf (role, sizeof role, "%d", parties->requester_role);
    snprintf (level_text, sizeof level_text, "%d", level);
    snprintf (life, sizeof life, "%ld", state->challenge_s);
    const char *values [] = { challenge_id, parties->requester->person_id,
                              parties->holder->person_id, parties->holder->organisation_id,
                              role, level_text, account_id, ids, operator_id, call->caller_key,
                              life };
    PGresult *res = tsr_db_query (call->db,
        "INSERT INTO phone_challenges (challenge_id, caller_person_id, holder_person_id,"
        " organisation_id, caller_role, level, account_id, question_ids, operator_id,"
        " operator_key, expires_at)"
        " VALUES ($1, $2, $3, $4, $5::smallint, $6::smallint, $7, $8::smallint[], $9, $10,"
        "         now() + $11::bigint * interval '1 second')"
        " RETURNING extract(epoch FROM expires_at)::bigint", 11, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot store the phone challenge");
    }
    *expires_unix = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    return S_OK;
}

//  Picks the questions, stores the challenge, audits, replies.
static tsr_status_t
s_challenge (tsr_call_t *call, const revocation_parties_t *parties, int level,
             const Tessera__V1__SecretQuestions *questions, const char *operator_id,
             uint32_t failed_attempts)
{
    size_t wanted = revocation_questions_for_level (level);
    size_t have = questions->n_questions;
    if (have < wanted || have > REVOCATION_QUESTIONS_MAX)
        return tsr_call_fail (call, S_PRECONDITION, "person %s has %zu secret questions; level "
                              "%s asks %zu: ask by paper form", parties->requester->person_id,
                              have, revocation_level_stars (level), wanted);
    uint32_t ids [REVOCATION_QUESTIONS_MAX], picked [REVOCATION_QUESTIONS_MAX];
    for (size_t i = 0; i < have; i++)
        ids [i] = questions->questions [i]->question_id;
    if (revocation_pick (ids, have, wanted, picked))
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "cannot pick questions");
    char random_id [TSR_ID_HEX_SIZE], challenge_id [REVOCATION_ID_MAX + 1];
    tsr_random_id (random_id);
    snprintf (challenge_id, sizeof challenge_id, "pc-%s", random_id);
    int64_t expires_unix = 0;
    tsr_status_t status = s_store_challenge (call, challenge_id, parties, level,
                                             questions->account_id, picked, wanted, operator_id,
                                             &expires_unix);
    if (status != S_OK)
        return status;
    Tessera__V1__SecretQuestion *asked [REVOCATION_QUESTIONS_MAX];
    char id_list [REVOCATION_QUESTIONS_MAX * 4 + 1] = "";
    size_t len = 0;
    for (size_t i = 0; i < wanted; i++) {
        for (size_t j = 0; j < have; j++)
            if (questions->questions [j]->question_id == picked [i])
                asked [i] = questions->questions [j];
        len += (size_t) snprintf (id_list + len, sizeof id_list - len, "%s%u", i ? "," : "",
                                  picked [i]);
    }
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "caller_person_id", parties->requester->person_id);
    tsr_json_str (json, "holder_person_id", parties->holder->person_id);
    tsr_json_int (json, "caller_role", parties->requester_role);
    tsr_json_int (json, "level", level);
    tsr_json_str (json, "question_ids", id_list);
    tsr_json_str (json, "operator_id", operator_id);
    tsr_json_int (json, "failed_attempts", failed_attempts);
    if (revocation_audit (call->db, call->caller_key, "revocation.phone_challenge_started",
                          challenge_id, call->request->trace_id, &json))
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the phone challenge");
    Tessera__V1__PhoneChallenge reply = TESSERA__V1__PHONE_CHALLENGE__INIT;
    reply.challenge_id = challenge_id;
    reply.caller_person_id = parties->requester->person_id;
    reply.holder_person_id = parties->holder->person_id;
    reply.level = (Tessera__V1__PolicyLevel) level;
    reply.n_questions = wanted;
    reply.questions = asked;
    reply.expires_at_unix = expires_unix;
    reply.failed_attempts = failed_attempts;
    return tsr_call_reply (call, &reply.base, "ask these questions");
}

//  Every bound of the request that needs no other service.
tsr_status_t
revocation_start_phone_check (tsr_call_t *call,
                              const Tessera__V1__StartPhoneChallengeRequest *request,
                              char serials [][REVOCATION_SERIAL_HEX_MAX + 1])
{
    long bad = -1;
    if (!revocation_id_valid (request->caller_person_id)
    ||  !revocation_optional_id_valid (request->holder_person_id))
        return tsr_call_fail (call, S_INVALID, "caller_person_id (and holder_person_id when "
                              "given) must be 1 to %d of [A-Za-z0-9._:-]", REVOCATION_ID_MAX);
    if (request->n_serials
    &&  (bad = revocation_serials_normalise (request->serials, request->n_serials, serials)) >= 0)
        return (size_t) bad == request->n_serials
            ? tsr_call_fail (call, S_INVALID, "serials: give at most %d certificates' serials",
                             REVOCATION_SERIALS_MAX)
            : tsr_call_fail (call, S_INVALID, "serials[%ld] must be 2 to 40 hex digits (an even "
                             "count), not repeated", bad);
    return S_OK;
}

tsr_status_t
revocation_handle_start_phone (tsr_call_t *call)
{
    revocation_state_t *state = call->state;
    tsr_status_t unpack_status;
    Tessera__V1__StartPhoneChallengeRequest *request =
        (Tessera__V1__StartPhoneChallengeRequest *) tsr_call_unpack (
            call, &tessera__v1__start_phone_challenge_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    char serials [REVOCATION_SERIALS_MAX][REVOCATION_SERIAL_HEX_MAX + 1];
    int levels [REVOCATION_SERIALS_MAX];
    char operator_id [REVOCATION_ID_MAX + 1];
    revocation_parties_t parties;
    memset (&parties, 0, sizeof parties);
    Tessera__V1__SecretQuestions *questions = NULL;
    tsr_status_t status;
    if ((status = revocation_start_phone_check (call, request, serials)) != S_OK
    ||  (status = revocation_caller_operator (call, operator_id)) != S_OK
    ||  (status = revocation_parties_check (call, request->caller_person_id, "caller_person_id",
                                            request->holder_person_id, "holder_person_id",
                                            &parties)) != S_OK)
        goto done;
    revocation_phone_status_t phone;
    if (revocation_phone_status (state, call->db, parties.requester->person_id, &phone)) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the phone attempts");
        goto done;
    }
    if (phone.locked) {
        status = s_refuse_locked (call, parties.requester->person_id, &phone);
        goto done;
    }
    int level = (int) state->policy_level;
    if (request->n_serials
    &&  (status = revocation_certificates_check (call, parties.holder->person_id, serials,
                                                 request->n_serials, levels, &level)) != S_OK)
        goto done;
    if ((status = s_questions (call, parties.requester->person_id, &questions)) != S_OK)
        goto done;
    status = s_challenge (call, &parties, level, questions, operator_id, phone.failed_attempts);
done:
    if (questions)
        tessera__v1__secret_questions__free_unpacked (questions, NULL);
    revocation_parties_release (&parties);
    tessera__v1__start_phone_challenge_request__free_unpacked (request, NULL);
    return status;
}

//  --- Answers ------------------------------------------------------------

//  The challenge as stored (row locked).
typedef struct {
    PGresult *res;
    const char *caller_person_id;
    const char *holder_person_id;
    uint32_t question_ids [REVOCATION_QUESTIONS_MAX];
    size_t question_count;
} s_challenge_t;

static tsr_status_t
s_load_challenge (tsr_call_t *call, const char *challenge_id, s_challenge_t *challenge)
{
    const char *values [] = { challenge_id };
    challenge->res = tsr_db_query (call->db,
        "SELECT caller_person_id, holder_person_id, array_to_string(question_ids, ','), state,"
        " expires_at <= now(), extract(epoch FROM expires_at)::bigint"
        " FROM phone_challenges WHERE challenge_id = $1 FOR UPDATE", 1, values);
    PGresult *res = challenge->res;
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the phone challenges");
    if (PQntuples (res) != 1)
        return tsr_call_fail (call, S_NOT_FOUND, "challenge_id: no phone challenge %s",
                              challenge_id);
    if (strtol (PQgetvalue (res, 0, 3), NULL, 10) != 1)
        return tsr_call_fail (call, S_PRECONDITION, "phone challenge %s was answered already: "
                              "each is checked once; start a new one", challenge_id);
    if (PQgetvalue (res, 0, 4) [0] == 't') {
        char until [32];
        s_time_text (strtoll (PQgetvalue (res, 0, 5), NULL, 10), until);
        return tsr_call_fail (call, S_PRECONDITION, "phone challenge %s expired at %s: start a "
                              "new one", challenge_id, until);
    }
    challenge->caller_person_id = PQgetvalue (res, 0, 0);
    challenge->holder_person_id = PQgetvalue (res, 0, 1);
    char *p = PQgetvalue (res, 0, 2);
    while (*p && challenge->question_count < REVOCATION_QUESTIONS_MAX) {
        char *end = NULL;
        challenge->question_ids [challenge->question_count++] =
            (uint32_t) strtoul (p, &end, 10);
        p = *end == ',' ? end + 1 : end;
    }
    return S_OK;
}

//  The answers' form: one to each question asked, no other.
static tsr_status_t
s_check_answers (tsr_call_t *call, const Tessera__V1__AnswerPhoneChallengeRequest *request,
                 const s_challenge_t *challenge)
{
    char asked [REVOCATION_QUESTIONS_MAX * 4 + 1] = "";
    size_t len = 0;
    for (size_t i = 0; i < challenge->question_count; i++)
        len += (size_t) snprintf (asked + len, sizeof asked - len, "%s%u", i ? ", " : "",
                                  challenge->question_ids [i]);
    if (request->n_answers != challenge->question_count)
        return tsr_call_fail (call, S_INVALID, "answers: give one answer to each question asked "
                              "(ids %s)", asked);
    for (size_t i = 0; i < request->n_answers; i++) {
        bool found = false;
        for (size_t j = 0; j < challenge->question_count; j++)
            found = found || challenge->question_ids [j] == request->answers [i]->question_id;
        for (size_t j = 0; j < i; j++)
            found = found && request->answers [j]->question_id != request->answers [i]->question_id;
        if (!found)
            return tsr_call_fail (call, S_INVALID, "answers[%zu].question_id must be one of the "
                                  "questions asked (ids %s), each once", i, asked);
    }
    return S_OK;
}

//  validation's verdict on the answers.
static tsr_status_t
s_verify (tsr_call_t *call, const char *person_id,
          const Tessera__V1__AnswerPhoneChallengeRequest *request, bool *passed)
{
    revocation_state_t *state = call->state;
    Tessera__V1__VerifyAnswersRequest verify = TESSERA__V1__VERIFY_ANSWERS_REQUEST__INIT;
    verify.person_id = (char *) person_id;
    verify.n_answers = request->n_answers;
    verify.answers = request->answers;
    Tessera__V1__VerifyAnswersReply *reply = NULL;
    char message [200] = "";
    tsr_status_t status = tsr_peer_call (
        state->validation, "VerifyAnswers", &verify.base,
        &tessera__v1__verify_answers_reply__descriptor, NULL, call->request->trace_id,
        (ProtobufCMessage **) &reply, message, sizeof message);
    if (status == S_INVALID)
        return tsr_call_fail (call, S_INVALID, "answers: %.180s", message);
    if (status == S_NOT_FOUND || status == S_PRECONDITION)
        return tsr_call_fail (call, S_PRECONDITION, "validation cannot check the answers: %.150s",
                              message);
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot check the answers at validation "
                              "(%.120s); retry", message);
    *passed = reply->all_match && reply->answers_checked == request->n_answers;
    tessera__v1__verify_answers_reply__free_unpacked (reply, NULL);
    return S_OK;
}

//  The outcome: challenge row, attempt, audit, lock event.
static tsr_status_t
s_record_outcome (tsr_call_t *call, const char *challenge_id, const s_challenge_t *challenge,
                  const char *operator_id, bool passed,
                  Tessera__V1__PhoneChallengeResult *result)
{
    revocation_state_t *state = call->state;
    const char *trace_id = call->request->trace_id;
    const char *values [] = { challenge_id, passed ? "2" : "3", operator_id };
    PGresult *res = tsr_db_query (call->db,
        "UPDATE phone_challenges SET state = $2::smallint, answered_at = now(),"
        " answered_by_operator_id = $3 WHERE challenge_id = $1", 3, values);
    PQclear (res);
    revocation_attempt_t attempt = {
        .challenge_id = challenge_id, .person_id = challenge->caller_person_id,
        .holder_person_id = challenge->holder_person_id, .operator_id = operator_id,
        .operator_key = call->caller_key, .questions_asked = (uint32_t) challenge->question_count,
        .passed = passed };
    revocation_phone_status_t after;
    bool locked_now = false;
    if (!res || revocation_phone_attempt (state, call->db, &attempt, &after, &locked_now))
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the attempt");
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "person_id", challenge->caller_person_id);
    tsr_json_str (json, "holder_person_id", challenge->holder_person_id);
    tsr_json_bool (json, "passed", passed);
    tsr_json_int (json, "questions_asked", (int64_t) challenge->question_count);
    tsr_json_int (json, "failed_attempts", after.failed_attempts);
    tsr_json_str (json, "operator_id", operator_id);
    if (revocation_audit (call->db, call->caller_key, "revocation.phone_answers_checked",
                          challenge_id, trace_id, &json))
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the attempt");
    if (locked_now) {
        json = tsr_json_new ();
        tsr_json_int (json, "failed_attempts", after.failed_attempts);
        tsr_json_int (json, "locked_until_unix", after.locked_until_unix);
        tsr_json_str (json, "challenge_id", challenge_id);
        Tessera__V1__PhoneChannelLocked event = TESSERA__V1__PHONE_CHANNEL_LOCKED__INIT;
        event.person_id = (char *) challenge->caller_person_id;
        event.failed_attempts = after.failed_attempts;
        event.locked_until_unix = after.locked_until_unix;
        if (revocation_audit (call->db, call->caller_key, "revocation.phone_channel_locked",
                              challenge->caller_person_id, trace_id, &json)
        ||  revocation_emit (call->db, "phone_channel.locked", challenge->caller_person_id,
                             trace_id, &event.base))
            return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the lock");
        tsr_log_warn (trace_id, "revocation.phone_channel_locked", "person_id",
                      challenge->caller_person_id, NULL);
    }
    if (!passed)
        tsr_counter_inc (state->phone_failures_counter, NULL, 1);
    result->passed = passed;
    result->failed_attempts = after.failed_attempts;
    result->locked_until_unix = locked_now ? after.locked_until_unix : 0;
    return S_OK;
}

//  Every bound of the request that needs no other service.
tsr_status_t
revocation_answer_phone_check (tsr_call_t *call,
                               const Tessera__V1__AnswerPhoneChallengeRequest *request)
{
    if (!revocation_id_valid (request->challenge_id))
        return tsr_call_fail (call, S_INVALID, "challenge_id must be 1 to %d of "
                              "[A-Za-z0-9._:-]", REVOCATION_ID_MAX);
    if (request->n_answers < 1 || request->n_answers > REVOCATION_QUESTIONS_MAX)
        return tsr_call_fail (call, S_INVALID, "answers: give 1 to %d answers",
                              REVOCATION_QUESTIONS_MAX);
    for (size_t i = 0; i < request->n_answers; i++)
        if (!revocation_text_valid (request->answers [i]->answer, 1, REVOCATION_ANSWER_MAX))
            return tsr_call_fail (call, S_INVALID, "answers[%zu].answer must be 1 to %d "
                                  "printable characters", i, REVOCATION_ANSWER_MAX);
    return S_OK;
}

tsr_status_t
revocation_handle_answer_phone (tsr_call_t *call)
{
    revocation_state_t *state = call->state;
    tsr_status_t unpack_status;
    Tessera__V1__AnswerPhoneChallengeRequest *request =
        (Tessera__V1__AnswerPhoneChallengeRequest *) tsr_call_unpack (
            call, &tessera__v1__answer_phone_challenge_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    s_challenge_t challenge;
    memset (&challenge, 0, sizeof challenge);
    char operator_id [REVOCATION_ID_MAX + 1];
    tsr_status_t status = S_OK;
    bool passed = false;
    if ((status = revocation_answer_phone_check (call, request)) != S_OK
    ||  (status = s_load_challenge (call, request->challenge_id, &challenge)) != S_OK
    ||  (status = s_check_answers (call, request, &challenge)) != S_OK)
        goto done;
    revocation_phone_status_t phone;
    if (revocation_phone_serialise (call->db, challenge.caller_person_id)
    ||  revocation_phone_status (state, call->db, challenge.caller_person_id, &phone)) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the phone attempts");
        goto done;
    }
    if (phone.locked) {
        status = s_refuse_locked (call, challenge.caller_person_id, &phone);
        goto done;
    }
    if ((status = revocation_caller_operator (call, operator_id)) != S_OK
    ||  (status = s_verify (call, challenge.caller_person_id, request, &passed)) != S_OK)
        goto done;
    Tessera__V1__PhoneChallengeResult result = TESSERA__V1__PHONE_CHALLENGE_RESULT__INIT;
    result.challenge_id = request->challenge_id;
    status = s_record_outcome (call, request->challenge_id, &challenge, operator_id, passed,
                               &result);
    if (status == S_OK) {
        tsr_log_info (call->request->trace_id, "revocation.phone_answers_checked",
                      "challenge_id", request->challenge_id, "passed", passed ? "true" : "false",
                      NULL);
        status = tsr_call_reply (call, &result.base,
                                 passed ? "all answers match: record the request"
                                 : result.locked_until_unix
                                     ? "the answers do not all match; the phone channel is now "
                                       "locked"
                                     : "the answers do not all match");
    }
done:
    for (size_t i = 0; i < request->n_answers; i++)
        OPENSSL_cleanse (request->answers [i]->answer, strlen (request->answers [i]->answer));
    PQclear (challenge.res);
    tessera__v1__answer_phone_challenge_request__free_unpacked (request, NULL);
    return status;
}
