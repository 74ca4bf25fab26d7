/*  tsr_http: the operations endpoint (see http.h) on libmicrohttpd.

    One internal polling thread serves every connection. The handler answers
    on its first call, as soon as the headers are in, and never looks at a
    request body. Connections are capped and time out, so a slow client can
    not hold the port. MHD's error log stays off: this module returns errors
    and never prints.
*/
#include "tessera/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define S_CONNECTION_LIMIT      64
#define S_CONNECTION_TIMEOUT_S  10
#define S_REASON_SIZE           256

#define S_TEXT_PLAIN    "text/plain; charset=utf-8"
#define S_PROMETHEUS    "text/plain; version=0.0.4; charset=utf-8"
#define S_ALLOWED       "GET, HEAD"

struct _tsr_http_t {
    struct MHD_Daemon *daemon;
    tsr_metrics_t *metrics;         //  borrowed, may be NULL
    tsr_http_ready_fn *ready;       //  borrowed, may be NULL
    void *ready_arg;
    uint16_t port;
};

//  Queues one response; MHD copies the body. allow is the Allow header or
//  NULL. MHD sends no body for HEAD on its own.
static enum MHD_Result
s_reply (struct MHD_Connection *connection, unsigned int status,
         const char *content_type, const char *body, const char *allow)
{
    struct MHD_Response *response = MHD_create_response_from_buffer (
        strlen (body), (void *) body, MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    enum MHD_Result rc = MHD_NO;
    if (MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES)
        goto done;
    if (allow && MHD_add_response_header (response, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)
        goto done;
    rc = MHD_queue_response (connection, status, response);
done:
    MHD_destroy_response (response);
    return rc;
}

//  A request carries a body when it says so: a non-zero Content-Length or
//  any Transfer-Encoding (chunked).
static int
s_has_body (struct MHD_Connection *connection)
{
    const char *length = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *encoding = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                        MHD_HTTP_HEADER_TRANSFER_ENCODING);
    return encoding || (length && length [strspn (length, "0")] != '\0');
}

static enum MHD_Result
s_ready (tsr_http_t *self, struct MHD_Connection *connection)
{
    char reason [S_REASON_SIZE] = "";
    if (!self->ready || self->ready (self->ready_arg, reason, sizeof reason))
        return s_reply (connection, MHD_HTTP_OK, S_TEXT_PLAIN, "ready\n", NULL);
    reason [sizeof reason - 1] = '\0';     //  in case the callback did not
    char body [S_REASON_SIZE + 1];
    snprintf (body, sizeof body, "%s\n", *reason ? reason : "not ready");
    return s_reply (connection, MHD_HTTP_SERVICE_UNAVAILABLE, S_TEXT_PLAIN, body, NULL);
}

static enum MHD_Result
s_metrics (tsr_http_t *self, struct MHD_Connection *connection)
{
    if (!self->metrics)
        return s_reply (connection, MHD_HTTP_OK, S_PROMETHEUS, "", NULL);
    char *text = tsr_metrics_render (self->metrics);
    if (!text)
        return s_reply (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, S_TEXT_PLAIN,
                        "out of memory\n", NULL);
    enum MHD_Result rc = s_reply (connection, MHD_HTTP_OK, S_PROMETHEUS, text, NULL);
    free (text);
    return rc;
}

//  Called first when the headers are in (*request_state NULL): we answer
//  then. Checks run path, method, body, so the status names the first thing
//  the client must change. MHD 0.9.75 then sends the response without
//  reading any body and closes the connection; the MHD contract still allows
//  further calls for the same request, and those only drop what they get.
static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *connection, const char *url,
          const char *method, const char *version, const char *upload_data,
          size_t *upload_data_size, void **request_state)
{
    static int s_answered;
    (void) version;
    (void) upload_data;
    tsr_http_t *self = cls;
    if (*request_state) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    *request_state = &s_answered;

    int is_health = strcmp (url, "/healthz") == 0;
    int is_ready = strcmp (url, "/readyz") == 0;
    int is_metrics = strcmp (url, "/metrics") == 0;
    if (!is_health && !is_ready && !is_metrics)
        return s_reply (connection, MHD_HTTP_NOT_FOUND, S_TEXT_PLAIN, "not found\n", NULL);
    if (strcmp (method, MHD_HTTP_METHOD_GET) != 0 && strcmp (method, MHD_HTTP_METHOD_HEAD) != 0)
        return s_reply (connection, MHD_HTTP_METHOD_NOT_ALLOWED, S_TEXT_PLAIN,
                        "method not allowed\n", S_ALLOWED);
    if (*upload_data_size || s_has_body (connection))
        return s_reply (connection, MHD_HTTP_CONTENT_TOO_LARGE, S_TEXT_PLAIN,
                        "request body not allowed\n", NULL);
    if (is_health)
        return s_reply (connection, MHD_HTTP_OK, S_TEXT_PLAIN, "ok\n", NULL);
    if (is_ready)
        return s_ready (self, connection);
    return s_metrics (self, connection);
}

tsr_http_t *
tsr_http_new (const char *bind_address, uint16_t port, tsr_metrics_t *metrics,
              tsr_http_ready_fn *ready, void *ready_arg)
{
    if (!bind_address)
        return NULL;
    struct sockaddr_in address;
    memset (&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons (port);
    if (inet_pton (AF_INET, bind_address, &address.sin_addr) != 1)
        return NULL;

    tsr_http_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->metrics = metrics;
    self->ready = ready;
    self->ready_arg = ready_arg;
    self->daemon = MHD_start_daemon (
        MHD_USE_INTERNAL_POLLING_THREAD, port, NULL, NULL, s_handle, self,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &address,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) S_CONNECTION_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) S_CONNECTION_TIMEOUT_S,
        MHD_OPTION_END);
    if (!self->daemon)
        goto failed;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon,
                                                            MHD_DAEMON_INFO_BIND_PORT);
    if (!info || !info->port)
        goto failed;
    self->port = info->port;
    return self;

failed:
    tsr_http_destroy (&self);
    return NULL;
}

void
tsr_http_destroy (tsr_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsr_http_t *self = *self_p;
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    free (self);
    *self_p = NULL;
}

uint16_t
tsr_http_port (tsr_http_t *self)
{
    return self ? self->port : 0;
}
