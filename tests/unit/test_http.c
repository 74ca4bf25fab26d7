/*  Unit tests for tsr_http: a real server on 127.0.0.1 (ephemeral port),
    driven by a plain TCP client that writes raw HTTP/1.1, so the tests see
    exactly what a scraper or a load balancer would.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tessera/http.h"
#include "tessera/metrics.h"

#define S_RESPONSE_SIZE  65536
#define S_TIMEOUT_S      5

typedef struct {
    tsr_metrics_t *metrics;
    tsr_http_t *http;
    atomic_int ready;
} s_fixture_t;

//  The ready callback runs on the HTTP thread; the flag is atomic.
static int
s_ready (void *arg, char *reason, size_t reason_size)
{
    s_fixture_t *fixture = arg;
    if (atomic_load (&fixture->ready))
        return 1;
    snprintf (reason, reason_size, "database unreachable");
    return 0;
}

//  Sends request as is and reads the whole response (the requests say
//  Connection: close) into response. Returns the byte count or -1.
static ssize_t
s_exchange (uint16_t port, const char *request, char *response, size_t response_size)
{
    ssize_t total = -1;
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval timeout = { S_TIMEOUT_S, 0 };
    struct sockaddr_in address;
    memset (&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons (port);
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0
    ||  connect (fd, (struct sockaddr *) &address, sizeof address) != 0)
        goto done;
    size_t length = strlen (request);
    for (size_t sent = 0; sent < length; ) {
        ssize_t rc = send (fd, request + sent, length - sent, MSG_NOSIGNAL);
        if (rc <= 0)
            goto done;
        sent += (size_t) rc;
    }
    size_t received = 0;
    while (received < response_size - 1) {
        ssize_t rc = recv (fd, response + received, response_size - 1 - received, 0);
        if (rc < 0)
            goto done;
        if (rc == 0)
            break;
        received += (size_t) rc;
    }
    response [received] = '\0';
    total = (ssize_t) received;
done:
    close (fd);
    return total;
}

//  Requests path with method, optional extra header lines (each ending in
//  CRLF) and an optional raw request body; returns the status code, with
//  body pointing into response after the blank line.
static int
s_request (s_fixture_t *fixture, const char *method, const char *path, const char *headers,
           const char *request_body, char *response, size_t response_size, const char **body)
{
    char request [1024];
    snprintf (request, sizeof request,
              "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n%s",
              method, path, headers ? headers : "", request_body ? request_body : "");
    ssize_t received = s_exchange (tsr_http_port (fixture->http), request,
                                   response, response_size);
    assert_true (received > 0);
    assert_memory_equal (response, "HTTP/1.1 ", 9);
    const char *blank = strstr (response, "\r\n\r\n");
    assert_non_null (blank);
    *body = blank + 4;
    char *end = NULL;
    long status = strtol (response + 9, &end, 10);
    assert_true (end && *end == ' ');
    return (int) status;
}

//  Case-insensitive header lookup, good enough for these tests.
static int
s_has_header (const char *response, const char *header_line)
{
    char needle [256];
    snprintf (needle, sizeof needle, "\r\n%s\r\n", header_line);
    const char *blank = strstr (response, "\r\n\r\n");
    size_t length = strlen (needle);
    for (const char *p = response; p && p <= blank; p++)
        if (strncasecmp (p, needle, length) == 0)
            return 1;
    return 0;
}

static int
s_setup (void **state)
{
    s_fixture_t *fixture = calloc (1, sizeof *fixture);
    if (!fixture)
        return -1;
    atomic_init (&fixture->ready, 1);
    fixture->metrics = tsr_metrics_new ("test");
    tsr_counter_t *counter = tsr_metrics_counter (fixture->metrics, "tessera_requests_total",
                                                  "Requests by method", "method");
    tsr_counter_inc (counter, "Ping", 3);
    fixture->http = tsr_http_new ("127.0.0.1", 0, fixture->metrics, s_ready, fixture);
    if (!fixture->metrics || !counter || !fixture->http) {
        tsr_http_destroy (&fixture->http);
        tsr_metrics_destroy (&fixture->metrics);
        free (fixture);
        return -1;
    }
    *state = fixture;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *fixture = *state;
    tsr_http_destroy (&fixture->http);
    assert_null (fixture->http);
    tsr_http_destroy (&fixture->http);      //  already NULL: safe
    tsr_http_destroy (NULL);
    tsr_metrics_destroy (&fixture->metrics);
    free (fixture);
    return 0;
}

static void
test_port (void **state)
{
    s_fixture_t *fixture = *state;
    assert_int_not_equal (tsr_http_port (fixture->http), 0);
    assert_int_equal (tsr_http_port (NULL), 0);
}

static void
test_healthz (void **state)
{
    s_fixture_t *fixture = *state;
    char response [S_RESPONSE_SIZE];
    const char *body;
    assert_int_equal (s_request (fixture, "GET", "/healthz", NULL, NULL, response,
                                 sizeof response, &body), 200);
    assert_string_equal (body, "ok\n");
    assert_true (s_has_header (response, "Content-Type: text/plain; charset=utf-8"));
}

static void
test_readyz (void **state)
{
    s_fixture_t *fixture = *state;
    char response [S_RESPONSE_SIZE];
    const char *body;
    assert_int_equal (s_request (fixture, "GET", "/readyz", NULL, NULL, response,
                                 sizeof response, &body), 200);
    assert_string_equal (body, "ready\n");

    atomic_store (&fixture->ready, 0);
    assert_int_equal (s_request (fixture, "GET", "/readyz", NULL, NULL, response,
                                 sizeof response, &body), 503);
    assert_string_equal (body, "database unreachable\n");
    assert_true (s_has_header (response, "Content-Type: text/plain; charset=utf-8"));

    atomic_store (&fixture->ready, 1);
    assert_int_equal (s_request (fixture, "GET", "/readyz", NULL, NULL, response,
                                 sizeof response, &body), 200);
}

static void
test_metrics (void **state)
{
    s_fixture_t *fixture = *state;
    char response [S_RESPONSE_SIZE];
    const char *body;
    assert_int_equal (s_request (fixture, "GET", "/metrics", NULL, NULL, response,
                                 sizeof response, &body), 200);
    assert_non_null (strstr (body, "# TYPE tessera_requests_total counter\n"));
    assert_non_null (strstr (body,
        "tessera_requests_total{service=\"test\",method=\"Ping\"} 3\n"));
    assert_true (s_has_header (response,
        "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
}

static void
test_not_found (void **state)
{
    s_fixture_t *fixture = *state;
    char response [S_RESPONSE_SIZE];
    const char *body;
    assert_int_equal (s_request (fixture, "GET", "/nope", NULL, NULL, response,
                                 sizeof response, &body), 404);
    assert_int_equal (s_request (fixture, "GET", "/healthz/", NULL, NULL, response,
                                 sizeof response, &body), 404);
    //  Unknown path wins over a wrong method: there is nothing there at all.
    assert_int_equal (s_request (fixture, "POST", "/nope", NULL, NULL, response,
                                 sizeof response, &body), 404);
}

static void
test_method_not_allowed (void **state)
{
    s_fixture_t *fixture = *state;
    char response [S_RESPONSE_SIZE];
    const char *body;
    assert_int_equal (s_request (fixture, "POST", "/healthz", NULL, NULL, response,
                                 sizeof response, &body), 405);
    assert_true (s_has_header (response, "Allow: GET, HEAD"));
    assert_int_equal (s_request (fixture, "DELETE", "/metrics", NULL, NULL, response,
                                 sizeof response, &body), 405);
    //  A POST with a body is 405 too: the method is checked before the
    //  body, so the client learns the first thing it must change.
    assert_int_equal (s_request (fixture, "POST", "/readyz",
                                 "Content-Length: 5\r\n", "hello", response,
                                 sizeof response, &body), 405);
}

static void
test_body_refused (void **state)
{
    s_fixture_t *fixture = *state;
    char response [S_RESPONSE_SIZE];
    const char *body;
    //  GET is allowed on the path, so a body on it is the problem: 413.
    assert_int_equal (s_request (fixture, "GET", "/healthz",
                                 "Content-Length: 5\r\n", "hello", response,
                                 sizeof response, &body), 413);
    assert_string_equal (body, "request body not allowed\n");
    assert_int_equal (s_request (fixture, "GET", "/metrics",
                                 "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n",
                                 response, sizeof response, &body), 413);
    //  An explicit empty body is no body.
    assert_int_equal (s_request (fixture, "GET", "/healthz", "Content-Length: 0\r\n", NULL,
                                 response, sizeof response, &body), 200);
}

static void
test_head (void **state)
{
    s_fixture_t *fixture = *state;
    char response [S_RESPONSE_SIZE];
    const char *body;
    assert_int_equal (s_request (fixture, "HEAD", "/healthz", NULL, NULL, response,
                                 sizeof response, &body), 200);
    assert_string_equal (body, "");
    assert_int_equal (s_request (fixture, "HEAD", "/metrics", NULL, NULL, response,
                                 sizeof response, &body), 200);
    assert_string_equal (body, "");
}

static void
test_new_refuses (void **state)
{
    s_fixture_t *fixture = *state;
    assert_null (tsr_http_new (NULL, 0, NULL, NULL, NULL));
    assert_null (tsr_http_new ("localhost", 0, NULL, NULL, NULL));
    assert_null (tsr_http_new ("::1", 0, NULL, NULL, NULL));
    //  The fixture's port is taken.
    assert_null (tsr_http_new ("127.0.0.1", tsr_http_port (fixture->http),
                               NULL, NULL, NULL));
}

static void
test_defaults (void **state)
{
    (void) state;
    //  No ready callback: always ready. No registry: an empty exposition.
    s_fixture_t bare;
    memset (&bare, 0, sizeof bare);
    bare.http = tsr_http_new ("127.0.0.1", 0, NULL, NULL, NULL);
    assert_non_null (bare.http);
    char response [S_RESPONSE_SIZE];
    const char *body;
    assert_int_equal (s_request (&bare, "GET", "/readyz", NULL, NULL, response,
                                 sizeof response, &body), 200);
    assert_int_equal (s_request (&bare, "GET", "/metrics", NULL, NULL, response,
                                 sizeof response, &body), 200);
    assert_string_equal (body, "");
    tsr_http_destroy (&bare.http);
    assert_null (bare.http);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_port, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_healthz, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_readyz, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_metrics, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_not_found, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_method_not_allowed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_body_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_head, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_new_refuses, s_setup, s_teardown),
        cmocka_unit_test (test_defaults),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
