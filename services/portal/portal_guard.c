/*  Checks that run before a page does: a holder's session, the forced
    steps of a first login, the CSRF token of every form; and how a bus
    failure reaches the holder.
*/
#include "portal_internal.h"
#include "tessera/log.h"

#include <string.h>

bool
portal_require_holder (portal_request_t *r, bool forced)
{
    if (!r->has_session || !r->session.authenticated) {
        if (r->is_post)
            portal_message (r, 403, "session_expired", NULL, "/login", "back_to_login");
        else
            portal_redirect (r, "/login");
        return false;
    }
    if (!forced)
        return true;
    //  A first login goes password, then questions, before anything else.
    if (r->session.must_change_password && strcmp (r->path, "/password") != 0) {
        portal_redirect (r, "/password");
        return false;
    }
    if (!r->session.must_change_password && r->session.must_set_questions
    &&  strcmp (r->path, "/questions") != 0 && strcmp (r->path, "/password") != 0) {
        portal_redirect (r, "/questions");
        return false;
    }
    return true;
}

bool
portal_require_csrf (portal_request_t *r)
{
    const char *token = portal_form_get (&r->form, "csrf_token");
    if (r->has_session && portal_sessions_csrf_ok (&r->session, token))
        return true;
    portal_audit_entry_t entry = {
        .action = "csrf_refused", .outcome = "refused", .detail = r->path,
        .account_id = r->has_session && r->session.authenticated ? r->session.account_id : NULL };
    portal_audit_action (r, &entry);
    bool holder = r->has_session && r->session.authenticated;
    portal_message (r, 403, r->has_session ? "csrf_refused" : "session_expired", NULL,
                    holder ? "/cards" : "/login", holder ? "back_to_cards" : "back_to_login");
    return false;
}

void
portal_bus_failure (portal_request_t *r, tsr_status_t status, const char *message,
                    const char *text_key)
{
    const char *back = r->has_session && r->session.authenticated ? "/cards" : "/login";
    const char *back_key = r->has_session && r->session.authenticated ? "back_to_cards"
                                                                      : "back_to_login";
    switch (status) {
        case TESSERA__V1__STATUS__STATUS_NOT_FOUND:
            portal_message (r, 404, "card_not_found", NULL, back, back_key);
            return;
        case TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT:
        case TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION:
        case TESSERA__V1__STATUS__STATUS_ALREADY_EXISTS:
            portal_message (r, status == TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT ? 400 : 409,
                            text_key ? text_key : "service_unavailable", message, back, back_key);
            return;
        default:
            //  The holder can do nothing about these: the detail goes to
            //  the log under the trace id, the page says "later".
            tsr_log_warn (r->trace_id, "portal.bus_failed", "status", tsr_status_name (status),
                          "message", message ? message : "", "path", r->path, NULL);
            portal_message (r, 503, "service_unavailable", NULL, back, back_key);
            return;
    }
}

void
portal_bus_log (portal_request_t *r, tsr_status_t status, const char *message)
{
    tsr_log_warn (r->trace_id, "portal.bus_failed", "status", tsr_status_name (status),
                  "message", message ? message : "", "path", r->path, NULL);
}
