/*  portal: the object, its parts, and libmicrohttpd's side of each request
    (see portal.h).

    One thread per connection (MHD_USE_THREAD_PER_CONNECTION): a page waits
    on bus calls, and a thread of its own keeps the other holders' pages
    moving. Connections are capped in all and per address, and time out.
    A request's headers are bounded by MHD's per-connection memory (32 KiB);
    a body only comes with POST, as application/x-www-form-urlencoded with a
    Content-Length of at most TSR_PORTAL_MAX_BODY (anything else is refused
    before it is read).
*/
#include "portal_internal.h"
#include "tessera/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_FORM_TYPE "application/x-www-form-urlencoded"

static void
s_client_address (portal_request_t *r)
{
    snprintf (r->client_address, sizeof r->client_address, "unknown");
    const union MHD_ConnectionInfo *info = MHD_get_connection_info (
        r->connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr)
        return;
    const struct sockaddr *address = info->client_addr;
    if (address->sa_family == AF_INET)
        inet_ntop (AF_INET, &((const struct sockaddr_in *) address)->sin_addr,
                   r->client_address, sizeof r->client_address);
    else
    if (address->sa_family == AF_INET6)
        inet_ntop (AF_INET6, &((const struct sockaddr_in6 *) address)->sin6_addr,
                   r->client_address, sizeof r->client_address);
}

//  The browser's User-Agent as the services accept it: printable ASCII, at
//  most PORTAL_USER_AGENT_MAX characters (anything else becomes '?').
static void
s_user_agent (portal_request_t *r)
{
    const char *agent = MHD_lookup_connection_value (r->connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_USER_AGENT);
    size_t i = 0;
    for (; agent && agent [i] && i < PORTAL_USER_AGENT_MAX; i++) {
        unsigned char c = (unsigned char) agent [i];
        r->user_agent [i] = c >= 0x20 && c < 0x7F ? (char) c : '?';
    }
    r->user_agent [i] = '\0';
}

static void
s_language (portal_request_t *r)
{
    const char *chosen = MHD_lookup_connection_value (r->connection, MHD_COOKIE_KIND, "tsr_lang");
    if (portal_lang_parse (chosen, &r->lang))
        return;
    r->lang = portal_lang_negotiate (
        MHD_lookup_connection_value (r->connection, MHD_HEADER_KIND,
                                     MHD_HTTP_HEADER_ACCEPT_LANGUAGE),
        PORTAL_LANG_FR);
}

static void
s_session (portal_request_t *r)
{
    const char *id = MHD_lookup_connection_value (r->connection, MHD_COOKIE_KIND,
                                                  portal_session_cookie_name (r->portal));
    if (id && portal_sessions_find (r->portal->sessions, id, r->now_ms, &r->session) == 0) {
        r->has_session = true;
        snprintf (r->session_id, sizeof r->session_id, "%s", id);
    }
}

static void
s_request_free (portal_request_t *r)
{
    if (!r)
        return;
    portal_form_clear (&r->form);
    portal_buf_free (&r->body_in);
    portal_session_wipe (&r->session);
    free (r->body);
    sodium_memzero (r, sizeof *r);
    free (r);
}

static void
s_completed (void *cls, struct MHD_Connection *connection, void **con_cls,
             enum MHD_RequestTerminationCode code)
{
    (void) cls;
    (void) connection;
    (void) code;
    s_request_free (*con_cls);
    *con_cls = NULL;
}

//  Headers every answer carries: no caching of holders' pages, no framing,
//  no scripts, no referrer, and HSTS over TLS.
static int
s_security_headers (portal_request_t *r, struct MHD_Response *response)
{
    static const char *s_headers [][2] = {
        { "Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; "
          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'" },
        { "X-Content-Type-Options", "nosniff" },
        { "X-Frame-Options", "DENY" },
        { "Referrer-Policy", "no-referrer" },
        { "Cache-Control", "no-store" },
        { "Cross-Origin-Opener-Policy", "same-origin" },
    };
    for (size_t i = 0; i < sizeof s_headers / sizeof s_headers [0]; i++)
        if (MHD_add_response_header (response, s_headers [i][0], s_headers [i][1]) != MHD_YES)
            return -1;
    if (r->portal->settings.tls_cert_pem
    &&  MHD_add_response_header (response, "Strict-Transport-Security",
                                 "max-age=31536000") != MHD_YES)
        return -1;
    return 0;
}

//  A page holding a secret (a released PUK, a NUL-terminated page) is
//  wiped when libmicrohttpd is done with it.
static void
s_wipe_free (void *body)
{
    if (body)
        sodium_memzero (body, strlen (body));
    free (body);
}

static enum MHD_Result
s_send (portal_request_t *r)
{
    if (!r->status) {
        r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        free (r->body);
        r->body = strdup ("internal error\n");
        r->body_size = r->body ? strlen (r->body) : 0;
        r->content_type = "text/plain; charset=utf-8";
    }
    struct MHD_Response *response = r->body && r->body_secret
        ? MHD_create_response_from_buffer_with_free_callback (r->body_size, r->body, s_wipe_free)
        : MHD_create_response_from_buffer (r->body_size, r->body ? r->body : (void *) "",
                                           r->body ? MHD_RESPMEM_MUST_FREE
                                                   : MHD_RESPMEM_PERSISTENT);
    if (!response)
        return MHD_NO;
    r->body = NULL;                 //  MHD frees it now
    enum MHD_Result rc = MHD_NO;
    if (s_security_headers (r, response))
        goto done;
    if (r->content_type
    &&  MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type) != MHD_YES)
        goto done;
    if (*r->location
    &&  MHD_add_response_header (response, MHD_HTTP_HEADER_LOCATION, r->location) != MHD_YES)
        goto done;
    if (r->allow && MHD_add_response_header (response, MHD_HTTP_HEADER_ALLOW, r->allow) != MHD_YES)
        goto done;
    for (int i = 0; i < r->cookie_count; i++)
        if (MHD_add_response_header (response, MHD_HTTP_HEADER_SET_COOKIE, r->cookies [i]) != MHD_YES)
            goto done;
    rc = MHD_queue_response (r->connection, r->status, response);
done:
    MHD_destroy_response (response);
    return rc;
}

//  Plain refusals before any page runs (no layout: nothing is known yet).
static enum MHD_Result
s_refuse (portal_request_t *r, unsigned status, const char *text, const char *allow)
{
    r->status = status;
    r->body = strdup (text);
    r->body_size = r->body ? strlen (r->body) : 0;
    r->content_type = "text/plain; charset=utf-8";
    if (allow) {
        struct MHD_Response *response = MHD_create_response_from_buffer (
            r->body_size, r->body ? r->body : (void *) "", MHD_RESPMEM_MUST_COPY);
        if (!response)
            return MHD_NO;
        enum MHD_Result rc = MHD_NO;
        if (s_security_headers (r, response) == 0
        &&  MHD_add_response_header (response, MHD_HTTP_HEADER_ALLOW, allow) == MHD_YES
        &&  MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type) == MHD_YES)
            rc = MHD_queue_response (r->connection, status, response);
        MHD_destroy_response (response);
        return rc;
    }
    return s_send (r);
}

//  The first call of a request: its headers are in. Returns MHD_YES to go
//  on (read the body), or the result of an early refusal.
static enum MHD_Result
s_begin (portal_request_t *r, bool *answered)
{
    *answered = true;
    if (r->is_post) {
        const char *type = MHD_lookup_connection_value (r->connection, MHD_HEADER_KIND,
                                                        MHD_HTTP_HEADER_CONTENT_TYPE);
        const char *length = MHD_lookup_connection_value (r->connection, MHD_HEADER_KIND,
                                                          MHD_HTTP_HEADER_CONTENT_LENGTH);
        const char *encoding = MHD_lookup_connection_value (r->connection, MHD_HEADER_KIND,
                                                            MHD_HTTP_HEADER_TRANSFER_ENCODING);
        if (!type || strncasecmp (type, S_FORM_TYPE, strlen (S_FORM_TYPE)) != 0
        ||  (type [strlen (S_FORM_TYPE)] != '\0' && type [strlen (S_FORM_TYPE)] != ';'))
            return s_refuse (r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "forms only\n", NULL);
        char *end = NULL;
        unsigned long long size = length ? strtoull (length, &end, 10) : 0;
        if (encoding || !length || !*length || *end)
            return s_refuse (r, MHD_HTTP_LENGTH_REQUIRED, "Content-Length required\n", NULL);
        if (size > (unsigned long long) r->portal->settings.max_body)
            return s_refuse (r, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large\n", NULL);
    }
    else
    if (!r->is_head && strcmp (r->method, MHD_HTTP_METHOD_GET) != 0)
        return s_refuse (r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "GET, HEAD, POST");
    else {
        const char *length = MHD_lookup_connection_value (r->connection, MHD_HEADER_KIND,
                                                          MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (MHD_lookup_connection_value (r->connection, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_TRANSFER_ENCODING)
        ||  (length && length [strspn (length, "0")] != '\0'))
            return s_refuse (r, MHD_HTTP_CONTENT_TOO_LARGE, "request body not allowed\n", NULL);
    }
    *answered = false;
    return MHD_YES;
}

static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void) version;
    portal_t *self = cls;
    portal_request_t *r = *con_cls;
    if (!r) {
        r = calloc (1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        r->portal = self;
        r->connection = connection;
        r->method = method;
        r->path = url;
        r->is_post = strcmp (method, MHD_HTTP_METHOD_POST) == 0;
        r->is_head = strcmp (method, MHD_HTTP_METHOD_HEAD) == 0;
        r->now_ms = tsr_now_ms ();
        tsr_random_id (r->trace_id);
        portal_buf_init (&r->body_in);
        s_client_address (r);
        s_user_agent (r);
        s_language (r);
        bool answered = false;
        enum MHD_Result rc = s_begin (r, &answered);
        if (answered || rc != MHD_YES)
            return rc;
        if (!r->is_post || !*upload_data_size)
            return MHD_YES;     //  MHD calls again (with the body, then with 0)
    }
    if (r->status) {                //  already answered: drop what comes
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        //  Content-Length was checked; this holds against a lying client.
        if (r->body_in.len + *upload_data_size > (size_t) self->settings.max_body)
            return MHD_NO;
        portal_buf_append (&r->body_in, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return r->body_in.failed ? MHD_NO : MHD_YES;
    }
    if (r->is_post) {
        char err [128];
        if (portal_form_parse (&r->form, r->body_in.data ? r->body_in.data : "", r->body_in.len,
                               err, sizeof err)) {
            portal_buf_free (&r->body_in);
            s_session (r);
            portal_message (r, MHD_HTTP_BAD_REQUEST, "bad_request", NULL, "/", "back_to_cards");
            return s_send (r);
        }
        portal_buf_free (&r->body_in);
    }
    s_session (r);
    portal_route (r);
    return s_send (r);
}

static int
s_limits (portal_t *self, tsr_config_t *config, char *err, size_t err_size)
{
    long window_s = 0, lockout_s = 0, login_failures = 0, login_address_failures = 0,
         login_address_attempts = 0, activation_failures = 0, activation_address_failures = 0,
         sessions = 0, idle_s = 0, max_s = 0, form_s = 0;
    if (tsr_config_get_long (config, "TSR_PORTAL_ATTEMPT_WINDOW_S", 900, 1, 86400, &window_s,
                             err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_LOCKOUT_S", 900, 1, 86400, &lockout_s,
                             err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_LOGIN_MAX_FAILURES", 5, 1, 1000,
                             &login_failures, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_LOGIN_ADDRESS_MAX_FAILURES", 20, 1, 100000,
                             &login_address_failures, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_LOGIN_ADDRESS_MAX_ATTEMPTS", 100, 0, 100000,
                             &login_address_attempts, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_ACTIVATION_MAX_FAILURES", 5, 1, 1000,
                             &activation_failures, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_ACTIVATION_ADDRESS_MAX_FAILURES", 10, 1, 100000,
                             &activation_address_failures, err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_SESSIONS", 10000, 16, 1000000, &sessions,
                             err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_SESSION_IDLE_S", 900, 10, 86400, &idle_s,
                             err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_SESSION_MAX_S", 28800, 60, 604800, &max_s,
                             err, err_size)
    ||  tsr_config_get_long (config, "TSR_PORTAL_LOGIN_FORM_S", 1800, 10, 86400, &form_s,
                             err, err_size))
        return -1;
    portal_sessions_config_t session_config = {
        (size_t) sessions, idle_s * 1000, form_s * 1000, max_s * 1000 };
    portal_limit_t login_address = {
        "login.address", (unsigned) login_address_attempts, (unsigned) login_address_failures,
        window_s * 1000, lockout_s * 1000, 65536 };
    portal_limit_t login_account = {
        "login.account", 0, (unsigned) login_failures, window_s * 1000, lockout_s * 1000, 65536 };
    portal_limit_t activation_address = {
        "activation.address", 0, (unsigned) activation_address_failures, window_s * 1000,
        lockout_s * 1000, 16384 };
    portal_limit_t activation_account = {
        "activation.account", 0, (unsigned) activation_failures, window_s * 1000,
        lockout_s * 1000, 16384 };
    self->sessions = portal_sessions_new (&session_config);
    self->login_address = portal_limiter_new (&login_address);
    self->login_account = portal_limiter_new (&login_account);
    self->activation_address = portal_limiter_new (&activation_address);
    self->activation_account = portal_limiter_new (&activation_account);
    if (!self->sessions || !self->login_address || !self->login_account
    ||  !self->activation_address || !self->activation_account) {
        snprintf (err, err_size, "out of memory");
        return -1;
    }
    return 0;
}

static int
s_start (portal_t *self, char *err, size_t err_size)
{
    struct sockaddr_in address;
    memset (&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons ((uint16_t) self->settings.port);
    if (inet_pton (AF_INET, self->settings.address, &address.sin_addr) != 1) {
        snprintf (err, err_size, "TSR_PORTAL_ADDRESS: not an IPv4 address");
        return -1;
    }
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD
                       | MHD_USE_ITC;
    bool tls = self->settings.tls_cert_pem != NULL;
    if (tls && MHD_is_feature_supported (MHD_FEATURE_TLS) != MHD_YES) {
        snprintf (err, err_size, "this libmicrohttpd has no TLS: serve behind a TLS proxy");
        return -1;
    }
    if (tls)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_options [] = {
        { MHD_OPTION_HTTPS_MEM_CERT, 0, self->settings.tls_cert_pem },
        { MHD_OPTION_HTTPS_MEM_KEY, 0, self->settings.tls_key_pem },
        { MHD_OPTION_HTTPS_PRIORITIES, 0, (void *) "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" },
        { MHD_OPTION_END, 0, NULL }
    };
    struct MHD_OptionItem no_options [] = { { MHD_OPTION_END, 0, NULL } };
    self->daemon = MHD_start_daemon (
        flags, (uint16_t) self->settings.port, NULL, NULL, s_handle, self,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &address,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) self->settings.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) self->settings.max_connections_per_address,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) self->settings.connection_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 32768,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_ARRAY, tls ? tls_options : no_options,
        MHD_OPTION_END);
    if (!self->daemon) {
        snprintf (err, err_size, "cannot serve on %s:%ld%s", self->settings.address,
                  self->settings.port, tls ? " (or the TLS certificate or key is unusable)" : "");
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info && info->port ? info->port : (uint16_t) self->settings.port;
    return 0;
}

portal_t *
portal_new (tsr_config_t *config, char *err, size_t err_size)
{
    if (sodium_init () < 0) {
        snprintf (err, err_size, "libsodium does not start");
        return NULL;
    }
    portal_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    if (portal_settings_read (&self->settings, config, err, err_size)
    ||  s_limits (self, config, err, err_size))
        goto failed;
    self->bus = portal_bus_new (config, err, err_size);
    if (!self->bus)
        goto failed;
    self->audit = portal_audit_new (tsr_config_get (config, "TSR_PORTAL_AUDIT_FILE", NULL),
                                    err, err_size);
    if (!self->audit || s_start (self, err, err_size))
        goto failed;
    return self;
failed:
    portal_destroy (&self);
    return NULL;
}

int
portal_drain (portal_t *self, int timeout_ms)
{
    if (!self || !self->daemon)
        return 0;
    MHD_socket listener = MHD_quiesce_daemon (self->daemon);
    if (listener != MHD_INVALID_SOCKET)
        close (listener);
    if (timeout_ms < 0)
        timeout_ms = (int) self->settings.drain_timeout_ms;
    int64_t deadline = tsr_now_ms () + timeout_ms;
    unsigned int open = 0;
    do {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info (
            self->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        open = info ? info->num_connections : 0;
        if (open)
            usleep (20000);
    } while (open && tsr_now_ms () < deadline);
    return (int) open;
}

void
portal_destroy (portal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    portal_t *self = *self_p;
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    portal_bus_destroy (&self->bus);
    portal_audit_destroy (&self->audit);
    portal_sessions_destroy (&self->sessions);
    portal_limiter_destroy (&self->login_address);
    portal_limiter_destroy (&self->login_account);
    portal_limiter_destroy (&self->activation_address);
    portal_limiter_destroy (&self->activation_account);
    portal_settings_free (&self->settings);
    free (self);
    *self_p = NULL;
}

uint16_t
portal_port (portal_t *self)
{
    return self ? self->port : 0;
}

int
portal_tls (portal_t *self)
{
    return self && self->settings.tls_cert_pem;
}
