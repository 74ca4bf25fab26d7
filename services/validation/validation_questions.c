/*  SetSecretQuestions, GetSecretQuestions, VerifyAnswers: the holder's
    secret questions, which revocation by phone asks.

    A set is 5 to VALIDATION_QUESTIONS_MAX pairs, questions 1 to 128
    printable characters and distinct once normalised, answers 1 to 128
    characters; each answer is normalised (validation_answer.h) and only
    its Argon2id hash is kept. A new set replaces the old one whole
    (question ids 1..n in the order given). VerifyAnswers checks every
    answer given, all of them (no early exit), and says only whether all
    matched; each check is audited and mismatches are counted on the
    account (answer_failures; revocation keeps its own lockout).
*/
#include "validation_accounts.h"
#include "validation_answer.h"
#include "validation_handlers.h"
#include "validation_input.h"
#include "validation_password.h"
#include "validation_records.h"
#include "validation_state.h"
#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define VALIDATION_QUESTIONS_MIN 5
#define VALIDATION_QUESTIONS_MAX 10

//  The account named by account_id or person_id (exactly one given).
static tsr_status_t
s_account (tsr_call_t *call, const char *account_id, const char *person_id, bool lock,
           validation_account_t *account)
{
    memset (account, 0, sizeof *account);
    if ((*account_id != 0) == (*person_id != 0))
        return tsr_call_fail (call, S_INVALID, "give exactly one of account_id and person_id");
    if (!validation_optional_id_valid (account_id) || !validation_optional_id_valid (person_id))
        return tsr_call_fail (call, S_INVALID,
                              "account_id and person_id are 1 to 64 of [A-Za-z0-9._:-]");
    int found = validation_account_load (call->db,
                                         *account_id ? VALIDATION_BY_ACCOUNT : VALIDATION_BY_PERSON,
                                         *account_id ? account_id : person_id, lock, account);
    if (found < 0)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the holder accounts");
    if (found == 0)
        return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND,
                              "no holder account for this %s", *account_id ? "account_id"
                                                                           : "person_id");
    return S_OK;
}

//  Checks and normalises the pairs: answers [i] gets pair i's normal form.
tsr_status_t
validation_questions_check (tsr_call_t *call, const Tessera__V1__SetSecretQuestionsRequest *request,
                            char answers [][VALIDATION_NORMALISED_SIZE])
{
    char questions [VALIDATION_QUESTIONS_MAX][VALIDATION_NORMALISED_SIZE];
    size_t count = request->n_pairs;
    if (count < VALIDATION_QUESTIONS_MIN || count > VALIDATION_QUESTIONS_MAX)
        return tsr_call_fail (call, S_INVALID, "pairs: give %d to %d questions with their answers",
                              VALIDATION_QUESTIONS_MIN, VALIDATION_QUESTIONS_MAX);
    for (size_t i = 0; i < count; i++) {
        const Tessera__V1__SecretQuestionAnswer *pair = request->pairs [i];
        if (!validation_text_valid (pair->question, 1, VALIDATION_QUESTION_MAX_CHARS)
        ||  validation_answer_normalise (pair->question, VALIDATION_QUESTION_MAX_CHARS,
                                         questions [i], sizeof questions [i]) < 0)
            return tsr_call_fail (call, S_INVALID,
                                  "pairs[%zu].question must be 1 to %d printable characters", i,
                                  VALIDATION_QUESTION_MAX_CHARS);
        if (validation_answer_normalise (pair->answer, VALIDATION_ANSWER_MAX_CHARS, answers [i],
                                         VALIDATION_NORMALISED_SIZE) < 0)
            return tsr_call_fail (call, S_INVALID,
                                  "pairs[%zu].answer must be 1 to %d characters, without control "
                                  "characters, not only spaces", i, VALIDATION_ANSWER_MAX_CHARS);
        for (size_t j = 0; j < i; j++)
            if (strcmp (questions [i], questions [j]) == 0)
                return tsr_call_fail (call, S_INVALID,
                                      "pairs[%zu].question repeats pairs[%zu].question", i, j);
    }
    return S_OK;
}

//  Replaces the set: old rows out, new rows in, hashes made here.
static tsr_status_t
s_store (tsr_call_t *call, const char *account_id,
         const Tessera__V1__SetSecretQuestionsRequest *request,
         char answers [][VALIDATION_NORMALISED_SIZE])
{
    const char *key [] = { account_id };
    PGresult *res = tsr_db_query (call->db, "DELETE FROM secret_questions WHERE account_id = $1",
                                  1, key);
    PQclear (res);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot replace the secret questions");
    for (size_t i = 0; i < request->n_pairs; i++) {
        char hash [VALIDATION_HASH_SIZE], id [24];
        if (validation_hash (answers [i], strlen (answers [i]), hash))
            return tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL,
                                  "cannot hash the answers (out of memory)");
        snprintf (id, sizeof id, "%zu", i + 1);
        const char *values [] = { account_id, id, request->pairs [i]->question, hash };
        res = tsr_db_query (call->db,
            "INSERT INTO secret_questions (account_id, question_id, question, answer_hash)"
            " VALUES ($1, $2::smallint, $3, $4)", 4, values);
        PQclear (res);
        if (!res)
            return tsr_call_fail (call, S_UNAVAILABLE, "cannot store the secret questions");
    }
    res = tsr_db_query (call->db,
        "UPDATE holder_accounts SET answer_failures = 0, questions_set_at = now()"
        " WHERE account_id = $1", 1, key);
    PQclear (res);
    return res ? S_OK : tsr_call_fail (call, S_UNAVAILABLE, "cannot store the secret questions");
}

tsr_status_t
validation_handle_set_questions (tsr_call_t *call)
{
    const char *trace_id = call->request->trace_id;
    tsr_status_t unpack_status;
    Tessera__V1__SetSecretQuestionsRequest *request = (Tessera__V1__SetSecretQuestionsRequest *) tsr_call_unpack (
        call, &tessera__v1__set_secret_questions_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    char answers [VALIDATION_QUESTIONS_MAX][VALIDATION_NORMALISED_SIZE];
    validation_account_t account;
    memset (&account, 0, sizeof account);
    tsr_status_t status;
    if (!validation_id_valid (request->account_id)) {
        status = tsr_call_fail (call, S_INVALID, "account_id must be 1 to 64 of [A-Za-z0-9._:-]");
        goto done;
    }
    if (!validation_text_valid (request->client_address, 0, VALIDATION_CLIENT_ADDRESS_MAX)
    ||  !validation_text_valid (request->user_agent, 0, VALIDATION_USER_AGENT_MAX)) {
        status = tsr_call_fail (call, S_INVALID,
                                "client_address (at most %d) and user_agent (at most %d) must be "
                                "printable characters", VALIDATION_CLIENT_ADDRESS_MAX,
                                VALIDATION_USER_AGENT_MAX);
        goto done;
    }
    status = validation_questions_check (call, request, answers);
    if (status != S_OK)
        goto done;
    status = s_account (call, request->account_id, "", true, &account);
    if (status != S_OK)
        goto done;
    if (account.stored_state != VALIDATION_STATE_ACTIVE || account.locked) {
        status = tsr_call_fail (call, S_PRECONDITION,
                                "the holder must have set their own password (and not be locked "
                                "out) before setting secret questions");
        goto done;
    }
    status = s_store (call, request->account_id, request, answers);
    if (status != S_OK)
        goto done;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_int (json, "questions", (int64_t) request->n_pairs);
    tsr_json_str (json, "client_address", request->client_address);
    tsr_json_str (json, "user_agent", request->user_agent);
    if (validation_audit (call->db, call->caller_key, "validation.secret_questions_set",
                          request->account_id, trace_id, &json)
    ||  validation_emit_account (call->db, "account.secret_questions_set", trace_id,
                                 request->account_id)) {
        tsr_json_destroy (&json);
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the secret questions");
        goto done;
    }
    tsr_log_info (trace_id, "validation.secret_questions_set", "account_id", request->account_id,
                  NULL);
    status = validation_reply_account (call, request->account_id, "secret questions set");
done:
    sodium_memzero (answers, sizeof answers);
    for (size_t i = 0; i < request->n_pairs; i++)
        sodium_memzero (request->pairs [i]->answer, strlen (request->pairs [i]->answer));
    validation_account_release (&account);
    tessera__v1__set_secret_questions_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
validation_handle_get_questions (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__GetSecretQuestionsRequest *request = (Tessera__V1__GetSecretQuestionsRequest *) tsr_call_unpack (
        call, &tessera__v1__get_secret_questions_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    validation_account_t account;
    PGresult *res = NULL;
    Tessera__V1__SecretQuestion items [VALIDATION_QUESTIONS_MAX], *list [VALIDATION_QUESTIONS_MAX];
    tsr_status_t status = s_account (call, request->account_id, request->person_id, false,
                                     &account);
    if (status != S_OK)
        goto done;
    const char *values [] = { account.message.account_id };
    res = tsr_db_query (call->db,
        "SELECT question_id, question FROM secret_questions WHERE account_id = $1"
        " ORDER BY question_id", 1, values);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the secret questions");
        goto done;
    }
    size_t rows = (size_t) PQntuples (res);
    if (rows > VALIDATION_QUESTIONS_MAX)
        rows = VALIDATION_QUESTIONS_MAX;
    for (size_t i = 0; i < rows; i++) {
        tessera__v1__secret_question__init (&items [i]);
        items [i].question_id = (uint32_t) strtoul (PQgetvalue (res, (int) i, 0), NULL, 10);
        items [i].question = PQgetvalue (res, (int) i, 1);
        list [i] = &items [i];
    }
    Tessera__V1__SecretQuestions reply = TESSERA__V1__SECRET_QUESTIONS__INIT;
    reply.account_id = account.message.account_id;
    reply.person_id = account.message.person_id;
    reply.n_questions = rows;
    reply.questions = list;
    status = tsr_call_reply (call, &reply.base, rows ? "secret questions" : "no secret questions set");
done:
    PQclear (res);
    validation_account_release (&account);
    tessera__v1__get_secret_questions_request__free_unpacked (request, NULL);
    return status;
}

//  Checks the answers' form: 1..max answers, distinct ids, answers
//  normalised into normalised [i].
tsr_status_t
validation_answers_check (tsr_call_t *call, const Tessera__V1__VerifyAnswersRequest *request,
                          char normalised [][VALIDATION_NORMALISED_SIZE])
{
    if (request->n_answers < 1 || request->n_answers > VALIDATION_QUESTIONS_MAX)
        return tsr_call_fail (call, S_INVALID, "answers: give 1 to %d answers",
                              VALIDATION_QUESTIONS_MAX);
    for (size_t i = 0; i < request->n_answers; i++) {
        const Tessera__V1__SecretAnswer *answer = request->answers [i];
        if (answer->question_id < 1 || answer->question_id > VALIDATION_QUESTIONS_MAX)
            return tsr_call_fail (call, S_INVALID, "answers[%zu].question_id must be 1 to %d", i,
                                  VALIDATION_QUESTIONS_MAX);
        for (size_t j = 0; j < i; j++)
            if (request->answers [j]->question_id == answer->question_id)
                return tsr_call_fail (call, S_INVALID,
                                      "answers[%zu].question_id repeats answers[%zu]", i, j);
        if (validation_answer_normalise (answer->answer, VALIDATION_ANSWER_MAX_CHARS,
                                         normalised [i], VALIDATION_NORMALISED_SIZE) < 0)
            return tsr_call_fail (call, S_INVALID,
                                  "answers[%zu].answer must be 1 to %d characters, without "
                                  "control characters", i, VALIDATION_ANSWER_MAX_CHARS);
    }
    return S_OK;
}

//  Verifies every answer against the stored hashes; *all_match when all do.
static tsr_status_t
s_verify (tsr_call_t *call, const char *account_id,
          const Tessera__V1__VerifyAnswersRequest *request,
          char normalised [][VALIDATION_NORMALISED_SIZE], bool *all_match)
{
    const char *values [] = { account_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT question_id, answer_hash FROM secret_questions WHERE account_id = $1",
        1, values);
    if (!res)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the secret questions");
    int rows = PQntuples (res);
    tsr_status_t status = S_OK;
    if (rows < VALIDATION_QUESTIONS_MIN)
        status = tsr_call_fail (call, S_PRECONDITION,
                                "the holder has not set their secret questions");
    const char *hashes [VALIDATION_QUESTIONS_MAX];
    for (size_t i = 0; status == S_OK && i < request->n_answers; i++) {
        hashes [i] = NULL;
        for (int row = 0; row < rows; row++)
            if (strtoul (PQgetvalue (res, row, 0), NULL, 10) == request->answers [i]->question_id)
                hashes [i] = PQgetvalue (res, row, 1);
        if (!hashes [i])
            status = tsr_call_fail (call, S_INVALID,
                                    "answers[%zu].question_id %u is not one of the holder's "
                                    "questions", i, request->answers [i]->question_id);
    }
    *all_match = status == S_OK;
    for (size_t i = 0; status == S_OK && i < request->n_answers; i++)
        if (!validation_hash_verify (hashes [i], normalised [i], strlen (normalised [i])))
            *all_match = false;
    PQclear (res);
    return status;
}

tsr_status_t
validation_handle_verify_answers (tsr_call_t *call)
{
    const char *trace_id = call->request->trace_id;
    tsr_status_t unpack_status;
    Tessera__V1__VerifyAnswersRequest *request = (Tessera__V1__VerifyAnswersRequest *) tsr_call_unpack (
        call, &tessera__v1__verify_answers_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    char normalised [VALIDATION_QUESTIONS_MAX][VALIDATION_NORMALISED_SIZE];
    validation_account_t account;
    memset (&account, 0, sizeof account);
    bool all_match = false;
    tsr_status_t status = validation_answers_check (call, request, normalised);
    if (status == S_OK)
        status = s_account (call, request->account_id, request->person_id, true, &account);
    if (status == S_OK)
        status = s_verify (call, account.message.account_id, request, normalised, &all_match);
    if (status != S_OK)
        goto done;
    const char *values [] = { account.message.account_id, all_match ? "true" : "false" };
    PGresult *res = tsr_db_query (call->db,
        "UPDATE holder_accounts SET answer_failures = CASE WHEN $2::boolean THEN 0"
        " ELSE answer_failures + 1 END WHERE account_id = $1", 2, values);
    PQclear (res);
    char ids [VALIDATION_QUESTIONS_MAX * 4 + 1] = "";
    size_t len = 0;
    for (size_t i = 0; i < request->n_answers; i++)
        len += (size_t) snprintf (ids + len, sizeof ids - len, "%s%u", i ? "," : "",
                                  request->answers [i]->question_id);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_bool (json, "all_match", all_match);
    tsr_json_str (json, "question_ids", ids);
    if (!res
    ||  validation_audit (call->db, call->caller_key, "validation.answers_checked",
                          account.message.account_id, trace_id, &json)) {
        tsr_json_destroy (&json);
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the check");
        goto done;
    }
    tsr_log_info (trace_id, "validation.answers_checked", "account_id",
                  account.message.account_id, "all_match", all_match ? "true" : "false", NULL);
    Tessera__V1__VerifyAnswersReply reply = TESSERA__V1__VERIFY_ANSWERS_REPLY__INIT;
    reply.all_match = all_match;
    reply.answers_checked = (uint32_t) request->n_answers;
    status = tsr_call_reply (call, &reply.base, all_match ? "all answers match"
                                                          : "the answers do not all match");
done:
    sodium_memzero (normalised, sizeof normalised);
    for (size_t i = 0; i < request->n_answers; i++)
        sodium_memzero (request->answers [i]->answer, strlen (request->answers [i]->answer));
    validation_account_release (&account);
    tessera__v1__verify_answers_request__free_unpacked (request, NULL);
    return status;
}
