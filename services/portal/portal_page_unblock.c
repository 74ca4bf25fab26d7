/*  PIN unblock by the holder (docs/perso.md, "PIN unblock"): the card's
    PUK, released once by perso after the holder's secret questions.

    GET /unblock?card=UUID: the holder's own card only; perso's
    StartPukRelease picks the questions (2, 4 or 5 by the card's level) and
    the form asks them. POST /unblock: the answers go to perso's ReleasePuk
    (checked at validation, all or nothing); the page then shows the PUK
    once, with what to do with it, or says how many tries are left. Perso
    counts wrong answer sets per holder and locks releases after the third
    (TSR_PERSO_PUK_LOCK_S); the portal also limits attempts and failures
    per client address, as for activation codes. The PUK and the answers
    are never logged nor journaled; the page that shows the PUK is wiped
    once libmicrohttpd sent it (body_secret), and not cached
    (Cache-Control: no-store, as every page).
*/
#include "portal_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define S_QUESTIONS_MAX 5

static void
s_audit (portal_request_t *r, const char *card_uuid, const char *outcome, const char *detail)
{
    portal_audit_entry_t entry = { .action = "pin_unblock", .outcome = outcome,
                                   .card_uuid = card_uuid, .detail = detail };
    portal_audit_action (r, &entry);
}

//  The holder's card, or NULL after answering (404, audited).
static const Tessera__V1__Card *
s_card (portal_request_t *r, const Tessera__V1__ListCardsReply *cards, const char *card_uuid)
{
    const Tessera__V1__Card *card = card_uuid && portal_id_valid (card_uuid, PORTAL_BUS_ID_MAX)
                                  ? portal_holder_card (r, cards, card_uuid) : NULL;
    if (!card) {
        s_audit (r, card_uuid, "refused", "not a card of this holder");
        portal_message (r, 404, "card_not_found", NULL, "/cards", "back_to_cards");
    }
    return card;
}

//  The perso refusal (a release awaiting its change, a lock, a card not
//  in a state to unblock) as the holder reads it.
static void
s_refused (portal_request_t *r, const char *card_uuid, tsr_status_t status, const char *message)
{
    s_audit (r, card_uuid, status == S_PRECONDITION ? "refused" : "error", message);
    if (status == S_PRECONDITION)
        portal_message (r, 409, "unblock_refused", message, "/cards", "back_to_cards");
    else
        portal_bus_failure (r, status, message, "unblock_refused");
}

static void
s_form (portal_request_t *r, const Tessera__V1__PukChallenge *challenge)
{
    portal_buf_t rows;
    portal_buf_init (&rows);
    char ids [S_QUESTIONS_MAX * 12] = "";
    size_t used = 0;
    for (size_t i = 0; i < challenge->n_questions && i < S_QUESTIONS_MAX; i++) {
        char number [12];
        snprintf (number, sizeof number, "%u", challenge->questions [i]->question_id);
        used += (size_t) snprintf (ids + used, sizeof ids - used, "%s%s", i ? "," : "", number);
        const portal_var_t vars [] = {
            { "number", number, false },
            { "question", challenge->questions [i]->question, false } };
        char *row = portal_fragment (r, "unblock_question.html", vars, 2);
        if (!row) {
            portal_buf_free (&rows);
            return;
        }
        portal_buf_puts (&rows, row);
        free (row);
    }
    char *rows_html = portal_buf_take (&rows, NULL);
    char attempts [128];
    snprintf (attempts, sizeof attempts, "%s %u", portal_words (r, "attempts_left"),
              challenge->attempts_left);
    const portal_var_t vars [] = {
        { "csrf", r->session.csrf, false }, { "uuid", challenge->card_uuid, false },
        { "id", challenge->challenge_id, false }, { "value", ids, false },
        { "rows", rows_html ? rows_html : "", true }, { "text", attempts, false } };
    char *content = rows_html ? portal_fragment (r, "unblock.html", vars, 6) : NULL;
    free (rows_html);
    if (!content)
        return;
    portal_page (r, 200, portal_words (r, "unblock_title"), content, NULL, NULL);
    free (content);
}

static void
s_start (portal_request_t *r, const Tessera__V1__Card *card)
{
    Tessera__V1__StartPukReleaseRequest request = TESSERA__V1__START_PUK_RELEASE_REQUEST__INIT;
    request.card_uuid = card->card_uuid;
    request.account_id = r->session.account_id;
    Tessera__V1__PukChallenge *challenge = NULL;
    char message [256];
    tsr_status_t status = portal_bus_call (r->portal->bus, PORTAL_SERVICE_PERSO, "StartPukRelease",
                                           &request.base, &tessera__v1__puk_challenge__descriptor,
                                           (ProtobufCMessage **) &challenge, r->trace_id, message,
                                           sizeof message);
    if (status != S_OK) {
        s_refused (r, card->card_uuid, status, message);
        return;
    }
    s_form (r, challenge);
    protobuf_c_message_free_unpacked (&challenge->base, NULL);
}

//  The answers of the form: one answer_<id> per id of question_ids.
//  Returns the count, or 0 when a field is missing or out of bounds.
static size_t
s_answers (portal_request_t *r, Tessera__V1__SecretAnswer *answers,
           Tessera__V1__SecretAnswer **list)
{
    const char *ids = portal_form_get (&r->form, "question_ids");
    size_t count = 0;
    while (ids && *ids && count < S_QUESTIONS_MAX) {
        char *end = NULL;
        unsigned long id = strtoul (ids, &end, 10);
        if (end == ids || id < 1 || id > PORTAL_QUESTIONS_MAX || (*end && *end != ','))
            return 0;
        char name [24];
        snprintf (name, sizeof name, "answer_%lu", id);
        const char *answer = portal_form_get (&r->form, name);
        if (!answer || !portal_text_valid (answer, 1, PORTAL_QUESTION_MAX,
                                           4 * PORTAL_QUESTION_MAX, false))
            return 0;
        tessera__v1__secret_answer__init (&answers [count]);
        answers [count].question_id = (uint32_t) id;
        answers [count].answer = (char *) answer;
        list [count] = &answers [count];
        count++;
        ids = *end ? end + 1 : end;
    }
    return ids && !*ids ? count : 0;
}

static void
s_show_puk (portal_request_t *r, const Tessera__V1__ReleasePukReply *reply)
{
    const portal_var_t vars [] = {
        { "uuid", reply->card_uuid, false }, { "value", reply->puk, false } };
    char *content = portal_fragment (r, "unblock_puk.html", vars, 2);
    if (!content)
        return;
    portal_page (r, 200, portal_words (r, "unblock_title"), content, NULL, NULL);
    r->body_secret = true;
    sodium_memzero (content, strlen (content));
    free (content);
}

static void
s_release (portal_request_t *r, const Tessera__V1__Card *card, const char *challenge_id)
{
    Tessera__V1__SecretAnswer answers [S_QUESTIONS_MAX], *list [S_QUESTIONS_MAX];
    size_t count = s_answers (r, answers, list);
    if (!count || !portal_id_valid (challenge_id, PORTAL_BUS_ID_MAX)) {
        portal_message (r, 400, "unblock_invalid", NULL, "/cards", "back_to_cards");
        return;
    }
    Tessera__V1__ReleasePukRequest request = TESSERA__V1__RELEASE_PUK_REQUEST__INIT;
    request.challenge_id = (char *) challenge_id;
    request.card_uuid = card->card_uuid;
    request.account_id = r->session.account_id;
    request.n_answers = count;
    request.answers = list;
    request.client_address = r->client_address;
    request.user_agent = r->user_agent;
    Tessera__V1__ReleasePukReply *reply = NULL;
    char message [256];
    tsr_status_t status = portal_bus_call (r->portal->bus, PORTAL_SERVICE_PERSO, "ReleasePuk",
                                           &request.base,
                                           &tessera__v1__release_puk_reply__descriptor,
                                           (ProtobufCMessage **) &reply, r->trace_id, message,
                                           sizeof message);
    if (status != S_OK) {
        s_refused (r, card->card_uuid, status, message);
        return;
    }
    if (reply->released) {
        portal_limiter_reset (r->portal->activation_address, r->client_address);
        s_audit (r, card->card_uuid, "ok", "PUK released once");
        s_show_puk (r, reply);
        sodium_memzero (reply->puk, strlen (reply->puk));
    }
    else {
        portal_limiter_fail (r->portal->activation_address, r->client_address, r->now_ms);
        bool locked = reply->locked_until_unix != 0 || reply->attempts_left == 0;
        s_audit (r, card->card_uuid, locked ? "locked" : "failed", "wrong answers");
        if (locked)
            portal_message (r, 423, "unblock_locked", NULL, "/cards", "back_to_cards");
        else {
            char detail [96], link [128];
            snprintf (detail, sizeof detail, "%s %u", portal_words (r, "attempts_left"),
                      reply->attempts_left);
            snprintf (link, sizeof link, "/unblock?card=%s", card->card_uuid);
            portal_message (r, 200, "unblock_wrong", detail, link, "unblock_title");
        }
    }
    protobuf_c_message_free_unpacked (&reply->base, NULL);
}

void
portal_page_unblock (portal_request_t *r)
{
    if (!portal_require_holder (r, true))
        return;
    if (r->is_post && !portal_require_csrf (r))
        return;
    int64_t wait_ms = portal_limiter_attempt (r->portal->activation_address, r->client_address,
                                              r->now_ms);
    if (wait_ms) {
        s_audit (r, NULL, "rate_limited", "client address");
        portal_message (r, 429, "too_many_attempts", NULL, "/cards", "back_to_cards");
        return;
    }
    const char *card_uuid = r->is_post
        ? portal_form_get (&r->form, "card_uuid")
        : MHD_lookup_connection_value (r->connection, MHD_GET_ARGUMENT_KIND, "card");
    Tessera__V1__ListCardsReply *cards = NULL;
    char message [256];
    tsr_status_t status = portal_holder_cards (r, &cards, message, sizeof message);
    if (status != S_OK) {
        portal_bus_failure (r, status, message, "unblock_refused");
        return;
    }
    const Tessera__V1__Card *card = s_card (r, cards, card_uuid);
    if (card && r->is_post)
        s_release (r, card, portal_form_get (&r->form, "challenge_id"));
    else
    if (card)
        s_start (r, card);
    protobuf_c_message_free_unpacked (&cards->base, NULL);
}
