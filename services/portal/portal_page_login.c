/*  Login and logout.

    The login form has its CSRF token like every form: a GET makes an
    anonymous session for it. A successful login makes a new session bound
    to the account (new id, new token) and drops the anonymous one.

    Unknown login and wrong password get the same page: validation answers
    both with authenticated = false, and the portal's own counting does not
    depend on whether the login exists. Attempts are rate limited and
    failures locked out per client address and per login (portal_limiter);
    validation locks the account itself as well (TSR_LOGIN_MAX_FAILURES).
*/
#include "portal_internal.h"
#include "tessera/v1/enrollment.pb-c.h"
#include "tessera/v1/validation.pb-c.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_form (portal_request_t *r, unsigned status, const char *login, const char *notice_kind,
        const char *notice_key)
{
    const portal_var_t vars [] = {
        { "csrf", r->has_session ? r->session.csrf : "", false },
        { "login", login ? login : "", false },
    };
    char *content = portal_fragment (r, "login.html", vars, 2);
    if (!content)
        return;
    portal_page (r, status, portal_words (r, "login_title"), content, notice_kind,
                 notice_key ? portal_words (r, notice_key) : NULL);
    free (content);
}

//  The anonymous session that carries the login form's token.
static bool
s_anonymous_session (portal_request_t *r)
{
    if (r->has_session)
        return true;
    portal_session_t init;
    memset (&init, 0, sizeof init);
    if (portal_sessions_create (r->portal->sessions, &init, r->now_ms, r->session_id, &r->session)) {
        portal_message (r, 503, "service_unavailable", NULL, "/login", "back_to_login");
        return false;
    }
    r->has_session = true;
    portal_set_session_cookie (r, r->session_id);
    return true;
}

//  The holder's name from enrollment, for the page header; the login
//  when enrollment does not answer.
static void
s_display_name (portal_request_t *r, portal_session_t *session)
{
    Tessera__V1__GetPersonRequest request = TESSERA__V1__GET_PERSON_REQUEST__INIT;
    request.person_id = session->person_id;
    ProtobufCMessage *reply = NULL;
    char message [256];
    tsr_status_t status = portal_bus_call_if_up (r->portal->bus, PORTAL_SERVICE_ENROLLMENT,
                                                 "GetPerson", &request.base,
                                                 &tessera__v1__person__descriptor, &reply,
                                                 r->trace_id, message, sizeof message);
    if (status == TESSERA__V1__STATUS__STATUS_OK) {
        Tessera__V1__Person *person = (Tessera__V1__Person *) reply;
        snprintf (session->display_name, sizeof session->display_name, "%s %s",
                  person->given_name, person->surname);
    }
    else
        snprintf (session->display_name, sizeof session->display_name, "%s", session->login);
    protobuf_c_message_free_unpacked (reply, NULL);
}

static void
s_lower (const char *text, char *out, size_t size)
{
    size_t i = 0;
    for (; text && text [i] && i + 1 < size; i++)
        out [i] = (char) tolower ((unsigned char) text [i]);
    out [i] = '\0';
}

static void
s_logged_in (portal_request_t *r, Tessera__V1__LoginReply *reply)
{
    portal_session_t session;
    memset (&session, 0, sizeof session);
    session.authenticated = true;
    snprintf (session.account_id, sizeof session.account_id, "%s", reply->account->account_id);
    snprintf (session.person_id, sizeof session.person_id, "%s", reply->account->person_id);
    snprintf (session.login, sizeof session.login, "%s", reply->account->login);
    snprintf (session.change_token, sizeof session.change_token, "%s",
              reply->password_change_token);
    session.must_change_password = reply->must_change_password
                                || reply->account->must_change_password;
    session.must_set_questions = reply->must_set_secret_questions
                              || reply->account->secret_question_count < PORTAL_QUESTIONS_MIN;
    s_display_name (r, &session);
    //  A new session for the holder; the anonymous one goes.
    if (r->has_session)
        portal_sessions_remove (r->portal->sessions, r->session_id);
    r->has_session = false;
    portal_session_wipe (&r->session);
    char id [PORTAL_SESSION_ID_SIZE];
    if (portal_sessions_create (r->portal->sessions, &session, r->now_ms, id, &r->session)) {
        portal_session_wipe (&session);
        portal_message (r, 503, "service_unavailable", NULL, "/login", "back_to_login");
        return;
    }
    portal_session_wipe (&session);
    r->has_session = true;
    snprintf (r->session_id, sizeof r->session_id, "%s", id);
    sodium_memzero (id, sizeof id);
    portal_set_session_cookie (r, r->session_id);
    portal_audit_entry_t entry = { .action = "login", .outcome = "ok",
                                   .login = r->session.login,
                                   .detail = r->session.must_change_password
                                             ? "one-time password: change required" : NULL };
    portal_audit_action (r, &entry);
    portal_redirect (r, r->session.must_change_password ? "/password"
                      : r->session.must_set_questions ? "/questions" : "/cards");
}

static void
s_attempt (portal_request_t *r)
{
    const char *login = portal_form_get (&r->form, "login");
    const char *password = portal_form_get (&r->form, "password");
    bool login_ok = portal_text_valid (login, 1, PORTAL_LOGIN_MAX, 4 * PORTAL_LOGIN_MAX, false);
    bool password_ok = password && *password && strlen (password) <= PORTAL_PASSWORD_MAX;
    char login_key [4 * PORTAL_LOGIN_MAX + 8];
    s_lower (login_ok ? login : "", login_key, sizeof login_key);
    const char *shown_login = login_ok ? login : "";

    int64_t wait_address = portal_limiter_attempt (r->portal->login_address, r->client_address,
                                                   r->now_ms);
    int64_t wait_account = portal_limiter_attempt (r->portal->login_account, login_key, r->now_ms);
    if (wait_address || wait_account) {
        portal_audit_entry_t entry = { .action = "login", .outcome = "rate_limited",
                                       .login = shown_login,
                                       .detail = wait_address ? "client address" : "login" };
        portal_audit_action (r, &entry);
        s_form (r, 429, shown_login, "error", "too_many_attempts");
        return;
    }
    Tessera__V1__LoginReply *reply = NULL;
    if (login_ok && password_ok) {
        Tessera__V1__LoginRequest request = TESSERA__V1__LOGIN_REQUEST__INIT;
        request.login = (char *) login;
        request.password = (char *) password;
        request.client_address = r->client_address;
        request.user_agent = r->user_agent;
        char message [256];
        tsr_status_t status = portal_bus_call (r->portal->bus, PORTAL_SERVICE_VALIDATION, "Login",
                                               &request.base, &tessera__v1__login_reply__descriptor,
                                               (ProtobufCMessage **) &reply, r->trace_id,
                                               message, sizeof message);
        if (status != TESSERA__V1__STATUS__STATUS_OK) {
            portal_audit_entry_t entry = { .action = "login", .outcome = "error",
                                           .login = shown_login, .detail = message };
            portal_audit_action (r, &entry);
            portal_bus_failure (r, status, message, NULL);
            return;
        }
    }
    if (reply && reply->authenticated && reply->account && *reply->account->account_id) {
        portal_limiter_reset (r->portal->login_account, login_key);
        portal_limiter_reset (r->portal->login_address, r->client_address);
        s_logged_in (r, reply);
    }
    else {
        portal_limiter_fail (r->portal->login_address, r->client_address, r->now_ms);
        portal_limiter_fail (r->portal->login_account, login_key, r->now_ms);
        portal_audit_entry_t entry = { .action = "login", .outcome = "failed",
                                       .login = shown_login,
                                       .detail = login_ok && password_ok ? NULL : "out of bounds" };
        portal_audit_action (r, &entry);
        s_form (r, 200, shown_login, "error", "login_failed");
    }
    if (reply) {
        if (reply->password_change_token)
            sodium_memzero (reply->password_change_token, strlen (reply->password_change_token));
        protobuf_c_message_free_unpacked (&reply->base, NULL);
    }
}

void
portal_page_login (portal_request_t *r)
{
    if (!r->is_post) {
        if (r->has_session && r->session.authenticated) {
            portal_redirect (r, "/cards");
            return;
        }
        if (!s_anonymous_session (r))
            return;
        const char *notice = MHD_lookup_connection_value (r->connection, MHD_GET_ARGUMENT_KIND,
                                                          "notice");
        bool logged_out = notice && strcmp (notice, "logged_out") == 0;
        s_form (r, 200, "", logged_out ? "ok" : NULL, logged_out ? "logged_out" : NULL);
        return;
    }
    if (!portal_require_csrf (r))
        return;
    s_attempt (r);
}

void
portal_page_logout (portal_request_t *r)
{
    if (!portal_require_holder (r, false) || !portal_require_csrf (r))
        return;
    portal_audit_entry_t entry = { .action = "logout", .outcome = "ok" };
    portal_audit_action (r, &entry);
    portal_sessions_remove (r->portal->sessions, r->session_id);
    r->has_session = false;
    portal_set_session_cookie (r, NULL);
    portal_redirect (r, "/login?notice=logged_out");
}
