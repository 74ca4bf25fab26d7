/*  Unit tests for tsr_metrics: the rendered text is what Prometheus scrapes,
    so the tests assert on exact exposition lines.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/metrics.h"

#define S_THREADS       4
#define S_INCREMENTS    100000

//  Asserts that text contains line as a whole line.
static void
s_assert_line (const char *text, const char *line)
{
    size_t len = strlen (line);
    for (const char *p = text; (p = strstr (p, line)) != NULL; p++)
        if ((p == text || p [-1] == '\n') && p [len] == '\n')
            return;
    fail_msg ("line not found: %s\n--- in ---\n%s", line, text);
}

static void
test_new_destroy (void **state)
{
    (void) state;
    assert_null (tsr_metrics_new (NULL));
    assert_null (tsr_metrics_new (""));
    tsr_metrics_t *metrics = tsr_metrics_new ("ca");
    assert_non_null (metrics);
    char *text = tsr_metrics_render (metrics);
    assert_non_null (text);
    assert_string_equal (text, "");
    free (text);
    tsr_metrics_destroy (&metrics);
    assert_null (metrics);
    tsr_metrics_destroy (&metrics);
    tsr_metrics_destroy (NULL);
    assert_null (tsr_metrics_render (NULL));
}

static void
test_counter_render (void **state)
{
    (void) state;
    tsr_metrics_t *metrics = tsr_metrics_new ("ca");
    assert_non_null (metrics);
    tsr_counter_t *requests = tsr_metrics_counter (metrics, "tessera_requests_total",
                                                   "Requests by method", "method");
    tsr_counter_t *starts = tsr_metrics_counter (metrics, "tessera_starts_total",
                                                 "Process starts", NULL);
    assert_non_null (requests);
    assert_non_null (starts);
    //  The same name again is the same family.
    assert_ptr_equal (tsr_metrics_counter (metrics, "tessera_requests_total", "x", "method"),
                      requests);
    //  ...but not as another kind.
    assert_null (tsr_metrics_gauge (metrics, "tessera_requests_total", "x", NULL));

    tsr_counter_inc (requests, "Ping", 1);
    tsr_counter_inc (requests, "Ping", 2);
    tsr_counter_inc (requests, "Issue", 5);
    tsr_counter_inc (starts, NULL, 1);

    char *text = tsr_metrics_render (metrics);
    assert_non_null (text);
    s_assert_line (text, "# HELP tessera_requests_total Requests by method");
    s_assert_line (text, "# TYPE tessera_requests_total counter");
    s_assert_line (text, "tessera_requests_total{service=\"ca\",method=\"Ping\"} 3");
    s_assert_line (text, "tessera_requests_total{service=\"ca\",method=\"Issue\"} 5");
    s_assert_line (text, "# HELP tessera_starts_total Process starts");
    s_assert_line (text, "# TYPE tessera_starts_total counter");
    s_assert_line (text, "tessera_starts_total{service=\"ca\"} 1");
    //  Families render in declaration order, HELP before TYPE before samples.
    const char *help = strstr (text, "# HELP tessera_requests_total");
    const char *type = strstr (text, "# TYPE tessera_requests_total");
    const char *sample = strstr (text, "tessera_requests_total{");
    const char *second = strstr (text, "# HELP tessera_starts_total");
    assert_true (help < type && type < sample && sample < second);
    free (text);
    tsr_metrics_destroy (&metrics);
}

static void
test_unlabelled_renders_zero (void **state)
{
    (void) state;
    tsr_metrics_t *metrics = tsr_metrics_new ("ra");
    assert_non_null (metrics);
    assert_non_null (tsr_metrics_counter (metrics, "tessera_errors_total", "Errors", NULL));
    assert_non_null (tsr_metrics_counter (metrics, "tessera_calls_total", "Calls", "method"));
    char *text = tsr_metrics_render (metrics);
    assert_non_null (text);
    s_assert_line (text, "tessera_errors_total{service=\"ra\"} 0");
    //  A labelled family has no series until the first observation.
    assert_null (strstr (text, "tessera_calls_total{"));
    free (text);
    tsr_metrics_destroy (&metrics);
}

static void
test_gauge (void **state)
{
    (void) state;
    tsr_metrics_t *metrics = tsr_metrics_new ("ca");
    assert_non_null (metrics);
    tsr_gauge_t *in_flight = tsr_metrics_gauge (metrics, "tessera_in_flight",
                                                "Requests in flight", NULL);
    tsr_gauge_t *ratio = tsr_metrics_gauge (metrics, "tessera_ratio", "Ratio", "pool");
    assert_non_null (in_flight);
    assert_non_null (ratio);
    tsr_gauge_set (in_flight, NULL, 3);
    tsr_gauge_add (in_flight, NULL, -1.5);
    tsr_gauge_set (ratio, "a", 0.1);
    tsr_gauge_add (ratio, "b", INFINITY);

    char *text = tsr_metrics_render (metrics);
    assert_non_null (text);
    s_assert_line (text, "# TYPE tessera_in_flight gauge");
    s_assert_line (text, "tessera_in_flight{service=\"ca\"} 1.5");
    s_assert_line (text, "tessera_ratio{service=\"ca\",pool=\"a\"} 0.1");
    s_assert_line (text, "tessera_ratio{service=\"ca\",pool=\"b\"} +Inf");
    free (text);
    tsr_metrics_destroy (&metrics);
}

static void
test_escaping (void **state)
{
    (void) state;
    tsr_metrics_t *metrics = tsr_metrics_new ("c\"a");
    assert_non_null (metrics);
    tsr_counter_t *counter = tsr_metrics_counter (
        metrics, "tessera_odd_total", "Help with \\ and \"quote\"\nand a newline", "method");
    assert_non_null (counter);
    tsr_counter_inc (counter, "a\"b\\c\nd", 7);

    char *text = tsr_metrics_render (metrics);
    assert_non_null (text);
    //  HELP escapes backslash and newline only; label values also the quote.
    s_assert_line (text, "# HELP tessera_odd_total Help with \\\\ and \"quote\"\\nand a newline");
    s_assert_line (text, "tessera_odd_total{service=\"c\\\"a\",method=\"a\\\"b\\\\c\\nd\"} 7");
    free (text);
    tsr_metrics_destroy (&metrics);
}

static void
test_label_overflow (void **state)
{
    (void) state;
    tsr_metrics_t *metrics = tsr_metrics_new ("ca");
    assert_non_null (metrics);
    tsr_counter_t *counter = tsr_metrics_counter (metrics, "tessera_calls_total",
                                                  "Calls", "method");
    assert_non_null (counter);
    char value [32];
    for (int i = 0; i < TSR_METRICS_MAX_LABEL_VALUES + 3; i++) {
        snprintf (value, sizeof value, "m%d", i);
        tsr_counter_inc (counter, value, 1);
    }
    //  Values already known keep their own series when the family is full.
    tsr_counter_inc (counter, "m0", 1);
    //  Values too long to store go to "other" too.
    char long_value [300];
    memset (long_value, 'x', sizeof long_value - 1);
    long_value [sizeof long_value - 1] = '\0';
    tsr_counter_inc (counter, long_value, 1);

    char *text = tsr_metrics_render (metrics);
    assert_non_null (text);
    s_assert_line (text, "tessera_calls_total{service=\"ca\",method=\"m0\"} 2");
    snprintf (value, sizeof value, "m%d", TSR_METRICS_MAX_LABEL_VALUES - 1);
    char line [128];
    snprintf (line, sizeof line, "tessera_calls_total{service=\"ca\",method=\"%s\"} 1", value);
    s_assert_line (text, line);
    s_assert_line (text, "tessera_calls_total{service=\"ca\",method=\"other\"} 4");
    snprintf (line, sizeof line, "method=\"m%d\"", TSR_METRICS_MAX_LABEL_VALUES);
    assert_null (strstr (text, line));
    assert_null (strstr (text, "xxxx"));
    //  Exactly MAX series plus "other".
    size_t series = 0;
    for (const char *p = text; (p = strstr (p, "tessera_calls_total{")) != NULL; p++)
        series++;
    assert_int_equal (series, TSR_METRICS_MAX_LABEL_VALUES + 1);
    free (text);
    tsr_metrics_destroy (&metrics);
}

static void
test_histogram (void **state)
{
    (void) state;
    tsr_metrics_t *metrics = tsr_metrics_new ("ca");
    assert_non_null (metrics);
    const double bounds [] = { 0.25, 1, 10 };
    tsr_histogram_t *latency = tsr_metrics_histogram (
        metrics, "tessera_latency_seconds", "Latency", "method", bounds, 3);
    assert_non_null (latency);
    tsr_histogram_observe (latency, "Ping", 0.0625);
    tsr_histogram_observe (latency, "Ping", 1);     //  on a bound: that bucket
    tsr_histogram_observe (latency, "Ping", 5);
    tsr_histogram_observe (latency, "Ping", 50);    //  only in +Inf

    char *text = tsr_metrics_render (metrics);
    assert_non_null (text);
    s_assert_line (text, "# HELP tessera_latency_seconds Latency");
    s_assert_line (text, "# TYPE tessera_latency_seconds histogram");
    s_assert_line (text, "tessera_latency_seconds_bucket{service=\"ca\",method=\"Ping\",le=\"0.25\"} 1");
    s_assert_line (text, "tessera_latency_seconds_bucket{service=\"ca\",method=\"Ping\",le=\"1\"} 2");
    s_assert_line (text, "tessera_latency_seconds_bucket{service=\"ca\",method=\"Ping\",le=\"10\"} 3");
    s_assert_line (text, "tessera_latency_seconds_bucket{service=\"ca\",method=\"Ping\",le=\"+Inf\"} 4");
    s_assert_line (text, "tessera_latency_seconds_sum{service=\"ca\",method=\"Ping\"} 56.0625");
    s_assert_line (text, "tessera_latency_seconds_count{service=\"ca\",method=\"Ping\"} 4");
    free (text);
    tsr_metrics_destroy (&metrics);
}

static void
test_histogram_bad_bounds (void **state)
{
    (void) state;
    tsr_metrics_t *metrics = tsr_metrics_new ("ca");
    assert_non_null (metrics);
    const double descending [] = { 1, 0.5 };
    const double repeated [] = { 1, 1 };
    double many [TSR_METRICS_MAX_BUCKETS + 1];
    for (size_t i = 0; i < TSR_METRICS_MAX_BUCKETS + 1; i++)
        many [i] = (double) i;
    assert_null (tsr_metrics_histogram (metrics, "h_a", "", NULL, descending, 2));
    assert_null (tsr_metrics_histogram (metrics, "h_b", "", NULL, repeated, 2));
    assert_null (tsr_metrics_histogram (metrics, "h_c", "", NULL, NULL, 2));
    assert_null (tsr_metrics_histogram (metrics, "h_d", "", NULL, many,
                                        TSR_METRICS_MAX_BUCKETS + 1));
    assert_null (tsr_metrics_histogram (metrics, "h_e", "", "le", many, 1));
    assert_non_null (tsr_metrics_histogram (metrics, "h_f", "", NULL, many,
                                            TSR_METRICS_MAX_BUCKETS));
    //  No bounds at all: only the +Inf bucket.
    tsr_histogram_t *plain = tsr_metrics_histogram (metrics, "h_g", NULL, NULL, NULL, 0);
    assert_non_null (plain);
    tsr_histogram_observe (plain, NULL, 2);
    char *text = tsr_metrics_render (metrics);
    assert_non_null (text);
    s_assert_line (text, "h_g_bucket{service=\"ca\",le=\"+Inf\"} 1");
    s_assert_line (text, "h_g_sum{service=\"ca\"} 2");
    //  No help: no HELP line.
    assert_null (strstr (text, "# HELP h_g"));
    free (text);
    tsr_metrics_destroy (&metrics);
}

static void
test_bad_names (void **state)
{
    (void) state;
    tsr_metrics_t *metrics = tsr_metrics_new ("ca");
    assert_non_null (metrics);
    assert_null (tsr_metrics_counter (metrics, NULL, "h", NULL));
    assert_null (tsr_metrics_counter (metrics, "", "h", NULL));
    assert_null (tsr_metrics_counter (metrics, "9lives", "h", NULL));
    assert_null (tsr_metrics_counter (metrics, "has-dash", "h", NULL));
    assert_null (tsr_metrics_counter (metrics, "has space", "h", NULL));
    assert_null (tsr_metrics_counter (metrics, "bad\"name", "h", NULL));
    assert_null (tsr_metrics_gauge (metrics, "tessera_x", "h", "bad:label"));
    assert_null (tsr_metrics_gauge (metrics, "tessera_x", "h", "__reserved"));
    assert_null (tsr_metrics_gauge (metrics, "tessera_x", "h", "service"));
    assert_null (tsr_metrics_counter (NULL, "tessera_x", "h", NULL));
    assert_non_null (tsr_metrics_counter (metrics, "ns:sub_total9", "h", NULL));
    assert_non_null (tsr_metrics_counter (metrics, "_x", "h", "_y1"));
    free (tsr_metrics_render (metrics));
    tsr_metrics_destroy (&metrics);
}

static void
test_registry_full (void **state)
{
    (void) state;
    tsr_metrics_t *metrics = tsr_metrics_new ("ca");
    assert_non_null (metrics);
    char name [32];
    for (int i = 0; i < TSR_METRICS_MAX_FAMILIES; i++) {
        snprintf (name, sizeof name, "family_%d", i);
        assert_non_null (tsr_metrics_gauge (metrics, name, "h", NULL));
    }
    assert_null (tsr_metrics_gauge (metrics, "one_too_many", "h", NULL));
    //  Existing families are still found.
    assert_non_null (tsr_metrics_gauge (metrics, "family_0", "h", NULL));
    tsr_metrics_destroy (&metrics);
}

static void
test_null_families_ignored (void **state)
{
    (void) state;
    tsr_counter_inc (NULL, "x", 1);
    tsr_counter_inc (NULL, NULL, 1);
    tsr_gauge_set (NULL, "x", 1);
    tsr_gauge_add (NULL, NULL, 1);
    tsr_histogram_observe (NULL, "x", 1);
    //  The usual way to get one: a declaration that failed.
    tsr_metrics_t *metrics = tsr_metrics_new ("ca");
    assert_non_null (metrics);
    tsr_counter_t *bad = tsr_metrics_counter (metrics, "bad name", "h", NULL);
    assert_null (bad);
    tsr_counter_inc (bad, NULL, 1);
    char *text = tsr_metrics_render (metrics);
    assert_non_null (text);
    assert_string_equal (text, "");
    free (text);
    tsr_metrics_destroy (&metrics);
}

static void *
s_increment (void *arg)
{
    tsr_counter_t *counter = arg;
    for (int i = 0; i < S_INCREMENTS; i++)
        tsr_counter_inc (counter, "Ping", 1);
    return NULL;
}

static void
test_concurrent_increments (void **state)
{
    (void) state;
    tsr_metrics_t *metrics = tsr_metrics_new ("ca");
    assert_non_null (metrics);
    tsr_counter_t *counter = tsr_metrics_counter (metrics, "tessera_requests_total",
                                                  "Requests", "method");
    assert_non_null (counter);
    pthread_t threads [S_THREADS];
    for (int i = 0; i < S_THREADS; i++)
        assert_int_equal (pthread_create (&threads [i], NULL, s_increment, counter), 0);
    //  Rendering while others write must be safe too.
    for (int i = 0; i < 10; i++)
        free (tsr_metrics_render (metrics));
    for (int i = 0; i < S_THREADS; i++)
        assert_int_equal (pthread_join (threads [i], NULL), 0);

    char *text = tsr_metrics_render (metrics);
    assert_non_null (text);
    char line [128];
    snprintf (line, sizeof line, "tessera_requests_total{service=\"ca\",method=\"Ping\"} %d",
              S_THREADS * S_INCREMENTS);
    s_assert_line (text, line);
    free (text);
    tsr_metrics_destroy (&metrics);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_new_destroy),
        cmocka_unit_test (test_counter_render),
        cmocka_unit_test (test_unlabelled_renders_zero),
        cmocka_unit_test (test_gauge),
        cmocka_unit_test (test_escaping),
        cmocka_unit_test (test_label_overflow),
        cmocka_unit_test (test_histogram),
        cmocka_unit_test (test_histogram_bad_bounds),
        cmocka_unit_test (test_bad_names),
        cmocka_unit_test (test_registry_full),
        cmocka_unit_test (test_null_families_ignored),
        cmocka_unit_test (test_concurrent_increments),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
