/*  Unit tests for validation_answer: the normal form decides whether the
    holder's answer at the portal and the one typed by the phone operator
    match, so each folding rule is pinned to exact output.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "validation_answer.h"

static void
s_expect (const char *input, const char *expected)
{
    char out [VALIDATION_NORMALISED_SIZE];
    int len = validation_answer_normalise (input, VALIDATION_ANSWER_MAX_CHARS, out, sizeof out);
    if (len < 0 || strcmp (out, expected) != 0)
        fail_msg ("normalise(\"%s\") gave %d \"%s\", expected \"%s\"", input, len,
                  len < 0 ? "" : out, expected);
    assert_int_equal ((size_t) len, strlen (expected));
}

static void
s_refused (const char *input)
{
    char out [VALIDATION_NORMALISED_SIZE];
    if (validation_answer_normalise (input, VALIDATION_ANSWER_MAX_CHARS, out, sizeof out) >= 0)
        fail_msg ("normalise(\"%s\") should be refused, gave \"%s\"", input, out);
}

static void
test_ascii_case_is_folded (void **state)
{
    (void) state;
    s_expect ("Paris", "paris");
    s_expect ("RUE DU BAC", "rue du bac");
    s_expect ("already lower 42", "already lower 42");
}

static void
test_latin1_accents_are_folded (void **state)
{
    (void) state;
    s_expect ("Élodie Dupré", "elodie dupre");
    s_expect ("ÀÁÂÃÄÅ àáâãäå", "aaaaaa aaaaaa");
    s_expect ("Çà et là, où ça ?", "ca et la, ou ca ?");
    s_expect ("Ñandú", "nandu");
    s_expect ("ØÖÔ øöô", "ooo ooo");
    s_expect ("Ýÿ", "yy");
    s_expect ("Ðð", "dd");
    //  Ligatures and sharp s are spelt out, so "Straße" matches "strasse".
    s_expect ("Straße", "strasse");
    s_expect ("Æsir", "aesir");
    s_expect ("Þórr", "thorr");
    //  Multiplication and division signs are not letters: kept.
    s_expect ("2×3÷4", "2×3÷4");
}

static void
test_latin_extended_a_is_folded (void **state)
{
    (void) state;
    s_expect ("Œuvre cœur", "oeuvre coeur");
    s_expect ("Łódź", "lodz");
    s_expect ("Dvořák", "dvorak");
    s_expect ("Ĳsselmeer", "ijsselmeer");
    s_expect ("Şişli", "sisli");
    s_expect ("ŸVES", "yves");
}

static void
test_decomposed_accents_match_precomposed (void **state)
{
    (void) state;
    //  "e" + COMBINING ACUTE ACCENT (U+0301), "A" + COMBINING GRAVE (U+0300)
    s_expect ("E\xcc\x81lodie", "elodie");
    s_expect ("A\xcc\x80 demain", "a demain");
}

static void
test_white_space_is_collapsed_and_trimmed (void **state)
{
    (void) state;
    s_expect ("  le   chat \t noir  ", "le chat noir");
    s_expect ("\tnew\nline\r\n", "new line");
    //  No-break space (U+00A0), narrow no-break (U+202F), ideographic (U+3000).
    s_expect ("a\xc2\xa0" "b\xe2\x80\xaf" "c\xe3\x80\x80" "d", "a b c d");
}

static void
test_typographic_apostrophes_and_hyphens (void **state)
{
    (void) state;
    s_expect ("l\xe2\x80\x99" "été", "l'ete");
    s_expect ("Jean\xe2\x80\x90Pierre", "jean-pierre");
}

static void
test_other_scripts_are_kept (void **state)
{
    (void) state;
    s_expect ("Ωμέγα", "Ωμέγα");
    s_expect ("東京", "東京");
}

static void
test_bad_input_is_refused (void **state)
{
    (void) state;
    s_refused ("");
    s_refused ("   ");
    s_refused ("\xc2\xa0\t");
    s_refused ("bell\x07");
    s_refused ("del\x7f");
    s_refused ("c1\xc2\x85");           //  NEXT LINE (U+0085), a C1 control
    s_refused ("bad \xff byte");
    s_refused ("over\xc0\xaflong");     //  overlong '/'
    s_refused ("\xed\xa0\x80");         //  a surrogate
}

static void
test_length_is_counted_in_characters (void **state)
{
    (void) state;
    char text [4 * VALIDATION_ANSWER_MAX_CHARS + 8] = "";
    char out [VALIDATION_NORMALISED_SIZE];
    //  128 two-byte characters: accepted, and folded to 128 bytes.
    for (int i = 0; i < VALIDATION_ANSWER_MAX_CHARS; i++)
        strcat (text, "é");
    assert_int_equal (validation_answer_normalise (text, VALIDATION_ANSWER_MAX_CHARS, out,
                                                   sizeof out), VALIDATION_ANSWER_MAX_CHARS);
    strcat (text, "é");
    assert_int_equal (validation_answer_normalise (text, VALIDATION_ANSWER_MAX_CHARS, out,
                                                   sizeof out), -1);
    //  The worst case fits: 128 four-byte characters.
    text [0] = 0;
    for (int i = 0; i < VALIDATION_ANSWER_MAX_CHARS; i++)
        strcat (text, "\xf0\x9f\x98\x80");
    assert_int_equal (validation_answer_normalise (text, VALIDATION_ANSWER_MAX_CHARS, out,
                                                   sizeof out), 4 * VALIDATION_ANSWER_MAX_CHARS);
    //  A buffer too small is refused, not overrun.
    char small [4];
    assert_int_equal (validation_answer_normalise ("abcdef", 10, small, sizeof small), -1);
}

static void
test_equivalent_answers_meet (void **state)
{
    (void) state;
    const char *forms [] = { "Élodie  Dupré", "elodie dupre", " ELODIE DUPRE ",
                             "E\xcc\x81lodie Dupre\xcc\x81", "élodie\xc2\xa0" "dupré" };
    char first [VALIDATION_NORMALISED_SIZE], other [VALIDATION_NORMALISED_SIZE];
    assert_true (validation_answer_normalise (forms [0], 128, first, sizeof first) > 0);
    for (size_t i = 1; i < sizeof forms / sizeof forms [0]; i++) {
        assert_true (validation_answer_normalise (forms [i], 128, other, sizeof other) > 0);
        assert_string_equal (first, other);
    }
    assert_true (validation_answer_normalise ("Elodie Dupont", 128, other, sizeof other) > 0);
    assert_string_not_equal (first, other);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_ascii_case_is_folded),
        cmocka_unit_test (test_latin1_accents_are_folded),
        cmocka_unit_test (test_latin_extended_a_is_folded),
        cmocka_unit_test (test_decomposed_accents_match_precomposed),
        cmocka_unit_test (test_white_space_is_collapsed_and_trimmed),
        cmocka_unit_test (test_typographic_apostrophes_and_hyphens),
        cmocka_unit_test (test_other_scripts_are_kept),
        cmocka_unit_test (test_bad_input_is_refused),
        cmocka_unit_test (test_length_is_counted_in_characters),
        cmocka_unit_test (test_equivalent_answers_meet),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
