/*  The portal's parts as the page handlers see them: settings, the request
    being answered, and the helpers that render, redirect and check.
    Private to services/portal.
*/
#ifndef PORTAL_INTERNAL_H
#define PORTAL_INTERNAL_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "portal.h"
#include "portal_audit.h"
#include "portal_buf.h"
#include "portal_bus.h"
#include "portal_form.h"
#include "portal_i18n.h"
#include "portal_limiter.h"
#include "portal_session.h"
#include "portal_template.h"
#include "tessera/envelope.h"
#include "tessera/v1/perso.pb-c.h"

#define PORTAL_ADDRESS_SIZE 64
#define PORTAL_USER_AGENT_MAX 256
#define PORTAL_COOKIES_MAX 3
#define PORTAL_COOKIE_SIZE 320
#define PORTAL_LOCATION_SIZE 512

//  Input bounds (docs/portal.md).
#define PORTAL_LOGIN_MAX 254
#define PORTAL_PASSWORD_MAX 128         //  bytes
#define PORTAL_QUESTION_MAX 128         //  characters
#define PORTAL_QUESTIONS_MIN 5
#define PORTAL_QUESTIONS_MAX 10
#define PORTAL_CODE_MAX 64
#define PORTAL_STATEMENT_MAX 1000
#define PORTAL_BUS_ID_MAX 64
#define PORTAL_SERIAL_MAX 64

typedef struct {
    char address [PORTAL_ADDRESS_SIZE];
    long port;
    char *tls_cert_pem;             //  NULL: plain HTTP
    char *tls_key_pem;
    bool cookie_secure;
    long max_connections;
    long max_connections_per_address;
    long connection_timeout_s;
    long max_body;
    long drain_timeout_ms;
} portal_settings_t;

struct _portal_t {
    portal_settings_t settings;
    portal_sessions_t *sessions;
    portal_limiter_t *login_address;
    portal_limiter_t *login_account;
    portal_limiter_t *activation_address;
    portal_limiter_t *activation_account;
    portal_bus_t *bus;
    portal_audit_t *audit;
    struct MHD_Daemon *daemon;
    uint16_t port;
};

typedef struct {
    portal_t *portal;
    struct MHD_Connection *connection;
    const char *method;
    const char *path;
    bool is_post;
    bool is_head;
    char client_address [PORTAL_ADDRESS_SIZE];
    char user_agent [PORTAL_USER_AGENT_MAX + 1];
    char trace_id [TSR_ID_HEX_SIZE];
    portal_lang_t lang;
    int64_t now_ms;
    //  POST bodies, bounded by max_body.
    portal_buf_t body_in;
    bool body_too_large;
    portal_form_t form;
    //  The session the cookie named, if live.
    bool has_session;
    char session_id [PORTAL_SESSION_ID_SIZE];
    portal_session_t session;
    //  The response.
    unsigned status;
    char *body;
    size_t body_size;
    const char *content_type;
    bool body_secret;               //  wiped once sent (the released PUK's page)
    char location [PORTAL_LOCATION_SIZE];
    const char *allow;              //  the Allow header of a 405, or NULL
    char cookies [PORTAL_COOKIES_MAX][PORTAL_COOKIE_SIZE];
    int cookie_count;
} portal_request_t;

//  --- portal_page.c: responses ----------------------------------------------
//  A full page: the layout around content (rendered HTML), with the nav
//  when the session is a holder's and an optional notice (kind "ok" or
//  "error"; text is escaped).
void portal_page (portal_request_t *r, unsigned status, const char *title, const char *content,
                  const char *notice_kind, const char *notice_text);
//  A page with one message (a catalogue key) and a link back.
void portal_message (portal_request_t *r, unsigned status, const char *text_key,
                     const char *detail, const char *link, const char *link_key);
void portal_redirect (portal_request_t *r, const char *location);
//  The session cookie (value NULL: expire it).
void portal_set_session_cookie (portal_request_t *r, const char *value);
void portal_set_cookie (portal_request_t *r, const char *name, const char *value, long max_age_s);
//  Renders a template into a new string (caller frees), or NULL after
//  answering 500 itself.
char *portal_fragment (portal_request_t *r, const char *template_name, const portal_var_t *vars,
                       size_t var_count);
//  The catalogue's text of key in the request's language (the key itself
//  when the catalogue lacks it, so a slip shows, not crashes).
const char *portal_words (portal_request_t *r, const char *key);
//  Records the action (portal_audit), filling the request's address,
//  agent, trace and account.
int portal_audit_action (portal_request_t *r, portal_audit_entry_t *entry);
const char *portal_session_cookie_name (portal_t *portal);

//  --- portal_guard.c: checks before a page runs ------------------------------
//  The holder's session, or false after answering (redirect to the login
//  page, or 403 for a form). When forced is true the forced steps are
//  enforced: password first, then the secret questions.
bool portal_require_holder (portal_request_t *r, bool forced);
//  A form's CSRF token matches the session's, or false after answering 403.
bool portal_require_csrf (portal_request_t *r);
//  A bus status as the holder should read it (503 or the message page).
void portal_bus_failure (portal_request_t *r, tsr_status_t status, const char *message,
                         const char *text_key);

//  Logs a bus failure the page works around (warn, with the trace id).
void portal_bus_log (portal_request_t *r, tsr_status_t status, const char *message);

//  --- pages --------------------------------------------------------------
void portal_page_login (portal_request_t *r);
void portal_page_logout (portal_request_t *r);
void portal_page_password (portal_request_t *r);
void portal_page_questions (portal_request_t *r);
void portal_page_cards (portal_request_t *r);
void portal_page_activate (portal_request_t *r);
void portal_page_accept (portal_request_t *r);
void portal_page_revoke (portal_request_t *r);
void portal_page_unblock (portal_request_t *r);
//  Renders the cards page with a notice (used after an action).
void portal_cards_with_notice (portal_request_t *r, unsigned status, const char *notice_kind,
                               const char *notice_text);

//  --- portal_holder.c: what belongs to the holder --------------------------
//  The holder's cards (perso ListCards by the session's person). STATUS_OK
//  with *cards (free with protobuf_c_message_free_unpacked), or the
//  failure with message.
tsr_status_t portal_holder_cards (portal_request_t *r, Tessera__V1__ListCardsReply **cards,
                                  char *message, size_t message_size);
//  The holder's card with this uuid, or NULL: cards of other persons are
//  never found, whatever perso answered.
const Tessera__V1__Card *portal_holder_card (portal_request_t *r,
                                             const Tessera__V1__ListCardsReply *cards,
                                             const char *card_uuid);
//  True when an active card holds an activation code newer than its
//  activation: a same-card renewal, whose new certificates stay on hold
//  until the holder activates them with the renewal's code.
bool portal_card_renewal_pending (const Tessera__V1__Card *card);
//  The holder's card carrying this serial (hex, any case), or NULL.
const Tessera__V1__Card *portal_holder_card_of_serial (portal_request_t *r,
                                                       const Tessera__V1__ListCardsReply *cards,
                                                       const char *serial_hex,
                                                       const Tessera__V1__CardCertificate **certificate);

//  --- portal_routes.c ----------------------------------------------------
void portal_route (portal_request_t *r);

//  --- portal_settings.c --------------------------------------------------
int portal_settings_read (portal_settings_t *settings, tsr_config_t *config, char *err,
                          size_t err_size);
void portal_settings_free (portal_settings_t *settings);

#endif
