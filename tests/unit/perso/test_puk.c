/*  Unit tests for the PIN unblock's pure parts: the PUK of each version
    (docs/perso.md, "PIN unblock"; expected values computed independently
    with Python's hmac), and how many questions each level asks.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "perso_puk.h"
#include "perso_secrets.h"

static void
test_puk_versions_follow_the_documented_derivation (void **state)
{
    (void) state;
    uint8_t master [32], uuid [16];
    for (int i = 0; i < 32; i++)
        master [i] = (uint8_t) i;
    for (int i = 0; i < 16; i++)
        uuid [i] = (uint8_t) (16 + i);
    char v0 [PERSO_PIN_DIGITS + 1], first [PERSO_PIN_DIGITS + 1], v1 [PERSO_PIN_DIGITS + 1],
         v7 [PERSO_PIN_DIGITS + 1];
    //  Version 0 is the personalisation's PUK, unchanged.
    assert_int_equal (perso_diversify_puk (master, sizeof master, uuid, first), 0);
    assert_int_equal (perso_diversify_puk_version (master, sizeof master, uuid, 0, v0), 0);
    assert_string_equal (v0, first);
    assert_string_equal (v0, "81965486");
    //  Later versions: label v2, the version as 4 bytes big-endian.
    assert_int_equal (perso_diversify_puk_version (master, sizeof master, uuid, 1, v1), 0);
    assert_int_equal (perso_diversify_puk_version (master, sizeof master, uuid, 7, v7), 0);
    assert_string_equal (v1, "27858576");
    assert_string_equal (v7, "73216050");
    assert_int_equal (strlen (v1), 8);
    //  Another card, another PUK.
    uuid [0] ^= 1;
    assert_int_equal (perso_diversify_puk_version (master, sizeof master, uuid, 1, v7), 0);
    assert_string_not_equal (v7, v1);
}

static void
test_questions_per_level (void **state)
{
    (void) state;
    assert_int_equal (perso_puk_questions_for_level (1), 2);
    assert_int_equal (perso_puk_questions_for_level (2), 4);
    assert_int_equal (perso_puk_questions_for_level (3), 5);
    assert_int_equal (perso_puk_questions_for_level (0), 0);
    assert_int_equal (perso_puk_questions_for_level (4), 0);
    assert_true (perso_puk_questions_for_level (3) <= PERSO_PUK_QUESTIONS_MAX);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_puk_versions_follow_the_documented_derivation),
        cmocka_unit_test (test_questions_per_level),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
