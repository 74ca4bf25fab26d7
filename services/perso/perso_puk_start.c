/*  StartPukRelease: the questions a holder answers before their card's
    PUK is released (perso_puk.h). The card must be the holder's and
    usable, no release may await its change, the holder must not be locked
    out; validation's GetSecretQuestions gives the holder's questions (ids
    and texts, never answers), of which 2, 4 or 5 (the card's level) are
    picked at random, as revocation's phone channel does. The challenge is
    recorded with what was asked and lives TSR_PERSO_PUK_CHALLENGE_S.
*/
#include "perso_caller.h"
#include "perso_input.h"
#include "tessera/peer.h"
#include "perso_puk.h"
#include "perso_records.h"
#include "tessera/envelope.h"
#include "tessera/log.h"
#include "tessera/v1/validation.pb-c.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND

//  The holder's questions from validation. STATUS_OK and *questions_p
//  (caller frees), or the refusal set.
static tsr_status_t
s_questions (tsr_call_t *call, const perso_puk_holder_t *holder,
             Tessera__V1__SecretQuestions **questions_p)
{
    perso_state_t *state = call->state;
    Tessera__V1__GetSecretQuestionsRequest ask = TESSERA__V1__GET_SECRET_QUESTIONS_REQUEST__INIT;
    bool portal = holder->channel == PERSO_PUK_CHANNEL_PORTAL;
    ask.account_id = portal ? (char *) holder->account_id : "";
    ask.person_id = portal ? "" : (char *) holder->person_id;
    char message [200] = "";
    tsr_status_t status = tsr_peer_call (state->validation, "GetSecretQuestions", &ask.base,
                                         &tessera__v1__secret_questions__descriptor,
                                         NULL, call->request->trace_id,
                                         (ProtobufCMessage **) questions_p, message,
                                         sizeof message);
    if (status == S_NOT_FOUND)
        return tsr_call_fail (call, S_PRECONDITION, "the holder has no account with secret "
                              "questions at validation: the PUK cannot be released");
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the holder's questions at "
                              "validation (%.120s); retry", message);
    return S_OK;
}

//  wanted of the count questions' indexes, uniformly at random (the first
//  steps of a Fisher-Yates shuffle on the CSPRNG), into picked.
static void
s_pick (size_t count, size_t wanted, size_t *picked)
{
    size_t pool [64];
    for (size_t i = 0; i < count; i++)
        pool [i] = i;
    for (size_t i = 0; i < wanted; i++) {
        size_t j = i + (size_t) randombytes_uniform ((uint32_t) (count - i));
        size_t kept = pool [j];
        pool [j] = pool [i];
        pool [i] = picked [i] = kept;
    }
}

static tsr_status_t
s_challenge (tsr_call_t *call, const perso_puk_holder_t *holder, const perso_puk_card_t *card,
             const Tessera__V1__SecretQuestions *questions, const perso_puk_lockout_t *lockout)
{
    perso_state_t *state = call->state;
    size_t wanted = perso_puk_questions_for_level (card->level);
    size_t have = questions->n_questions;
    if (wanted == 0 || have < wanted || have > 64)
        return tsr_call_fail (call, S_PRECONDITION, "the holder has %zu secret questions and %zu "
                              "are asked at the card's level: the PUK cannot be released",
                              have, wanted);
    size_t picked [PERSO_PUK_QUESTIONS_MAX];
    s_pick (have, wanted, picked);
    char ids [PERSO_PUK_QUESTIONS_MAX * 12 + 3] = "{", level [12], channel [12], life [24];
    size_t len = 1;
    Tessera__V1__SecretQuestion *asked [PERSO_PUK_QUESTIONS_MAX];
    for (size_t i = 0; i < wanted; i++) {
        asked [i] = questions->questions [picked [i]];
        len += (size_t) snprintf (ids + len, sizeof ids - len, "%s%u", i ? "," : "",
                                  asked [i]->question_id);
    }
    snprintf (ids + len, sizeof ids - len, "}");
    char random_id [TSR_ID_HEX_SIZE], challenge_id [40];
    tsr_random_id (random_id);
    snprintf (challenge_id, sizeof challenge_id, "pk-%s", random_id);
    snprintf (level, sizeof level, "%d", card->level);
    snprintf (channel, sizeof channel, "%d", holder->channel);
    snprintf (life, sizeof life, "%ld", state->puk_challenge_s);
    const char *values [] = { challenge_id, card->row.card_uuid, holder->person_id,
                              holder->account_id, channel, level, ids, holder->operator_id,
                              call->caller_key, life };
    PGresult *res = tsr_db_query (call->db,
        "INSERT INTO puk_challenges (challenge_id, card_uuid, person_id, account_id, channel,"
        " level, question_ids, operator_id, caller_key, expires_at)"
        " VALUES ($1, $2, $3, $4, $5::smallint, $6::smallint, $7::integer[], $8, $9,"
        "  now() + make_interval(secs => $10::int))"
        " RETURNING floor(extract(epoch FROM expires_at))::bigint", 10, values);
    int64_t expires_at = res && PQntuples (res) == 1 ? strtoll (PQgetvalue (res, 0, 0), NULL, 10)
                                                     : 0;
    PQclear (res);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "challenge_id", challenge_id);
    tsr_json_int (json, "channel", holder->channel);
    tsr_json_str (json, "person_id", holder->person_id);
    tsr_json_str (json, "account_id", holder->account_id);
    tsr_json_str (json, "operator_id", holder->operator_id);
    tsr_json_int (json, "level", card->level);
    char ids_json [sizeof ids];
    snprintf (ids_json, sizeof ids_json, "[%.*s]", (int) (strlen (ids) - 2), ids + 1);
    tsr_json_raw (json, "question_ids", ids_json);
    tsr_json_int (json, "questions_asked", (int64_t) wanted);
    if (!expires_at
    ||  perso_audit (call->db, call->caller_key, "perso.puk_challenge_started",
                     card->row.card_uuid, call->request->trace_id, &json)) {
        tsr_json_destroy (&json);
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the challenge");
    }
    tsr_log_info (call->request->trace_id, "perso.puk_challenge_started", "card_uuid",
                  card->row.card_uuid, "challenge_id", challenge_id, NULL);
    Tessera__V1__PukChallenge reply = TESSERA__V1__PUK_CHALLENGE__INIT;
    reply.challenge_id = challenge_id;
    reply.card_uuid = (char *) card->row.card_uuid;
    reply.channel = (Tessera__V1__PukReleaseChannel) holder->channel;
    reply.level = (Tessera__V1__PolicyLevel) card->level;
    reply.n_questions = wanted;
    reply.questions = asked;
    reply.expires_at_unix = expires_at;
    reply.failed_attempts = (uint32_t) lockout->failures;
    long left = state->puk_max_failures - lockout->failures;
    reply.attempts_left = left > 0 ? (uint32_t) left : 0;
    return tsr_call_reply (call, &reply.base, "answer the questions with ReleasePuk");
}

tsr_status_t
perso_handle_start_puk_release (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__StartPukReleaseRequest *in =
        (Tessera__V1__StartPukReleaseRequest *) tsr_call_unpack (
            call, &tessera__v1__start_puk_release_request__descriptor, &status);
    if (!in)
        return status;
    perso_puk_holder_t holder;
    perso_puk_card_t card;
    perso_puk_lockout_t lockout;
    Tessera__V1__SecretQuestions *questions = NULL;
    if (!perso_uuid_valid (in->card_uuid))
        status = tsr_call_fail (call, S_INVALID, "card_uuid must be a UUID (8-4-4-4-12 hex)");
    else
        status = perso_puk_holder_from (call, in->account_id, in->person_id, &holder);
    if (status == S_OK && holder.channel == PERSO_PUK_CHANNEL_PHONE)
        status = perso_caller_operator (call, holder.operator_id);
    if (status == S_OK)
        status = perso_puk_card_check (call, in->card_uuid, &holder, &card);
    if (status != S_OK)
        goto done;
    if ((status = perso_puk_lockout_check (call, card.row.card_uuid, holder.person_id,
                                           &lockout)) != S_OK)
        goto done;
    if ((status = s_questions (call, &holder, &questions)) == S_OK)
        status = s_challenge (call, &holder, &card, questions, &lockout);
done:
    if (questions)
        tessera__v1__secret_questions__free_unpacked (questions, NULL);
    tessera__v1__start_puk_release_request__free_unpacked (in, NULL);
    return status;
}
