/*  Responses: full pages in the layout, message pages, redirects and
    cookies. Every page goes through portal_render, so every value is
    escaped on the way out.
*/
#include "portal_internal.h"
#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_HTML "text/html; charset=utf-8"

const char *
portal_session_cookie_name (portal_t *portal)
{
    //  The __Host- prefix: only set over TLS, for this host, Path=/.
    return portal->settings.cookie_secure ? "__Host-tsr_session" : "tsr_session";
}

const char *
portal_words (portal_request_t *r, const char *key)
{
    const char *text = portal_text (r->lang, key);
    return text ? text : key;
}

static void
s_internal_error (portal_request_t *r, const char *why)
{
    tsr_log_error (r->trace_id, "portal.render_failed", "reason", why, "path", r->path, NULL);
    free (r->body);
    r->body = strdup ("internal error\n");
    r->body_size = r->body ? strlen (r->body) : 0;
    r->content_type = "text/plain; charset=utf-8";
    r->status = 500;
}

char *
portal_fragment (portal_request_t *r, const char *template_name, const portal_var_t *vars,
                 size_t var_count)
{
    portal_buf_t buf;
    portal_buf_init (&buf);
    char err [160];
    if (portal_render (&buf, template_name, r->lang, vars, var_count, err, sizeof err)) {
        portal_buf_free (&buf);
        s_internal_error (r, err);
        return NULL;
    }
    char *text = portal_buf_take (&buf, NULL);
    if (!text)
        s_internal_error (r, "out of memory");
    return text;
}

//  The path the language links come back to: pages only, never a
//  caller-chosen address.
static const char *
s_return_path (const char *path)
{
    static const char *s_paths [] = { "/login", "/cards", "/password", "/questions" };
    for (size_t i = 0; path && i < sizeof s_paths / sizeof s_paths [0]; i++)
        if (strcmp (path, s_paths [i]) == 0)
            return s_paths [i];
    return "/";
}

void
portal_page (portal_request_t *r, unsigned status, const char *title, const char *content,
             const char *notice_kind, const char *notice_text)
{
    char *nav = NULL, *notice = NULL;
    if (r->has_session && r->session.authenticated) {
        const portal_var_t vars [] = {
            { "name", *r->session.display_name ? r->session.display_name : r->session.login, false },
            { "csrf", r->session.csrf, false },
        };
        nav = portal_fragment (r, "nav.html", vars, 2);
        if (!nav)
            return;
    }
    if (notice_text) {
        const portal_var_t vars [] = {
            { "kind", notice_kind ? notice_kind : "ok", false }, { "text", notice_text, false } };
        notice = portal_fragment (r, "notice.html", vars, 2);
        if (!notice) {
            free (nav);
            return;
        }
    }
    const portal_var_t vars [] = {
        { "lang", portal_lang_code (r->lang), false },
        { "title", title, false },
        { "path", s_return_path (r->path), false },
        { "nav", nav ? nav : "", true },
        { "notice", notice ? notice : "", true },
        { "content", content ? content : "", true },
    };
    char *html = portal_fragment (r, "layout.html", vars, sizeof vars / sizeof vars [0]);
    free (nav);
    free (notice);
    if (!html)
        return;
    free (r->body);
    r->body = html;
    r->body_size = strlen (html);
    r->content_type = S_HTML;
    r->status = status;
}

void
portal_message (portal_request_t *r, unsigned status, const char *text_key, const char *detail,
                const char *link, const char *link_key)
{
    char message [1024];
    snprintf (message, sizeof message, "%s%s%s", portal_words (r, text_key),
              detail && *detail ? " " : "", detail && *detail ? detail : "");
    const portal_var_t vars [] = {
        { "message", message, false },
        { "link", link, false },
        { "link_text", portal_words (r, link_key), false },
    };
    char *content = portal_fragment (r, "message.html", vars, 3);
    if (!content)
        return;
    portal_page (r, status, portal_words (r, status >= 400 ? "error_title" : "portal_name"),
                 content, NULL, NULL);
    free (content);
}

void
portal_redirect (portal_request_t *r, const char *location)
{
    free (r->body);
    r->body = NULL;
    r->body_size = 0;
    r->content_type = NULL;
    snprintf (r->location, sizeof r->location, "%s", location);
    r->status = 303;
}

void
portal_set_cookie (portal_request_t *r, const char *name, const char *value, long max_age_s)
{
    if (r->cookie_count >= PORTAL_COOKIES_MAX)
        return;
    //  max_age_s < 0: no Max-Age, a cookie gone when the browser closes.
    char max_age [32] = "";
    if (max_age_s >= 0)
        snprintf (max_age, sizeof max_age, "; Max-Age=%ld", max_age_s);
    snprintf (r->cookies [r->cookie_count++], PORTAL_COOKIE_SIZE,
              "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", name, value ? value : "",
              r->portal->settings.cookie_secure ? "; Secure" : "", max_age);
}

void
portal_set_session_cookie (portal_request_t *r, const char *value)
{
    portal_set_cookie (r, portal_session_cookie_name (r->portal), value ? value : "",
                       value ? -1 : 0);
}

int
portal_audit_action (portal_request_t *r, portal_audit_entry_t *entry)
{
    entry->trace_id = r->trace_id;
    entry->client_address = r->client_address;
    entry->user_agent = r->user_agent;
    if (!entry->account_id && r->has_session && r->session.authenticated)
        entry->account_id = r->session.account_id;
    return portal_audit_record (r->portal->audit, entry);
}
