/*  Unit tests for portal_sessions: random ids, a CSRF token per session
    compared in constant time, expiry, eviction, and updates that never
    move a session to another account.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "portal_session.h"

static portal_sessions_t *
s_store (size_t capacity)
{
    portal_sessions_config_t config = { capacity, 1000, 500, 5000 };
    portal_sessions_t *store = portal_sessions_new (&config);
    assert_non_null (store);
    return store;
}

static portal_session_t
s_holder (const char *account)
{
    portal_session_t session;
    memset (&session, 0, sizeof session);
    session.authenticated = true;
    snprintf (session.account_id, sizeof session.account_id, "%s", account);
    snprintf (session.change_token, sizeof session.change_token, "secret-token");
    return session;
}

static void
test_ids_and_tokens_are_random_and_found_again (void **state)
{
    (void) state;
    portal_sessions_t *store = s_store (8);
    char a [PORTAL_SESSION_ID_SIZE], b [PORTAL_SESSION_ID_SIZE];
    portal_session_t init = s_holder ("acct-1"), got_a, got_b, found;
    assert_int_equal (portal_sessions_create (store, &init, 0, a, &got_a), 0);
    assert_int_equal (portal_sessions_create (store, &init, 0, b, &got_b), 0);
    assert_int_equal (strlen (a), 64);
    assert_int_equal (strspn (a, "0123456789abcdef"), 64);
    assert_string_not_equal (a, b);
    assert_string_not_equal (got_a.csrf, got_b.csrf);
    assert_string_not_equal (a, got_a.csrf);
    assert_int_equal (portal_sessions_find (store, a, 10, &found), 0);
    assert_string_equal (found.account_id, "acct-1");
    assert_true (portal_sessions_csrf_ok (&found, got_a.csrf));
    assert_false (portal_sessions_csrf_ok (&found, got_b.csrf));
    assert_false (portal_sessions_csrf_ok (&found, NULL));
    assert_false (portal_sessions_csrf_ok (&found, ""));
    char shorter [64];
    snprintf (shorter, sizeof shorter, "%.62s", got_a.csrf);
    assert_false (portal_sessions_csrf_ok (&found, shorter));
    //  Malformed or unknown ids find nothing.
    char upper [PORTAL_SESSION_ID_SIZE];
    snprintf (upper, sizeof upper, "%s", a);
    upper [0] = upper [0] >= 'a' ? 'A' : 'f';
    assert_int_equal (portal_sessions_find (store, upper, 10, &found), -1);
    assert_int_equal (portal_sessions_find (store, "abc", 10, &found), -1);
    assert_int_equal (portal_sessions_find (store, NULL, 10, &found), -1);
    portal_sessions_remove (store, a);
    assert_int_equal (portal_sessions_find (store, a, 10, &found), -1);
    assert_int_equal (portal_sessions_count (store), 1);
    portal_session_wipe (&found);
    portal_sessions_destroy (&store);
    assert_null (store);
    portal_sessions_destroy (&store);
}

static void
test_sessions_expire_idle_and_absolute (void **state)
{
    (void) state;
    portal_sessions_t *store = s_store (8);
    char id [PORTAL_SESSION_ID_SIZE], anonymous [PORTAL_SESSION_ID_SIZE];
    portal_session_t init = s_holder ("acct-1"), found, empty;
    memset (&empty, 0, sizeof empty);
    assert_int_equal (portal_sessions_create (store, &init, 0, id, NULL), 0);
    assert_int_equal (portal_sessions_create (store, &empty, 0, anonymous, NULL), 0);
    //  Anonymous sessions idle out sooner (500 ms) than holders' (1000).
    assert_int_equal (portal_sessions_find (store, anonymous, 600, &found), -1);
    assert_int_equal (portal_sessions_find (store, id, 900, &found), 0);
    //  Used every 900 ms it lives on, until the absolute limit (5000).
    for (int64_t now = 1800; now < 5000; now += 900)
        assert_int_equal (portal_sessions_find (store, id, now, &found), 0);
    assert_int_equal (portal_sessions_find (store, id, 5000, &found), -1);
    assert_int_equal (portal_sessions_count (store), 0);
    portal_sessions_destroy (&store);
}

static void
test_a_full_store_evicts_anonymous_sessions_first (void **state)
{
    (void) state;
    portal_sessions_t *store = s_store (3);
    char ids [4][PORTAL_SESSION_ID_SIZE];
    portal_session_t holder = s_holder ("acct-1"), anonymous, found;
    memset (&anonymous, 0, sizeof anonymous);
    assert_int_equal (portal_sessions_create (store, &holder, 0, ids [0], NULL), 0);
    assert_int_equal (portal_sessions_create (store, &anonymous, 1, ids [1], NULL), 0);
    assert_int_equal (portal_sessions_create (store, &holder, 2, ids [2], NULL), 0);
    //  Full: the anonymous one goes for the new holder.
    assert_int_equal (portal_sessions_create (store, &holder, 3, ids [3], NULL), 0);
    assert_int_equal (portal_sessions_find (store, ids [1], 4, &found), -1);
    assert_int_equal (portal_sessions_find (store, ids [0], 4, &found), 0);
    //  Full of holders: refused.
    char extra [PORTAL_SESSION_ID_SIZE];
    assert_int_equal (portal_sessions_create (store, &anonymous, 5, extra, NULL), -1);
    portal_sessions_destroy (&store);
}

static void
test_updates_stay_with_the_account (void **state)
{
    (void) state;
    portal_sessions_t *store = s_store (4);
    char id [PORTAL_SESSION_ID_SIZE];
    portal_session_t init = s_holder ("acct-1"), created, found;
    init.must_change_password = true;
    assert_int_equal (portal_sessions_create (store, &init, 0, id, &created), 0);
    portal_session_t changed = created;
    changed.must_change_password = false;
    memset (changed.change_token, 0, sizeof changed.change_token);
    memset (changed.csrf, 'x', sizeof changed.csrf - 1);        //  not kept
    assert_int_equal (portal_sessions_update (store, id, &changed), 0);
    assert_int_equal (portal_sessions_find (store, id, 1, &found), 0);
    assert_false (found.must_change_password);
    assert_string_equal (found.change_token, "");
    assert_string_equal (found.csrf, created.csrf);
    //  Another account's fields never land in this session.
    portal_session_t other = s_holder ("acct-2");
    assert_int_equal (portal_sessions_update (store, id, &other), -1);
    assert_int_equal (portal_sessions_find (store, id, 2, &found), 0);
    assert_string_equal (found.account_id, "acct-1");
    //  After a password change: the account's other sessions end.
    char second [PORTAL_SESSION_ID_SIZE];
    assert_int_equal (portal_sessions_create (store, &init, 2, second, NULL), 0);
    portal_sessions_remove_account (store, "acct-1", id);
    assert_int_equal (portal_sessions_find (store, second, 3, &found), -1);
    assert_int_equal (portal_sessions_find (store, id, 3, &found), 0);
    portal_sessions_remove_account (store, "acct-1", NULL);
    assert_int_equal (portal_sessions_find (store, id, 3, &found), -1);
    portal_sessions_destroy (&store);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_ids_and_tokens_are_random_and_found_again),
        cmocka_unit_test (test_sessions_expire_idle_and_absolute),
        cmocka_unit_test (test_a_full_store_evicts_anonymous_sessions_first),
        cmocka_unit_test (test_updates_stay_with_the_account),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
