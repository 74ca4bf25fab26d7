/*  Unit tests for tsr_trace, the current thread's trace id, and for its
    users that need no database: tsr_log's trace_id field and the trace id
    tsr_bus_client_call puts in the envelope it sends.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <czmq.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/bus.h"
#include "tessera/log.h"
#include "tessera/trace.h"

static void
test_set_get_clear (void **state)
{
    (void) state;
    tsr_trace_clear ();
    assert_null (tsr_trace_get ());
    assert_true (tsr_trace_set ("card-request:42_a.b"));
    assert_string_equal (tsr_trace_get (), "card-request:42_a.b");
    tsr_trace_clear ();
    assert_null (tsr_trace_get ());
}

//  A trace id comes from outside: what breaks the envelope's rule is not
//  kept, and it clears what was there (the new work is not the old one's).
static void
test_refuses_what_breaks_the_rule (void **state)
{
    (void) state;
    char longest [TSR_TRACE_ID_MAX + 2];
    memset (longest, 'a', sizeof longest);
    longest [TSR_TRACE_ID_MAX] = '\0';
    assert_true (tsr_trace_set (longest));
    assert_string_equal (tsr_trace_get (), longest);
    longest [TSR_TRACE_ID_MAX] = 'a';
    longest [TSR_TRACE_ID_MAX + 1] = '\0';
    const char *refused [] = { NULL, "", longest, "with space", "quote\"", "new\nline",
                               "caf\xc3\xa9", "semi;colon", "{json}" };
    for (size_t i = 0; i < sizeof refused / sizeof refused [0]; i++) {
        assert_true (tsr_trace_set ("before"));
        assert_false (tsr_trace_set (refused [i]));
        assert_null (tsr_trace_get ());
    }
}

static void
test_fresh_and_or_current (void **state)
{
    (void) state;
    const char *fresh = tsr_trace_set_fresh ();
    assert_non_null (fresh);
    assert_int_equal (strlen (fresh), 32);
    assert_int_equal (strspn (fresh, "0123456789abcdef"), 32);
    assert_ptr_equal (tsr_trace_get (), fresh);
    char first [TSR_ID_HEX_SIZE];
    snprintf (first, sizeof first, "%s", fresh);
    assert_string_not_equal (tsr_trace_set_fresh (), first);

    tsr_trace_set ("current");
    assert_string_equal (tsr_trace_or_current ("given"), "given");
    assert_string_equal (tsr_trace_or_current (NULL), "current");
    assert_string_equal (tsr_trace_or_current (""), "current");
    tsr_trace_clear ();
    assert_null (tsr_trace_or_current (NULL));
    assert_null (tsr_trace_or_current (""));
    assert_string_equal (tsr_trace_or_current ("given"), "given");
}

#define S_THREADS 4
#define S_ROUNDS 20000

typedef struct {
    int index;
    int mismatches;
} s_thread_arg_t;

static void *
s_thread (void *arg)
{
    s_thread_arg_t *self = arg;
    char mine [32];
    snprintf (mine, sizeof mine, "thread-%d", self->index);
    if (tsr_trace_get ())               //  a new thread starts without one
        self->mismatches++;
    for (int round = 0; round < S_ROUNDS; round++) {
        tsr_trace_set (mine);
        const char *seen = tsr_trace_get ();
        if (!seen || strcmp (seen, mine) != 0)
            self->mismatches++;
        if (round % 2)
            tsr_trace_clear ();
    }
    return NULL;
}

//  Each thread sees only its own: workers handle different requests at once.
static void
test_threads_do_not_share (void **state)
{
    (void) state;
    tsr_trace_set ("main-thread");
    pthread_t threads [S_THREADS];
    s_thread_arg_t args [S_THREADS];
    for (int i = 0; i < S_THREADS; i++) {
        args [i] = (s_thread_arg_t) { .index = i };
        assert_int_equal (pthread_create (&threads [i], NULL, s_thread, &args [i]), 0);
    }
    for (int i = 0; i < S_THREADS; i++) {
        assert_int_equal (pthread_join (threads [i], NULL), 0);
        assert_int_equal (args [i].mismatches, 0);
    }
    assert_string_equal (tsr_trace_get (), "main-thread");
    tsr_trace_clear ();
}

//  Runs one tsr_log call with stderr sent to a temporary file; the line
//  written (heap, caller frees).
static char *
s_logged (const char *trace_id, const char *event)
{
    fflush (stderr);
    FILE *capture = tmpfile ();
    assert_non_null (capture);
    int saved = dup (STDERR_FILENO);
    assert_true (saved >= 0);
    assert_true (dup2 (fileno (capture), STDERR_FILENO) >= 0);
    tsr_log_info (trace_id, event, "field", "value", NULL);
    assert_true (dup2 (saved, STDERR_FILENO) >= 0);
    close (saved);
    rewind (capture);
    char *line = calloc (1, 1024);
    assert_non_null (line);
    assert_non_null (fgets (line, 1024, capture));
    fclose (capture);
    return line;
}

static void
test_log_uses_the_current_trace_id (void **state)
{
    (void) state;
    tsr_log_init ("unit", TSR_LOG_INFO);
    tsr_trace_set ("req-7f3a");
    char *line = s_logged (NULL, "test.null_trace");
    assert_non_null (strstr (line, "\"trace_id\":\"req-7f3a\""));
    assert_non_null (strstr (line, "\"event\":\"test.null_trace\""));
    free (line);
    line = s_logged ("", "test.empty_trace");
    assert_non_null (strstr (line, "\"trace_id\":\"req-7f3a\""));
    free (line);
    //  The caller's own trace id wins.
    line = s_logged ("explicit-1", "test.explicit_trace");
    assert_non_null (strstr (line, "\"trace_id\":\"explicit-1\""));
    assert_null (strstr (line, "req-7f3a"));
    free (line);
    //  Outside any request: no trace_id field at all.
    tsr_trace_clear ();
    line = s_logged (NULL, "test.no_trace");
    assert_null (strstr (line, "trace_id"));
    free (line);
}

//  What a tsr_bus_client_call with trace_id trace sends, read by a bare
//  ROUTER (CURVE server, no reply: the call times out).
static tsr_envelope_t *
s_sent_envelope (const char *trace_id)
{
    zcert_t *server_cert = zcert_new ();
    zcert_t *client_cert = zcert_new ();
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    assert_non_null (router);
    zcert_apply (server_cert, router);
    zsock_set_curve_server (router, 1);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    tsr_bus_client_t *client = tsr_bus_client_new (endpoint, client_cert,
                                                   zcert_public_txt (server_cert), 300, 0);
    assert_non_null (client);
    tsr_envelope_t *reply = tsr_bus_client_call (client, "Ping", NULL, 0, NULL, trace_id);
    assert_null (reply);
    zsock_set_rcvtimeo (router, 2000);
    zmsg_t *msg = zmsg_recv (router);
    assert_non_null (msg);
    assert_int_equal (zmsg_size (msg), 2);
    zframe_t *route = zmsg_pop (msg);
    zframe_t *frame = zmsg_pop (msg);
    tsr_status_t status;
    char err [128];
    tsr_envelope_t *sent = tsr_envelope_decode (zframe_data (frame), zframe_size (frame),
                                                &status, err, sizeof err);
    assert_non_null (sent);
    zframe_destroy (&route);
    zframe_destroy (&frame);
    zmsg_destroy (&msg);
    tsr_bus_client_destroy (&client);
    zsock_destroy (&router);
    zcert_destroy (&client_cert);
    zcert_destroy (&server_cert);
    return sent;
}

static void
test_bus_call_carries_the_current_trace_id (void **state)
{
    (void) state;
    tsr_trace_set ("chain-42");
    tsr_envelope_t *sent = s_sent_envelope (NULL);
    assert_string_equal (sent->trace_id, "chain-42");
    tsr_envelope_free (&sent);
    sent = s_sent_envelope ("");
    assert_string_equal (sent->trace_id, "chain-42");
    tsr_envelope_free (&sent);
    sent = s_sent_envelope ("given-trace");
    assert_string_equal (sent->trace_id, "given-trace");
    tsr_envelope_free (&sent);
    //  Outside any request: a fresh one per call.
    tsr_trace_clear ();
    sent = s_sent_envelope (NULL);
    assert_int_equal (strlen (sent->trace_id), 32);
    tsr_envelope_free (&sent);
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_set_get_clear),
        cmocka_unit_test (test_refuses_what_breaks_the_rule),
        cmocka_unit_test (test_fresh_and_or_current),
        cmocka_unit_test (test_threads_do_not_share),
        cmocka_unit_test (test_log_uses_the_current_trace_id),
        cmocka_unit_test (test_bus_call_carries_the_current_trace_id),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
