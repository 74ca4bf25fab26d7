/*  Unit tests for portal_limiter: attempts per window, failures that lock,
    locks that end, and a bounded table.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "portal_limiter.h"

static void
test_five_failures_lock_until_the_lockout_ends (void **state)
{
    (void) state;
    portal_limit_t limit = { "test", 0, 5, 60000, 30000, 16 };
    portal_limiter_t *limiter = portal_limiter_new (&limit);
    assert_non_null (limiter);
    for (int i = 0; i < 4; i++) {
        assert_int_equal (portal_limiter_attempt (limiter, "acct", 1000 + i), 0);
        assert_false (portal_limiter_fail (limiter, "acct", 1000 + i));
    }
    assert_int_equal (portal_limiter_failures_left (limiter, "acct", 1004), 1);
    assert_int_equal (portal_limiter_attempt (limiter, "acct", 1004), 0);
    assert_true (portal_limiter_fail (limiter, "acct", 1004));
    assert_int_equal (portal_limiter_failures_left (limiter, "acct", 1005), 0);
    //  Locked: refused until 1004 + 30000, whatever happens.
    assert_int_equal (portal_limiter_attempt (limiter, "acct", 1005), 29999);
    portal_limiter_reset (limiter, "acct");
    assert_true (portal_limiter_attempt (limiter, "acct", 31003) > 0);
    //  Other keys are not affected.
    assert_int_equal (portal_limiter_attempt (limiter, "other", 1005), 0);
    //  After the lock, a fresh start.
    assert_int_equal (portal_limiter_attempt (limiter, "acct", 31004), 0);
    assert_int_equal (portal_limiter_failures_left (limiter, "acct", 31004), 5);
    portal_limiter_destroy (&limiter);
    assert_null (limiter);
}

static void
test_success_resets_failures_and_windows_roll (void **state)
{
    (void) state;
    portal_limit_t limit = { "test", 0, 3, 10000, 50000, 16 };
    portal_limiter_t *limiter = portal_limiter_new (&limit);
    portal_limiter_fail (limiter, "k", 0);
    portal_limiter_fail (limiter, "k", 1);
    portal_limiter_reset (limiter, "k");
    assert_false (portal_limiter_fail (limiter, "k", 2));
    assert_false (portal_limiter_fail (limiter, "k", 3));
    //  The window is over: the count starts again.
    assert_false (portal_limiter_fail (limiter, "k", 10002));
    assert_false (portal_limiter_fail (limiter, "k", 10003));
    assert_true (portal_limiter_fail (limiter, "k", 10004));
    portal_limiter_destroy (&limiter);
}

static void
test_attempts_are_rate_limited (void **state)
{
    (void) state;
    portal_limit_t limit = { "test", 3, 100, 10000, 50000, 16 };
    portal_limiter_t *limiter = portal_limiter_new (&limit);
    for (int i = 0; i < 3; i++)
        assert_int_equal (portal_limiter_attempt (limiter, "addr", i), 0);
    assert_int_equal (portal_limiter_attempt (limiter, "addr", 5), 9995);
    assert_int_equal (portal_limiter_attempt (limiter, "addr", 10000), 0);
    portal_limiter_destroy (&limiter);
}

static void
test_the_table_is_bounded_and_keeps_locks (void **state)
{
    (void) state;
    portal_limit_t limit = { "test", 0, 1, 1000, 100000, 4 };
    portal_limiter_t *limiter = portal_limiter_new (&limit);
    for (int i = 0; i < 4; i++) {
        char key [16];
        snprintf (key, sizeof key, "k%d", i);
        assert_true (portal_limiter_fail (limiter, key, 0));     //  locked
    }
    //  Every slot holds a lock: a new key is refused rather than a lock
    //  forgotten.
    assert_true (portal_limiter_attempt (limiter, "new", 10) > 0);
    assert_true (portal_limiter_attempt (limiter, "k0", 10) > 0);
    //  Once the locks are over, slots are reused.
    assert_int_equal (portal_limiter_attempt (limiter, "new", 200000), 0);
    portal_limiter_destroy (&limiter);
    portal_limit_t bad = { "bad", 0, 0, 1000, 1000, 4 };
    assert_null (portal_limiter_new (&bad));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_five_failures_lock_until_the_lockout_ends),
        cmocka_unit_test (test_success_resets_failures_and_windows_roll),
        cmocka_unit_test (test_attempts_are_rate_limited),
        cmocka_unit_test (test_the_table_is_bounded_and_keeps_locks),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
