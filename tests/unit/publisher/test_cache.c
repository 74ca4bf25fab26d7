/*  Unit tests for publisher_cache: names, copies, and CRL numbers that
    never go back.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "publisher_cache.h"

#define S_SHA_A "aaaaaaaaaaaaaaaa0000000000000000000000000000000000000000000000aa"
#define S_SHA_B "bbbbbbbbbbbbbbbb0000000000000000000000000000000000000000000000bb"

static void
test_nothing_before_the_issuer (void **state)
{
    (void) state;
    publisher_cache_t *cache = publisher_cache_new ();
    publisher_object_t object;
    assert_int_equal (publisher_cache_get (cache, "issuing", PUBLISHER_OBJECT_CRL, &object), 2);
    assert_int_equal (publisher_cache_get (cache, "aaaaaaaaaaaaaaaa", PUBLISHER_OBJECT_CRL, &object), 1);
    assert_int_equal (publisher_cache_put_crl (cache, S_SHA_A, false, (const uint8_t *) "x", 1, 1, 10, 20), -1);
    publisher_cache_destroy (&cache);
    assert_null (cache);
    publisher_cache_destroy (&cache);
}

static void
test_names_copies_and_numbers (void **state)
{
    (void) state;
    publisher_cache_t *cache = publisher_cache_new ();
    assert_int_equal (publisher_cache_set_issuer (cache, S_SHA_A, (const uint8_t *) "certA", 5,
                                                  (const uint8_t *) "root", 4), 0);
    publisher_object_t object;
    assert_int_equal (publisher_cache_get (cache, "issuing", PUBLISHER_OBJECT_CRL, &object), 2);
    assert_int_equal (publisher_cache_get (cache, "issuing", PUBLISHER_OBJECT_CA_CERT, &object), 0);
    assert_int_equal (object.size, 5);
    assert_memory_equal (object.der, "certA", 5);
    assert_int_equal (object.etag [0], '"');
    assert_int_equal (strlen (object.etag), 26);
    publisher_object_release (&object);
    assert_int_equal (publisher_cache_get (cache, "issuing", PUBLISHER_OBJECT_ROOT_CERT, &object), 0);
    assert_memory_equal (object.der, "root", 4);
    publisher_object_release (&object);

    assert_int_equal (publisher_cache_put_crl (cache, S_SHA_A, false, (const uint8_t *) "crl5", 4, 5, 100, 200), 1);
    assert_int_equal (publisher_cache_put_crl (cache, S_SHA_A, false, (const uint8_t *) "crl4", 4, 4, 90, 190), 0);
    assert_int_equal (publisher_cache_put_crl (cache, S_SHA_A, false, (const uint8_t *) "crl5", 4, 5, 100, 200), 0);
    assert_int_equal (publisher_cache_put_crl (cache, S_SHA_A, true, (const uint8_t *) "d6", 2, 6, 100, 150), 1);
    assert_int_equal (publisher_cache_crl_number (cache, S_SHA_A, false), 5);
    assert_int_equal (publisher_cache_crl_number (cache, S_SHA_A, true), 6);
    assert_int_equal (publisher_cache_get (cache, "aaaaaaaaaaaaaaaa", PUBLISHER_OBJECT_CRL, &object), 0);
    assert_memory_equal (object.der, "crl5", 4);
    assert_int_equal (object.last_modified, 100);
    assert_int_equal (object.expires, 200);
    assert_int_equal (object.number, 5);
    publisher_object_release (&object);

    //  A second issuer becomes "issuing"; the first keeps its own name.
    assert_int_equal (publisher_cache_set_issuer (cache, S_SHA_B, (const uint8_t *) "certB", 5, NULL, 0), 0);
    assert_int_equal (publisher_cache_get (cache, "issuing", PUBLISHER_OBJECT_CA_CERT, &object), 0);
    assert_memory_equal (object.der, "certB", 5);
    publisher_object_release (&object);
    assert_int_equal (publisher_cache_get (cache, "issuing", PUBLISHER_OBJECT_DELTA, &object), 2);
    assert_int_equal (publisher_cache_get (cache, "aaaaaaaaaaaaaaaa", PUBLISHER_OBJECT_DELTA, &object), 0);
    assert_memory_equal (object.der, "d6", 2);
    publisher_object_release (&object);
    publisher_cache_destroy (&cache);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_nothing_before_the_issuer),
        cmocka_unit_test (test_names_copies_and_numbers),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
