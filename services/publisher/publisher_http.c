/*  publisher_http: the public endpoint's daemon, routes, CRLs and
    certificates (see publisher_http.h; OCSP is in publisher_http_ocsp.c).

    A pool of TSR_PUBLISH_THREADS threads serves the connections; the
    connections are capped and time out, so a slow client can not hold the
    port. MHD's error log stays off: failures show in the answers and the
    metrics.
*/
#include "publisher_http_internal.h"
#include "publisher_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

//  Signed OCSP answers kept: a slot per request, each at most a minute
//  (publisher_ocsp_cache.h): about 4 MiB at most.
#define S_OCSP_CACHE_SLOTS 4096
#define S_OCSP_CACHE_LIFETIME_S 60
#define S_CONNECTION_LIMIT 256
#define S_CONNECTION_TIMEOUT_S 10
#define S_MEMORY_LIMIT (32 * 1024)
#define S_NAME_MAX 16
#define S_TEXT "text/plain; charset=utf-8"

//  The markers of a request answered (s_answered) and of a GET or HEAD
//  without a body to answer at its end (s_pending). A response queued at
//  the headers makes libmicrohttpd close the connection after it (the body
//  it did not read is discarded): the requests that will be answered
//  anyway wait for the end, so that the connection is kept alive.
static int s_answered, s_pending;

enum MHD_Result
publisher_http_reply (struct MHD_Connection *connection, unsigned int status,
                      const char *content_type, const void *body, size_t size, ...)
{
    struct MHD_Response *response = MHD_create_response_from_buffer (
        size, (void *) body, MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    bool ok = MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                       content_type) == MHD_YES;
    va_list headers;
    va_start (headers, size);
    const char *name;
    while (ok && (name = va_arg (headers, const char *))) {
        const char *value = va_arg (headers, const char *);
        ok = MHD_add_response_header (response, name, value) == MHD_YES;
    }
    va_end (headers);
    enum MHD_Result rc = ok ? MHD_queue_response (connection, status, response) : MHD_NO;
    MHD_destroy_response (response);
    return rc;
}

static enum MHD_Result
s_text (struct MHD_Connection *connection, unsigned int status, const char *text)
{
    return publisher_http_reply (connection, status, S_TEXT, text, strlen (text),
                                 MHD_HTTP_HEADER_CACHE_CONTROL, "no-store", NULL);
}

//  Splits "/crl/<name>.crl", "/crl/<name>-delta.crl", "/ca/<name>.crt"
//  into name and kind. false when the path is none of them.
static bool
s_parse (const char *url, char name [S_NAME_MAX + 1], publisher_object_kind_t *kind)
{
    const char *rest, *suffix;
    if (strncmp (url, "/crl/", 5) == 0) {
        rest = url + 5;
        suffix = ".crl";
        *kind = PUBLISHER_OBJECT_CRL;
    }
    else
    if (strncmp (url, "/ca/", 4) == 0) {
        rest = url + 4;
        suffix = ".crt";
        *kind = PUBLISHER_OBJECT_CA_CERT;
    }
    else
        return false;
    size_t length = strlen (rest);
    if (length <= 4 || strcmp (rest + length - 4, suffix) != 0)
        return false;
    length -= 4;
    if (*kind == PUBLISHER_OBJECT_CRL && length > 6 && strncmp (rest + length - 6, "-delta", 6) == 0) {
        length -= 6;
        *kind = PUBLISHER_OBJECT_DELTA;
    }
    if (length == 0 || length > S_NAME_MAX)
        return false;
    for (size_t i = 0; i < length; i++)
        if (!((rest [i] >= 'a' && rest [i] <= 'z') || (rest [i] >= '0' && rest [i] <= '9')))
            return false;
    memcpy (name, rest, length);
    name [length] = 0;
    if (*kind == PUBLISHER_OBJECT_CA_CERT && strcmp (name, "root") == 0) {
        snprintf (name, S_NAME_MAX + 1, "%s", PUBLISHER_CURRENT_NAME);
        *kind = PUBLISHER_OBJECT_ROOT_CERT;
    }
    return true;
}

//  A CRL or a certificate, with its caching headers.
static enum MHD_Result
s_object (publisher_http_t *self, struct MHD_Connection *connection, const char *url)
{
    publisher_state_t *state = self->state;
    char name [S_NAME_MAX + 1];
    publisher_object_kind_t kind;
    if (!s_parse (url, name, &kind)) {
        tsr_counter_inc (state->metrics.http_requests, "not_found", 1);
        return s_text (connection, MHD_HTTP_NOT_FOUND, "not found\n");
    }
    static const char *routes [] = { "crl", "delta_crl", "ca_certificate", "root_certificate" };
    tsr_counter_inc (state->metrics.http_requests, routes [kind], 1);
    publisher_object_t object;
    int found = publisher_cache_get (state->cache, name, kind, &object);
    if (found == 1)
        return s_text (connection, MHD_HTTP_NOT_FOUND, "no such issuer\n");
    if (found != 0) {
        char retry [24];
        snprintf (retry, sizeof retry, "%ld", state->retry_s);
        const char *text = found == 2 ? "not published yet: the ca's key may be inactive\n"
                                      : "out of memory\n";
        return publisher_http_reply (connection, MHD_HTTP_SERVICE_UNAVAILABLE, S_TEXT, text,
                                     strlen (text), MHD_HTTP_HEADER_RETRY_AFTER, retry,
                                     MHD_HTTP_HEADER_CACHE_CONTROL, "no-store", NULL);
    }
    //  max-age: bounded by the configuration and, for a CRL, by its
    //  nextUpdate (a cache must not serve it past then).
    int64_t now = (int64_t) time (NULL);
    long max_age = state->max_age_s;
    if (object.expires && object.expires - now < max_age)
        max_age = object.expires - now > 0 ? (long) (object.expires - now) : 0;
    char cache_control [64], last_modified [32], expires [32];
    snprintf (cache_control, sizeof cache_control, "public, no-transform, max-age=%ld", max_age);
    publisher_http_date (object.last_modified, last_modified);
    publisher_http_date (object.expires, expires);
    const char *type = kind == PUBLISHER_OBJECT_CRL || kind == PUBLISHER_OBJECT_DELTA
                     ? "application/pkix-crl" : "application/pkix-cert";
    const char *match = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_IF_NONE_MATCH);
    bool not_modified = match && strstr (match, object.etag) != NULL;
    enum MHD_Result rc = publisher_http_reply (
        connection, not_modified ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, type, object.der,
        not_modified ? 0 : object.size,
        MHD_HTTP_HEADER_ETAG, object.etag, MHD_HTTP_HEADER_LAST_MODIFIED, last_modified,
        MHD_HTTP_HEADER_CACHE_CONTROL, cache_control,
        object.expires ? MHD_HTTP_HEADER_EXPIRES : NULL, expires, NULL);
    publisher_object_release (&object);
    return rc;
}

static bool
s_has_body (struct MHD_Connection *connection)
{
    const char *length = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *encoding = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                        MHD_HTTP_HEADER_TRANSFER_ENCODING);
    return encoding || (length && length [strspn (length, "0")] != '\0');
}

//  The first call of a request, when its headers are in.
static enum MHD_Result
s_start (publisher_http_t *self, struct MHD_Connection *connection, const char *url,
         const char *method, void **request_state)
{
    bool get = strcmp (method, MHD_HTTP_METHOD_GET) == 0 || strcmp (method, MHD_HTTP_METHOD_HEAD) == 0;
    bool post = strcmp (method, MHD_HTTP_METHOD_POST) == 0;
    if (post && (strcmp (url, "/ocsp") == 0 || strcmp (url, "/ocsp/") == 0)) {
        publisher_http_upload_t *upload = calloc (1, sizeof *upload);
        if (!upload)
            return MHD_NO;
        *request_state = upload;
        publisher_http_ocsp_refuse_early (self, connection, upload);
        return MHD_YES;
    }
    *request_state = &s_answered;
    bool ocsp = strcmp (url, "/ocsp") == 0 || strncmp (url, "/ocsp/", 6) == 0;
    if (ocsp && !(get && url [5] == '/' && url [6])) {
        const char *text = "POST the request, or GET /ocsp/<base64 request>\n";
        return publisher_http_reply (connection, MHD_HTTP_METHOD_NOT_ALLOWED, S_TEXT, text,
                                     strlen (text), MHD_HTTP_HEADER_ALLOW, "POST, GET", NULL);
    }
    if (!get) {
        const char *text = "method not allowed\n";
        return publisher_http_reply (connection, MHD_HTTP_METHOD_NOT_ALLOWED, S_TEXT, text,
                                     strlen (text), MHD_HTTP_HEADER_ALLOW, "GET, HEAD", NULL);
    }
    if (s_has_body (connection))
        return s_text (connection, MHD_HTTP_BAD_REQUEST, "a GET request has no body\n");
    *request_state = &s_pending;
    return MHD_YES;
}

//  The end of a GET or HEAD without a body: its answer.
static enum MHD_Result
s_get (publisher_http_t *self, struct MHD_Connection *connection, const char *url)
{
    if (strcmp (url, "/ocsp") == 0 || strncmp (url, "/ocsp/", 6) == 0)
        return publisher_http_ocsp_get (self, connection, url + 6);
    return s_object (self, connection, url);
}

static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size,
          void **request_state)
{
    (void) version;
    publisher_http_t *self = cls;
    if (!*request_state)
        return s_start (self, connection, url, method, request_state);
    if (*request_state == &s_answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*request_state == &s_pending) {
        *request_state = &s_answered;
        if (*upload_data_size) {
            *upload_data_size = 0;
            return s_text (connection, MHD_HTTP_BAD_REQUEST, "a GET request has no body\n");
        }
        return s_get (self, connection, url);
    }
    return publisher_http_ocsp_post (self, connection, *request_state, upload_data,
                                     upload_data_size);
}

static void
s_completed (void *cls, struct MHD_Connection *connection, void **request_state,
             enum MHD_RequestTerminationCode code)
{
    (void) cls;
    (void) connection;
    (void) code;
    if (*request_state && *request_state != &s_answered && *request_state != &s_pending) {
        publisher_http_upload_t *upload = *request_state;
        free (upload->body);
        free (upload);
    }
    *request_state = NULL;
}

publisher_http_t *
publisher_http_new (publisher_state_t *state, char *err, size_t err_size)
{
    struct sockaddr_in address;
    memset (&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons ((uint16_t) state->publish_port);
    if (inet_pton (AF_INET, state->publish_address, &address.sin_addr) != 1) {
        snprintf (err, err_size, "TSR_PUBLISH_ADDRESS must be an IPv4 address, not %s",
                  state->publish_address);
        return NULL;
    }
    publisher_http_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    self->state = state;
    self->ocsp_cache = publisher_ocsp_cache_new (S_OCSP_CACHE_SLOTS, S_OCSP_CACHE_LIFETIME_S);
    if (!self->ocsp_cache) {
        free (self);
        return NULL;
    }
    self->daemon = MHD_start_daemon (
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO, (uint16_t) state->publish_port, NULL, NULL, s_handle, self,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &address,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int) state->publish_threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) S_CONNECTION_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) S_CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) S_MEMORY_LIMIT,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL,
        MHD_OPTION_END);
    const union MHD_DaemonInfo *info = self->daemon
        ? MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!info || !info->port) {
        snprintf (err, err_size, "cannot serve the public endpoint on %s:%ld (TSR_PUBLISH_PORT)",
                  state->publish_address, state->publish_port);
        publisher_http_destroy (&self);
        return NULL;
    }
    self->port = info->port;
    return self;
}

void
publisher_http_destroy (publisher_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    publisher_http_t *self = *self_p;
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    publisher_ocsp_cache_destroy (&self->ocsp_cache);
    free (self);
    *self_p = NULL;
}

uint16_t
publisher_http_port (publisher_http_t *self)
{
    return self ? self->port : 0;
}
