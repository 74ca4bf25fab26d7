/*  ReleasePuk: the holder's answers to a PUK challenge, checked once by
    validation (VerifyAnswers: all or nothing, compared with Argon2id
    hashes there). The challenge is spent whatever the outcome.

    Right answers: the PUK of the card's current version, derived here
    from the master key, goes in the reply (TSR_METHOD_SECRET_REPLY: sent
    once, never stored, a retry refused); the release is recorded (who,
    when, channel, the version), audited and emitted as "puk.released",
    never with the PUK. Wrong answers: STATUS_OK with released = false,
    counted toward the holder's lockout (perso_puk_checks.c); the one that
    locks emits "puk_release.locked". Answers and the PUK are wiped.
*/
#include "perso_caller.h"
#include "perso_input.h"
#include "tessera/peer.h"
#include "perso_puk.h"
#include "perso_records.h"
#include "perso_secrets.h"
#include "tessera/envelope.h"
#include "tessera/log.h"
#include "tessera/v1/validation.pb-c.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND
#define S_DENIED TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED

//  A challenge as recorded.
typedef struct {
    char card_uuid [37];
    char person_id [65];
    char account_id [65];
    int channel;
    char caller_key [64];
    uint32_t question_ids [PERSO_PUK_QUESTIONS_MAX];
    size_t question_count;
    bool used;
    bool expired;
} s_challenge_t;

//  Every bound of the request that needs no database.
static tsr_status_t
s_check_input (tsr_call_t *call, const Tessera__V1__ReleasePukRequest *in)
{
    if (!perso_id_valid (in->challenge_id))
        return tsr_call_fail (call, S_INVALID, "challenge_id must be 1 to 64 of [A-Za-z0-9._:-]");
    if (!perso_uuid_valid (in->card_uuid))
        return tsr_call_fail (call, S_INVALID, "card_uuid must be a UUID (8-4-4-4-12 hex)");
    if (in->n_answers < 1 || in->n_answers > PERSO_PUK_QUESTIONS_MAX)
        return tsr_call_fail (call, S_INVALID, "answers: give 1 to %d answers, one to each "
                              "question asked", PERSO_PUK_QUESTIONS_MAX);
    for (size_t i = 0; i < in->n_answers; i++)
        if (in->answers [i]->question_id < 1
        ||  !perso_text_valid (in->answers [i]->answer, 1, PERSO_PUK_ANSWER_MAX))
            return tsr_call_fail (call, S_INVALID, "answers[%zu] needs a question_id and an "
                                  "answer of 1 to %d printable characters", i,
                                  PERSO_PUK_ANSWER_MAX);
    if (!perso_text_valid (in->client_address, 0, PERSO_CLIENT_ADDRESS_MAX)
    ||  !perso_text_valid (in->user_agent, 0, PERSO_USER_AGENT_MAX))
        return tsr_call_fail (call, S_INVALID, "client_address (64) and user_agent (256) must "
                              "be printable text");
    return S_OK;
}

//  1 found (locked), 0 none, -1 error.
static int
s_challenge_load (tsr_db_t *db, const char *challenge_id, s_challenge_t *out)
{
    const char *values [] = { challenge_id };
    PGresult *res = tsr_db_query (db,
        "SELECT card_uuid, person_id, account_id, channel, caller_key,"
        " array_to_string(question_ids, ','), used_at IS NOT NULL, expires_at <= now()"
        " FROM puk_challenges WHERE challenge_id = $1 FOR UPDATE", 1, values);
    if (!res)
        return -1;
    int found = PQntuples (res) == 1;
    if (found) {
        memset (out, 0, sizeof *out);
        snprintf (out->card_uuid, sizeof out->card_uuid, "%s", PQgetvalue (res, 0, 0));
        snprintf (out->person_id, sizeof out->person_id, "%s", PQgetvalue (res, 0, 1));
        snprintf (out->account_id, sizeof out->account_id, "%s", PQgetvalue (res, 0, 2));
        out->channel = (int) strtol (PQgetvalue (res, 0, 3), NULL, 10);
        snprintf (out->caller_key, sizeof out->caller_key, "%s", PQgetvalue (res, 0, 4));
        const char *ids = PQgetvalue (res, 0, 5);
        while (*ids && out->question_count < PERSO_PUK_QUESTIONS_MAX) {
            char *end = NULL;
            out->question_ids [out->question_count++] = (uint32_t) strtoul (ids, &end, 10);
            ids = *end == ',' ? end + 1 : end;
        }
        out->used = streq (PQgetvalue (res, 0, 6), "t");
        out->expired = streq (PQgetvalue (res, 0, 7), "t");
    }
    PQclear (res);
    return found;
}

//  The answers must be the questions asked, each once.
static tsr_status_t
s_check_answers (tsr_call_t *call, const Tessera__V1__ReleasePukRequest *in,
                 const s_challenge_t *challenge)
{
    if (in->n_answers != challenge->question_count)
        return tsr_call_fail (call, S_INVALID, "answers: give one answer to each of the %zu "
                              "questions asked", challenge->question_count);
    for (size_t i = 0; i < in->n_answers; i++) {
        bool found = false;
        for (size_t j = 0; j < challenge->question_count; j++)
            found = found || challenge->question_ids [j] == in->answers [i]->question_id;
        for (size_t j = 0; j < i; j++)
            found = found && in->answers [j]->question_id != in->answers [i]->question_id;
        if (!found)
            return tsr_call_fail (call, S_INVALID, "answers[%zu].question_id must be one of the "
                                  "questions asked, each once", i);
    }
    return S_OK;
}

//  The challenge must be this caller's, for this card and holder, unused
//  and alive.
static tsr_status_t
s_check_challenge (tsr_call_t *call, const Tessera__V1__ReleasePukRequest *in,
                   const perso_puk_holder_t *holder, s_challenge_t *challenge)
{
    int found = s_challenge_load (call->db, in->challenge_id, challenge);
    if (found < 0)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot read the challenge");
    bool same = found && streq (challenge->caller_key, call->caller_key)
             && strcasecmp (challenge->card_uuid, in->card_uuid) == 0
             && challenge->channel == holder->channel
             && (holder->channel == PERSO_PUK_CHANNEL_PORTAL
                 ? streq (challenge->account_id, holder->account_id)
                 : streq (challenge->person_id, holder->person_id));
    if (!same)
        return tsr_call_fail (call, S_NOT_FOUND, "no challenge %s of yours for this card and "
                              "holder: start with StartPukRelease", in->challenge_id);
    if (challenge->used)
        return tsr_call_fail (call, S_PRECONDITION, "challenge %s was answered already: start "
                              "a new one", in->challenge_id);
    if (challenge->expired)
        return tsr_call_fail (call, S_PRECONDITION, "challenge %s expired: start a new one",
                              in->challenge_id);
    return s_check_answers (call, in, challenge);
}

//  validation's verdict.
static tsr_status_t
s_verify (tsr_call_t *call, const Tessera__V1__ReleasePukRequest *in,
          const s_challenge_t *challenge, bool *passed)
{
    perso_state_t *state = call->state;
    Tessera__V1__VerifyAnswersRequest verify = TESSERA__V1__VERIFY_ANSWERS_REQUEST__INIT;
    bool portal = challenge->channel == PERSO_PUK_CHANNEL_PORTAL;
    verify.account_id = portal ? (char *) challenge->account_id : "";
    verify.person_id = portal ? "" : (char *) challenge->person_id;
    verify.n_answers = in->n_answers;
    verify.answers = in->answers;
    Tessera__V1__VerifyAnswersReply *reply = NULL;
    char message [200] = "";
    tsr_status_t status = tsr_peer_call (state->validation, "VerifyAnswers", &verify.base,
                                         &tessera__v1__verify_answers_reply__descriptor,
                                         NULL, call->request->trace_id,
                                         (ProtobufCMessage **) &reply, message, sizeof message);
    if (status == S_INVALID)
        return tsr_call_fail (call, S_INVALID, "answers: %.180s", message);
    if (status == S_NOT_FOUND || status == S_PRECONDITION)
        return tsr_call_fail (call, S_PRECONDITION, "validation cannot check the answers: %.150s",
                              message);
    if (status != S_OK)
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot check the answers at validation "
                              "(%.120s); retry", message);
    *passed = reply->all_match && reply->answers_checked == in->n_answers;
    tessera__v1__verify_answers_reply__free_unpacked (reply, NULL);
    return S_OK;
}

static int
s_spend (tsr_call_t *call, const char *challenge_id, bool passed)
{
    const char *values [] = { challenge_id, passed ? "t" : "f" };
    PGresult *res = tsr_db_query (call->db,
        "UPDATE puk_challenges SET used_at = now(), passed = $2::boolean WHERE challenge_id = $1",
        2, values);
    PQclear (res);
    return res ? 0 : -1;
}

static tsr_status_t
s_wrong (tsr_call_t *call, const Tessera__V1__ReleasePukRequest *in,
         const perso_puk_holder_t *holder, const perso_puk_card_t *card)
{
    perso_state_t *state = call->state;
    const char *trace_id = call->request->trace_id;
    perso_puk_lockout_t after;
    bool locked_now = false;
    if (s_spend (call, in->challenge_id, false)
    ||  perso_puk_lockout_fail (call, holder->person_id, &after, &locked_now))
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the attempt");
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "challenge_id", in->challenge_id);
    tsr_json_int (json, "channel", holder->channel);
    tsr_json_str (json, "person_id", holder->person_id);
    tsr_json_str (json, "operator_id", holder->operator_id);
    tsr_json_int (json, "failed_attempts", locked_now ? state->puk_max_failures : after.failures);
    tsr_json_bool (json, "locked", locked_now);
    tsr_json_str (json, "client_address", in->client_address);
    Tessera__V1__PukReleaseLocked event = TESSERA__V1__PUK_RELEASE_LOCKED__INIT;
    event.card_uuid = (char *) card->row.card_uuid;
    event.person_id = (char *) holder->person_id;
    event.failed_attempts = (uint32_t) state->puk_max_failures;
    event.locked_until_unix = after.locked_until_unix;
    if (perso_audit (call->db, call->caller_key, "perso.puk_release_failed", card->row.card_uuid,
                     trace_id, &json)
    ||  (locked_now && perso_emit (call->db, "puk_release.locked", card->row.card_uuid,
                                   trace_id, &event.base))) {
        tsr_json_destroy (&json);
        return tsr_call_fail (call, S_UNAVAILABLE, "cannot record the attempt");
    }
    tsr_log_warn (trace_id, locked_now ? "perso.puk_release_locked" : "perso.puk_release_failed",
                  "card_uuid", card->row.card_uuid, "person_id", holder->person_id, NULL);
    Tessera__V1__ReleasePukReply reply = TESSERA__V1__RELEASE_PUK_REPLY__INIT;
    reply.card_uuid = (char *) card->row.card_uuid;
    reply.puk_version = card->puk_version;
    reply.failed_attempts = (uint32_t) (locked_now ? state->puk_max_failures : after.failures);
    reply.attempts_left = locked_now ? 0 : (uint32_t) (state->puk_max_failures - after.failures);
    reply.locked_until_unix = after.locked_until_unix;
    return tsr_call_reply (call, &reply.base, locked_now
                           ? "wrong answers; PUK releases are now locked for this holder"
                           : "wrong answers");
}

static tsr_status_t
s_release (tsr_call_t *call, const Tessera__V1__ReleasePukRequest *in,
           const perso_puk_holder_t *holder, const perso_puk_card_t *card)
{
    perso_state_t *state = call->state;
    const char *trace_id = call->request->trace_id;
    char puk [PERSO_PIN_DIGITS + 1] = "", version [16], channel [12];
    uint8_t uuid [16];
    if (!state->have_master_key || perso_uuid_parse (card->row.card_uuid, uuid)
    ||  perso_diversify_puk_version (state->master_key, state->master_key_size, uuid,
                                     card->puk_version, puk))
        return tsr_call_fail (call, S_PRECONDITION, "perso cannot derive the card's PUK (is "
                              "TSR_PERSO_MASTER_KEY_FILE set?)");
    snprintf (version, sizeof version, "%u", card->puk_version);
    snprintf (channel, sizeof channel, "%d", holder->channel);
    const char *values [] = { card->row.card_uuid, version, holder->person_id,
                              holder->account_id, channel, holder->operator_id, call->caller_key,
                              in->challenge_id, in->client_address, in->user_agent };
    PGresult *res = tsr_db_query (call->db,
        "INSERT INTO puk_releases (card_uuid, puk_version, person_id, account_id, channel,"
        " operator_id, caller_key, challenge_id, client_address, user_agent)"
        " VALUES ($1, $2::int, $3, $4, $5::smallint, $6, $7, $8, $9, $10)", 10, values);
    PQclear (res);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "challenge_id", in->challenge_id);
    tsr_json_int (json, "channel", holder->channel);
    tsr_json_str (json, "person_id", holder->person_id);
    tsr_json_str (json, "account_id", holder->account_id);
    tsr_json_str (json, "operator_id", holder->operator_id);
    tsr_json_int (json, "puk_version", card->puk_version);
    tsr_json_str (json, "client_address", in->client_address);
    tsr_json_str (json, "user_agent", in->user_agent);
    Tessera__V1__PukReleased event = TESSERA__V1__PUK_RELEASED__INIT;
    event.card_uuid = (char *) card->row.card_uuid;
    event.person_id = (char *) holder->person_id;
    event.channel = (Tessera__V1__PukReleaseChannel) holder->channel;
    event.puk_version = card->puk_version;
    event.operator_id = (char *) holder->operator_id;
    event.released_at_unix = tsr_now_ms () / 1000;
    tsr_status_t status;
    if (!res || s_spend (call, in->challenge_id, true)
    ||  perso_puk_lockout_clear (call, holder->person_id)
    ||  perso_audit (call->db, call->caller_key, "perso.puk_released", card->row.card_uuid,
                     trace_id, &json)
    ||  perso_emit (call->db, "puk.released", card->row.card_uuid, trace_id, &event.base)) {
        tsr_json_destroy (&json);
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot record the release");
    }
    else {
        tsr_log_info (trace_id, "perso.puk_released", "card_uuid", card->row.card_uuid,
                      "person_id", holder->person_id, NULL);
        Tessera__V1__ReleasePukReply reply = TESSERA__V1__RELEASE_PUK_REPLY__INIT;
        reply.released = true;
        reply.puk = puk;
        reply.card_uuid = (char *) card->row.card_uuid;
        reply.puk_version = card->puk_version;
        reply.attempts_left = (uint32_t) state->puk_max_failures;
        status = tsr_call_reply (call, &reply.base, "PUK released once: it unblocks the PIN "
                                 "until the card bureau next meets the card");
    }
    sodium_memzero (puk, sizeof puk);
    return status;
}

tsr_status_t
perso_handle_release_puk (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ReleasePukRequest *in = (Tessera__V1__ReleasePukRequest *) tsr_call_unpack (
        call, &tessera__v1__release_puk_request__descriptor, &status);
    if (!in)
        return status;
    perso_puk_holder_t holder;
    perso_puk_card_t card;
    perso_puk_lockout_t lockout;
    s_challenge_t challenge;
    bool passed = false;
    if ((status = s_check_input (call, in)) == S_OK
    &&  (status = perso_puk_holder_from (call, in->account_id, in->person_id, &holder)) == S_OK
    &&  (holder.channel != PERSO_PUK_CHANNEL_PHONE
         || (status = perso_caller_operator (call, holder.operator_id)) == S_OK)
    &&  (status = s_check_challenge (call, in, &holder, &challenge)) == S_OK)
        status = perso_puk_card_check (call, in->card_uuid, &holder, &card);
    if (status != S_OK)
        goto done;
    if ((status = perso_puk_lockout_check (call, card.row.card_uuid, holder.person_id,
                                           &lockout)) != S_OK)
        goto done;
    if ((status = s_verify (call, in, &challenge, &passed)) != S_OK)
        goto done;
    status = passed ? s_release (call, in, &holder, &card) : s_wrong (call, in, &holder, &card);
done:
    for (size_t i = 0; i < in->n_answers; i++)
        if (in->answers [i]->answer)
            sodium_memzero (in->answers [i]->answer, strlen (in->answers [i]->answer));
    tessera__v1__release_puk_request__free_unpacked (in, NULL);
    return status;
}
