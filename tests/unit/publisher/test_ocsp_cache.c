/*  Unit tests for publisher_ocsp_cache: an answer kept for a request is
    served for the same request bytes only, while fresh (thisUpdate plus the
    lifetime, never past nextUpdate) and while no event came after the
    cursor its status was read with; answers that differ per caller (a
    nonce), that say unknown, or that are not successful are never kept; a
    slot holds the latest answer; the bounds are enforced.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "publisher_ocsp_cache.h"

static const uint8_t s_request [] = { 0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x07 };
static const uint8_t s_other [] = { 0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x08 };

static publisher_ocsp_answer_t
s_answer (const char *der, int64_t this_update, int64_t next_update)
{
    publisher_ocsp_answer_t answer = { 0 };
    answer.der = (uint8_t *) der;
    answer.size = strlen (der);
    answer.outcome = PUBLISHER_OCSP_SUCCESSFUL;
    answer.this_update = this_update;
    answer.next_update = next_update;
    answer.good = 1;
    return answer;
}

static void
test_served_while_fresh_and_current (void **state)
{
    (void) state;
    publisher_ocsp_cache_t *cache = publisher_ocsp_cache_new (64, 60);
    assert_non_null (cache);
    publisher_ocsp_answer_t kept = s_answer ("signed good", 1000, 4600);
    publisher_ocsp_cache_put (cache, s_request, sizeof s_request, 41, &kept);
    publisher_ocsp_answer_t answer;
    assert_true (publisher_ocsp_cache_get (cache, s_request, sizeof s_request, 41, 1059, &answer));
    assert_int_equal (answer.size, strlen ("signed good"));
    assert_memory_equal (answer.der, "signed good", answer.size);
    assert_int_equal (answer.outcome, PUBLISHER_OCSP_SUCCESSFUL);
    assert_int_equal (answer.this_update, 1000);
    assert_int_equal (answer.next_update, 4600);
    assert_int_equal (answer.good, 1);
    assert_false (answer.nonce);
    publisher_ocsp_answer_release (&answer);
    //  Other bytes, a later event (a revocation applied), or too old: no.
    assert_false (publisher_ocsp_cache_get (cache, s_other, sizeof s_other, 41, 1001, &answer));
    assert_false (publisher_ocsp_cache_get (cache, s_request, sizeof s_request - 1, 41, 1001, &answer));
    assert_false (publisher_ocsp_cache_get (cache, s_request, sizeof s_request, 42, 1001, &answer));
    assert_false (publisher_ocsp_cache_get (cache, s_request, sizeof s_request, 41, 1060, &answer));
    publisher_ocsp_cache_destroy (&cache);
    assert_null (cache);
}

static void
test_never_past_next_update (void **state)
{
    (void) state;
    publisher_ocsp_cache_t *cache = publisher_ocsp_cache_new (64, 3600);
    publisher_ocsp_answer_t kept = s_answer ("short", 1000, 1010);
    publisher_ocsp_cache_put (cache, s_request, sizeof s_request, 5, &kept);
    publisher_ocsp_answer_t answer;
    assert_true (publisher_ocsp_cache_get (cache, s_request, sizeof s_request, 5, 1009, &answer));
    publisher_ocsp_answer_release (&answer);
    assert_false (publisher_ocsp_cache_get (cache, s_request, sizeof s_request, 5, 1010, &answer));
    publisher_ocsp_cache_destroy (&cache);
}

static void
test_answers_that_differ_are_not_kept (void **state)
{
    (void) state;
    publisher_ocsp_cache_t *cache = publisher_ocsp_cache_new (64, 60);
    publisher_ocsp_answer_t answer;
    publisher_ocsp_answer_t nonce = s_answer ("with nonce", 1000, 4600);
    nonce.nonce = true;
    publisher_ocsp_answer_t unknown = s_answer ("unknown", 1000, 4600);
    unknown.unknown = 1;
    publisher_ocsp_answer_t later = s_answer ("\x30\x03\x0a\x01\x03", 0, 0);
    later.outcome = PUBLISHER_OCSP_TRY_LATER;
    const publisher_ocsp_answer_t *cases [] = { &nonce, &unknown, &later };
    for (size_t i = 0; i < 3; i++) {
        publisher_ocsp_cache_put (cache, s_request, sizeof s_request, 5, cases [i]);
        assert_false (publisher_ocsp_cache_get (cache, s_request, sizeof s_request, 0, 1000, &answer));
    }
    publisher_ocsp_cache_destroy (&cache);
}

static void
test_a_slot_holds_the_latest (void **state)
{
    (void) state;
    //  One slot: every request shares it.
    publisher_ocsp_cache_t *cache = publisher_ocsp_cache_new (1, 60);
    publisher_ocsp_answer_t first = s_answer ("first", 1000, 4600);
    publisher_ocsp_answer_t second = s_answer ("second", 1000, 4600);
    publisher_ocsp_cache_put (cache, s_request, sizeof s_request, 5, &first);
    publisher_ocsp_cache_put (cache, s_other, sizeof s_other, 5, &second);
    publisher_ocsp_answer_t answer;
    assert_false (publisher_ocsp_cache_get (cache, s_request, sizeof s_request, 5, 1000, &answer));
    assert_true (publisher_ocsp_cache_get (cache, s_other, sizeof s_other, 5, 1000, &answer));
    assert_memory_equal (answer.der, "second", answer.size);
    publisher_ocsp_answer_release (&answer);
    publisher_ocsp_cache_destroy (&cache);
}

static void
test_bounds (void **state)
{
    (void) state;
    assert_null (publisher_ocsp_cache_new (0, 60));
    assert_null (publisher_ocsp_cache_new ((1u << 20) + 1, 60));
    assert_null (publisher_ocsp_cache_new (64, 0));
    assert_null (publisher_ocsp_cache_new (64, 86401));
    publisher_ocsp_cache_t *cache = publisher_ocsp_cache_new (64, 60);
    uint8_t *big = calloc (1, PUBLISHER_OCSP_CACHE_KEY_MAX + 1);
    assert_non_null (big);
    publisher_ocsp_answer_t kept = s_answer ("big", 1000, 4600);
    publisher_ocsp_cache_put (cache, big, PUBLISHER_OCSP_CACHE_KEY_MAX + 1, 5, &kept);
    publisher_ocsp_answer_t answer;
    assert_false (publisher_ocsp_cache_get (cache, big, PUBLISHER_OCSP_CACHE_KEY_MAX + 1, 0, 1000,
                                            &answer));
    publisher_ocsp_cache_put (cache, big, PUBLISHER_OCSP_CACHE_KEY_MAX, 5, &kept);
    assert_true (publisher_ocsp_cache_get (cache, big, PUBLISHER_OCSP_CACHE_KEY_MAX, 0, 1000,
                                           &answer));
    publisher_ocsp_answer_release (&answer);
    assert_false (publisher_ocsp_cache_get (cache, NULL, 0, 0, 1000, &answer));
    assert_false (publisher_ocsp_cache_get (NULL, s_request, sizeof s_request, 0, 1000, &answer));
    free (big);
    publisher_ocsp_cache_destroy (&cache);
    publisher_ocsp_cache_destroy (NULL);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_served_while_fresh_and_current),
        cmocka_unit_test (test_never_past_next_update),
        cmocka_unit_test (test_answers_that_differ_are_not_kept),
        cmocka_unit_test (test_a_slot_holds_the_latest),
        cmocka_unit_test (test_bounds),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
