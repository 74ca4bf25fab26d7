/*  Which page answers which path and method. Any other path is 404, any
    other method 405: the portal serves nothing it does not list here.
*/
#include "portal_internal.h"

#include <stdlib.h>
#include <string.h>

#define S_YEAR_S (365L * 86400L)

static void
s_text (portal_request_t *r, unsigned status, const char *content_type, const char *text)
{
    free (r->body);
    r->body = strdup (text);
    r->body_size = r->body ? strlen (text) : 0;
    r->content_type = content_type;
    r->status = r->body ? status : 500;
}

//  The language switch: a cookie, then back to the page (one of ours).
static void
s_language (portal_request_t *r)
{
    static const char *s_pages [] = { "/login", "/cards", "/password", "/questions" };
    const char *code = MHD_lookup_connection_value (r->connection, MHD_GET_ARGUMENT_KIND, "l");
    const char *next = MHD_lookup_connection_value (r->connection, MHD_GET_ARGUMENT_KIND, "next");
    portal_lang_t lang;
    if (!portal_lang_parse (code, &lang)) {
        portal_message (r, 400, "bad_request", NULL, "/", "back_to_cards");
        return;
    }
    const char *location = "/";
    for (size_t i = 0; next && i < sizeof s_pages / sizeof s_pages [0]; i++)
        if (strcmp (next, s_pages [i]) == 0)
            location = s_pages [i];
    portal_set_cookie (r, "tsr_lang", portal_lang_code (lang), S_YEAR_S);
    portal_redirect (r, location);
}

typedef struct {
    const char *path;
    void (*page) (portal_request_t *r);
    bool get;
    bool post;
} s_route_t;

static void
s_home (portal_request_t *r)
{
    portal_redirect (r, r->has_session && r->session.authenticated ? "/cards" : "/login");
}

static void
s_stylesheet (portal_request_t *r)
{
    s_text (r, 200, "text/css; charset=utf-8", portal_asset ("portal.css"));
}

static void
s_health (portal_request_t *r)
{
    s_text (r, 200, "text/plain; charset=utf-8", "ok\n");
}

static const s_route_t s_routes [] = {
    { "/", s_home, true, false },
    { "/healthz", s_health, true, false },
    { "/static/portal.css", s_stylesheet, true, false },
    { "/lang", s_language, true, false },
    { "/login", portal_page_login, true, true },
    { "/logout", portal_page_logout, false, true },
    { "/password", portal_page_password, true, true },
    { "/questions", portal_page_questions, true, true },
    { "/cards", portal_page_cards, true, false },
    { "/activate", portal_page_activate, false, true },
    { "/accept", portal_page_accept, false, true },
    { "/revoke", portal_page_revoke, true, true },
    { "/unblock", portal_page_unblock, true, true },
};

void
portal_route (portal_request_t *r)
{
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes [0]; i++) {
        const s_route_t *route = &s_routes [i];
        if (strcmp (r->path, route->path) != 0)
            continue;
        if ((r->is_post && !route->post) || (!r->is_post && !route->get)) {
            portal_message (r, 405, "method_not_allowed", NULL, "/", "back_to_cards");
            r->allow = route->post ? (route->get ? "GET, HEAD, POST" : "POST") : "GET, HEAD";
            return;
        }
        route->page (r);
        return;
    }
    portal_message (r, 404, "not_found", NULL, "/", "back_to_cards");
}
