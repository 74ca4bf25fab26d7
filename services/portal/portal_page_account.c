/*  The holder's account: the new password (forced after a one-time
    password login, proven by the change token the login gave; otherwise
    by the current password) and the secret questions (at least five,
    answers never shown again). Validation checks the rules and keeps only
    hashes; the portal bounds the input and says what was refused.
*/
#include "portal_internal.h"
#include "tessera/v1/validation.pb-c.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_DENIED TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED
#define S_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION

//  --- password -----------------------------------------------------------

static void
s_password_form (portal_request_t *r, unsigned status, const char *notice_text)
{
    bool forced = r->session.must_change_password;
    char *current = NULL;
    if (!forced && !(current = portal_fragment (r, "password_current.html", NULL, 0)))
        return;
    const portal_var_t vars [] = {
        { "csrf", r->session.csrf, false },
        { "intro", portal_words (r, forced ? "password_forced" : "password_title"), false },
        { "current", current ? current : "", true },
    };
    char *content = portal_fragment (r, "password.html", vars, 3);
    free (current);
    if (!content)
        return;
    portal_page (r, status, portal_words (r, "password_title"), content,
                 notice_text ? "error" : NULL, notice_text);
    free (content);
}

static void
s_password_change (portal_request_t *r)
{
    const char *new_password = portal_form_get (&r->form, "new_password");
    const char *confirm = portal_form_get (&r->form, "confirm_password");
    const char *current = portal_form_get (&r->form, "current_password");
    bool forced = r->session.must_change_password;
    if (!new_password || !confirm || !*new_password
    ||  strlen (new_password) > PORTAL_PASSWORD_MAX || strcmp (new_password, confirm) != 0) {
        s_password_form (r, 200, portal_words (r, "password_mismatch"));
        return;
    }
    if (!forced && (!current || !*current || strlen (current) > PORTAL_PASSWORD_MAX)) {
        s_password_form (r, 200, portal_words (r, "current_password_wrong"));
        return;
    }
    //  A wrong current password is a failed login (validation counts it
    //  too): the same limits hold.
    if (!forced && portal_limiter_attempt (r->portal->login_account, r->session.login, r->now_ms)) {
        s_password_form (r, 429, portal_words (r, "too_many_attempts"));
        return;
    }
    Tessera__V1__SetPasswordRequest request = TESSERA__V1__SET_PASSWORD_REQUEST__INIT;
    request.account_id = r->session.account_id;
    if (forced)
        request.password_change_token = r->session.change_token;
    else
        request.current_password = (char *) current;
    request.new_password = (char *) new_password;
    request.client_address = r->client_address;
    request.user_agent = r->user_agent;
    ProtobufCMessage *reply = NULL;
    char message [256];
    tsr_status_t status = portal_bus_call (r->portal->bus, PORTAL_SERVICE_VALIDATION, "SetPassword",
                                           &request.base, &tessera__v1__holder_account__descriptor,
                                           &reply, r->trace_id, message, sizeof message);
    portal_audit_entry_t entry = { .action = "password_change",
                                   .outcome = status == S_OK ? "ok" : "refused",
                                   .detail = status == S_OK ? (forced ? "first login" : NULL)
                                                            : message };
    portal_audit_action (r, &entry);
    if (status == S_INVALID) {
        char text [512];
        snprintf (text, sizeof text, "%s %s", portal_words (r, "password_refused"), message);
        s_password_form (r, 200, text);
        return;
    }
    if (status == S_DENIED && !forced) {
        portal_limiter_fail (r->portal->login_account, r->session.login, r->now_ms);
        s_password_form (r, 200, portal_words (r, "current_password_wrong"));
        return;
    }
    if ((status == S_DENIED || status == S_PRECONDITION) && forced) {
        portal_message (r, 409, "password_token_expired", NULL, "/login", "back_to_login");
        return;
    }
    if (status != S_OK) {
        portal_bus_failure (r, status, message, "password_refused");
        return;
    }
    Tessera__V1__HolderAccount *account = (Tessera__V1__HolderAccount *) reply;
    portal_session_t session = r->session;
    sodium_memzero (session.change_token, sizeof session.change_token);
    session.must_change_password = false;
    session.must_set_questions = account->secret_question_count < PORTAL_QUESTIONS_MIN;
    protobuf_c_message_free_unpacked (reply, NULL);
    portal_sessions_update (r->portal->sessions, r->session_id, &session);
    //  Sessions opened with the old password end; this one goes on.
    portal_sessions_remove_account (r->portal->sessions, r->session.account_id, r->session_id);
    bool questions = session.must_set_questions;
    portal_session_wipe (&session);
    portal_redirect (r, questions ? "/questions" : "/cards?notice=password_changed");
}

void
portal_page_password (portal_request_t *r)
{
    if (!portal_require_holder (r, true))
        return;
    if (!r->is_post) {
        s_password_form (r, 200, NULL);
        return;
    }
    if (portal_require_csrf (r))
        s_password_change (r);
}

//  --- secret questions -----------------------------------------------------

typedef struct {
    char *questions [PORTAL_QUESTIONS_MAX];   //  borrowed, shown again
    size_t count;
} s_rows_t;

static void
s_questions_form (portal_request_t *r, unsigned status, const s_rows_t *rows, const char *notice)
{
    portal_buf_t buf;
    portal_buf_init (&buf);
    size_t count = rows && rows->count > PORTAL_QUESTIONS_MIN ? rows->count : PORTAL_QUESTIONS_MIN;
    for (size_t i = 0; i < count; i++) {
        char number [24], hint_key [40];
        snprintf (number, sizeof number, "%zu", i + 1);
        snprintf (hint_key, sizeof hint_key, "question_hint_%zu", i % PORTAL_QUESTIONS_MIN + 1);
        const portal_var_t vars [] = {
            { "number", number, false },
            { "question", rows && i < rows->count && rows->questions [i] ? rows->questions [i] : "",
              false },
            { "hint", portal_words (r, hint_key), false },
        };
        char *row = portal_fragment (r, "question_row.html", vars, 3);
        if (!row) {
            portal_buf_free (&buf);
            return;
        }
        portal_buf_puts (&buf, row);
        free (row);
    }
    char *row_html = portal_buf_take (&buf, NULL);
    const portal_var_t vars [] = {
        { "csrf", r->session.csrf, false }, { "rows", row_html ? row_html : "", true } };
    char *content = row_html ? portal_fragment (r, "questions.html", vars, 2) : NULL;
    free (row_html);
    if (!content)
        return;
    portal_page (r, status, portal_words (r, "questions_title"), content, notice ? "error" : NULL,
                 notice);
    free (content);
}

//  The holder's current questions, to show them again (never answers).
static void
s_questions_show (portal_request_t *r)
{
    Tessera__V1__GetSecretQuestionsRequest request = TESSERA__V1__GET_SECRET_QUESTIONS_REQUEST__INIT;
    request.account_id = r->session.account_id;
    ProtobufCMessage *reply = NULL;
    char message [256];
    s_rows_t rows;
    memset (&rows, 0, sizeof rows);
    tsr_status_t status = portal_bus_call (r->portal->bus, PORTAL_SERVICE_VALIDATION,
                                           "GetSecretQuestions", &request.base,
                                           &tessera__v1__secret_questions__descriptor, &reply,
                                           r->trace_id, message, sizeof message);
    if (status == S_OK) {
        Tessera__V1__SecretQuestions *questions = (Tessera__V1__SecretQuestions *) reply;
        for (size_t i = 0; i < questions->n_questions && i < PORTAL_QUESTIONS_MAX; i++)
            rows.questions [rows.count++] = questions->questions [i]->question;
    }
    s_questions_form (r, 200, &rows, NULL);
    protobuf_c_message_free_unpacked (reply, NULL);
}

static void
s_questions_save (portal_request_t *r)
{
    Tessera__V1__SecretQuestionAnswer pairs [PORTAL_QUESTIONS_MAX];
    Tessera__V1__SecretQuestionAnswer *pair_list [PORTAL_QUESTIONS_MAX];
    s_rows_t rows;
    memset (&rows, 0, sizeof rows);
    bool complete = true;
    size_t count = 0;
    for (size_t i = 0; i < PORTAL_QUESTIONS_MAX; i++) {
        char name [32];
        snprintf (name, sizeof name, "question_%zu", i + 1);
        const char *question = portal_form_get (&r->form, name);
        snprintf (name, sizeof name, "answer_%zu", i + 1);
        const char *answer = portal_form_get (&r->form, name);
        if (!question && !answer)
            break;
        rows.questions [rows.count++] = (char *) (question ? question : "");
        if (!portal_text_valid (question, 1, PORTAL_QUESTION_MAX, 4 * PORTAL_QUESTION_MAX, false)
        ||  !portal_text_valid (answer, 1, PORTAL_QUESTION_MAX, 4 * PORTAL_QUESTION_MAX, false)) {
            complete = false;
            continue;
        }
        for (size_t j = 0; j < count; j++)
            if (strcasecmp (pairs [j].question, question) == 0)
                complete = false;
        tessera__v1__secret_question_answer__init (&pairs [count]);
        pairs [count].question = (char *) question;
        pairs [count].answer = (char *) answer;
        pair_list [count] = &pairs [count];
        count++;
    }
    if (!complete || count < PORTAL_QUESTIONS_MIN) {
        s_questions_form (r, 200, &rows, portal_words (r, "questions_incomplete"));
        return;
    }
    Tessera__V1__SetSecretQuestionsRequest request = TESSERA__V1__SET_SECRET_QUESTIONS_REQUEST__INIT;
    request.account_id = r->session.account_id;
    request.n_pairs = count;
    request.pairs = pair_list;
    request.client_address = r->client_address;
    request.user_agent = r->user_agent;
    ProtobufCMessage *reply = NULL;
    char message [256];
    tsr_status_t status = portal_bus_call (r->portal->bus, PORTAL_SERVICE_VALIDATION,
                                           "SetSecretQuestions", &request.base,
                                           &tessera__v1__holder_account__descriptor, &reply,
                                           r->trace_id, message, sizeof message);
    protobuf_c_message_free_unpacked (reply, NULL);
    portal_audit_entry_t entry = { .action = "secret_questions",
                                   .outcome = status == S_OK ? "ok" : "refused",
                                   .detail = status == S_OK ? NULL : message };
    portal_audit_action (r, &entry);
    if (status == S_INVALID || status == S_PRECONDITION) {
        char text [512];
        snprintf (text, sizeof text, "%s %s", portal_words (r, "questions_refused"), message);
        s_questions_form (r, 200, &rows, text);
        return;
    }
    if (status != S_OK) {
        portal_bus_failure (r, status, message, "questions_refused");
        return;
    }
    portal_session_t session = r->session;
    session.must_set_questions = false;
    portal_sessions_update (r->portal->sessions, r->session_id, &session);
    portal_session_wipe (&session);
    portal_redirect (r, "/cards?notice=questions_saved");
}

void
portal_page_questions (portal_request_t *r)
{
    if (!portal_require_holder (r, true))
        return;
    if (!r->is_post) {
        s_questions_show (r);
        return;
    }
    if (portal_require_csrf (r))
        s_questions_save (r);
}
