/*  Unit tests for revocation_input: the bounds of every field of the
    revocation service's requests.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "revocation_input.h"

static void
test_ids_and_text (void **state)
{
    (void) state;
    assert_true (revocation_id_valid ("rv-0123abcd"));
    assert_false (revocation_id_valid (""));
    assert_false (revocation_id_valid (NULL));
    assert_false (revocation_id_valid ("rv 1"));
    assert_false (revocation_id_valid ("x';DROP TABLE revocations;--"));
    char id [80];
    memset (id, 'a', sizeof id);
    id [64] = 0;
    assert_true (revocation_id_valid (id));
    id [64] = 'a';
    id [65] = 0;
    assert_false (revocation_id_valid (id));
    assert_true (revocation_optional_id_valid (""));
    assert_false (revocation_optional_id_valid ("a/b"));
    assert_true (revocation_text_valid ("carte perdue à Lyon", 0, 1000));
    assert_false (revocation_text_valid ("deux\nlignes", 0, 1000));
    assert_false (revocation_text_valid ("\x1b[31m", 0, 1000));
    assert_false (revocation_text_valid ("bad \xfe", 0, 1000));
    assert_false (revocation_text_valid ("", 1, 1000));
    assert_true (revocation_text_valid ("ééé", 3, 3));
    assert_false (revocation_text_valid ("éééé", 0, 3));
}

static void
test_serials (void **state)
{
    (void) state;
    char out [REVOCATION_SERIAL_HEX_MAX + 1];
    assert_true (revocation_serial_normalise ("0A1b", out));
    assert_string_equal (out, "0a1b");
    assert_false (revocation_serial_normalise ("0a1", out));        //  odd
    assert_false (revocation_serial_normalise ("0x12", out));
    assert_false (revocation_serial_normalise ("", out));
    assert_false (revocation_serial_normalise (NULL, out));
    char long_serial [64];
    memset (long_serial, 'a', sizeof long_serial);
    long_serial [40] = 0;
    assert_true (revocation_serial_normalise (long_serial, out));
    long_serial [40] = 'a';
    long_serial [42] = 0;
    assert_false (revocation_serial_normalise (long_serial, out));

    char normalised [REVOCATION_SERIALS_MAX + 1][REVOCATION_SERIAL_HEX_MAX + 1];
    char *good [] = { "0a", "0B" };
    assert_int_equal (revocation_serials_normalise (good, 2, normalised), -1);
    assert_string_equal (normalised [1], "0b");
    char *repeated [] = { "0a", "0b", "0A" };
    assert_int_equal (revocation_serials_normalise (repeated, 3, normalised), 2);
    char *bad [] = { "0a", "zz" };
    assert_int_equal (revocation_serials_normalise (bad, 2, normalised), 1);
    assert_int_equal (revocation_serials_normalise (good, 0, normalised), 0);
    char *many [REVOCATION_SERIALS_MAX + 1];
    for (size_t i = 0; i <= REVOCATION_SERIALS_MAX; i++)
        many [i] = "0a";
    assert_int_equal (revocation_serials_normalise (many, REVOCATION_SERIALS_MAX + 1, normalised),
                      REVOCATION_SERIALS_MAX + 1);
}

static void
test_sha256_and_tokens (void **state)
{
    (void) state;
    char sha [65], text [80];
    memset (text, 'A', sizeof text);
    text [64] = 0;
    assert_true (revocation_sha256_normalise (text, sha));
    assert_int_equal (sha [0], 'a');
    text [63] = 'g';
    assert_false (revocation_sha256_normalise (text, sha));
    text [63] = 'a';
    text [64] = 'a';
    text [65] = 0;
    assert_false (revocation_sha256_normalise (text, sha));
    assert_false (revocation_sha256_normalise ("", sha));

    int64_t seconds = -1, seq = -1;
    assert_true (revocation_page_token_parse ("", &seconds, &seq));
    assert_true (seconds == 0 && seq == 0);
    assert_true (revocation_page_token_parse ("1700000000:42", &seconds, &seq));
    assert_true (seconds == 1700000000 && seq == 42);
    assert_false (revocation_page_token_parse ("1700000000", &seconds, &seq));
    assert_false (revocation_page_token_parse ("17:0", &seconds, &seq));
    assert_false (revocation_page_token_parse ("-1:5", &seconds, &seq));
    assert_false (revocation_page_token_parse ("1:5:6", &seconds, &seq));
    assert_false (revocation_page_token_parse ("1:9999999999999999999", &seconds, &seq));
    assert_false (revocation_page_token_parse ("zz", &seconds, &seq));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_ids_and_text),
        cmocka_unit_test (test_serials),
        cmocka_unit_test (test_sha256_and_tokens),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
