/*  Unit tests for publisher_plan: when a publication is due, why, and when
    the staleness alert fires.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "publisher_plan.h"

#define S_MIN 60000LL
#define S_HOUR (60 * S_MIN)
#define S_T0 (1800000000LL * 1000)

//  A publisher with a full CRL made at T0 and its delta, 6-hour schedule,
//  1-minute coalescing, 30-minute alert.
static publisher_plan_input_t
s_input (int64_t now)
{
    publisher_plan_input_t input = {
        .now_ms = now, .started_ms = S_T0 - S_HOUR,
        .have_full = true, .full_this_update_ms = S_T0, .full_next_update_ms = S_T0 + 24 * S_HOUR,
        .have_delta = true, .delta_next_update_ms = S_T0 + 7 * S_HOUR,
        .interval_s = 6 * 3600, .coalesce_ms = 60000, .alert_s = 1800,
    };
    return input;
}

static void
test_nothing_due_inside_the_schedule (void **state)
{
    (void) state;
    publisher_plan_input_t input = s_input (S_T0 + S_HOUR);
    publisher_plan_t plan;
    publisher_plan (&input, &plan);
    assert_false (plan.publish);
    assert_false (plan.late);
    assert_int_equal (plan.due_ms, S_T0 + 6 * S_HOUR);
    assert_int_equal (plan.next_full_due_ms, S_T0 + 6 * S_HOUR);
    assert_int_equal (plan.next_delta_due_ms, S_T0 + 7 * S_HOUR - 5 * S_MIN);
}

static void
test_schedule_is_due_after_the_interval (void **state)
{
    (void) state;
    publisher_plan_input_t input = s_input (S_T0 + 6 * S_HOUR);
    publisher_plan_t plan;
    publisher_plan (&input, &plan);
    assert_true (plan.publish);
    assert_int_equal (plan.trigger, PUBLISHER_TRIGGER_SCHEDULE);
    assert_false (plan.late);
}

static void
test_no_full_crl_publishes_at_once (void **state)
{
    (void) state;
    publisher_plan_input_t input = s_input (S_T0);
    input.have_full = false;
    input.have_delta = false;
    input.started_ms = S_T0 - 10000;
    publisher_plan_t plan;
    publisher_plan (&input, &plan);
    assert_true (plan.publish);
    assert_int_equal (plan.trigger, PUBLISHER_TRIGGER_STARTUP);
    assert_false (plan.late);
    //  Still none 31 minutes after start: late.
    input.now_ms = input.started_ms + 31 * S_MIN;
    publisher_plan (&input, &plan);
    assert_true (plan.late);
    assert_non_null (strstr (plan.late_reason, "no CRL"));
}

static void
test_revocations_are_coalesced (void **state)
{
    (void) state;
    publisher_plan_input_t input = s_input (S_T0 + S_HOUR);
    input.pending_since_ms = S_T0 + S_HOUR - 30000;
    publisher_plan_t plan;
    publisher_plan (&input, &plan);
    assert_false (plan.publish);
    assert_int_equal (plan.due_ms, S_T0 + S_HOUR + 30000);
    input.now_ms = S_T0 + S_HOUR + 30000;
    publisher_plan (&input, &plan);
    assert_true (plan.publish);
    assert_int_equal (plan.trigger, PUBLISHER_TRIGGER_REVOCATION);
}

static void
test_failures_wait_for_the_retry (void **state)
{
    (void) state;
    publisher_plan_input_t input = s_input (S_T0 + 6 * S_HOUR);
    input.retry_at_ms = S_T0 + 6 * S_HOUR + 30000;
    publisher_plan_t plan;
    publisher_plan (&input, &plan);
    assert_false (plan.publish);
    assert_int_equal (plan.due_ms, input.retry_at_ms);
}

static void
test_a_revocation_waiting_too_long_is_late (void **state)
{
    (void) state;
    publisher_plan_input_t input = s_input (S_T0 + 2 * S_HOUR);
    input.pending_since_ms = S_T0 + 2 * S_HOUR - 29 * S_MIN;
    publisher_plan_t plan;
    publisher_plan (&input, &plan);
    assert_false (plan.late);
    input.pending_since_ms = S_T0 + 2 * S_HOUR - 31 * S_MIN;
    publisher_plan (&input, &plan);
    assert_true (plan.late);
    assert_non_null (strstr (plan.late_reason, "revocation"));
}

static void
test_an_old_full_crl_is_late (void **state)
{
    (void) state;
    publisher_plan_input_t input = s_input (S_T0 + 6 * S_HOUR + 30000);
    publisher_plan_t plan;
    publisher_plan (&input, &plan);
    assert_false (plan.late);                   //  within the minute's grace
    input.now_ms = S_T0 + 6 * S_HOUR + 2 * S_MIN;
    publisher_plan (&input, &plan);
    assert_true (plan.late);
    assert_non_null (strstr (plan.late_reason, "schedule"));
    input.now_ms = S_T0 + 24 * S_HOUR;
    publisher_plan (&input, &plan);
    assert_true (plan.late);
    assert_non_null (strstr (plan.late_reason, "nextUpdate"));
}

static void
test_delta_is_renewed_before_it_expires (void **state)
{
    (void) state;
    publisher_plan_input_t input = s_input (S_T0 + S_HOUR);
    input.interval_s = 20 * 3600;               //  a delta that would expire first
    publisher_plan_t plan;
    publisher_plan (&input, &plan);
    assert_int_equal (plan.due_ms, S_T0 + 7 * S_HOUR - 5 * S_MIN);
    input.have_delta = false;
    publisher_plan (&input, &plan);
    assert_true (plan.publish);
    assert_int_equal (plan.trigger, PUBLISHER_TRIGGER_SCHEDULE);
}

static void
test_full_crl_is_renewed_before_its_next_update (void **state)
{
    (void) state;
    publisher_plan_input_t input = s_input (S_T0 + S_HOUR);
    input.interval_s = 71 * 3600;
    input.have_delta = false;
    input.full_next_update_ms = S_T0 + 2 * S_HOUR;
    publisher_plan_t plan;
    publisher_plan (&input, &plan);
    assert_int_equal (plan.next_full_due_ms, S_T0 + 2 * S_HOUR - S_MIN);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_nothing_due_inside_the_schedule),
        cmocka_unit_test (test_schedule_is_due_after_the_interval),
        cmocka_unit_test (test_no_full_crl_publishes_at_once),
        cmocka_unit_test (test_revocations_are_coalesced),
        cmocka_unit_test (test_failures_wait_for_the_retry),
        cmocka_unit_test (test_a_revocation_waiting_too_long_is_late),
        cmocka_unit_test (test_an_old_full_crl_is_late),
        cmocka_unit_test (test_delta_is_renewed_before_it_expires),
        cmocka_unit_test (test_full_crl_is_renewed_before_its_next_update),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
