/*  Unit tests for the pure parts of revocation_suspension: the reason codes'
    names (the CLI spells them the same) and the card's reason at perso,
    cut to perso's bound at a character boundary.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "revocation_suspension.h"
#include "tessera/utf8.h"

static void
test_reason_names (void **state)
{
    (void) state;
    assert_string_equal (revocation_suspension_reason_name (1), "card-mislaid");
    assert_string_equal (revocation_suspension_reason_name (6), "other");
    assert_string_equal (revocation_suspension_reason_name (0), "?");
    assert_string_equal (revocation_suspension_reason_name (7), "?");
    assert_string_equal (revocation_resume_reason_name (1), "card-found");
    assert_string_equal (revocation_resume_reason_name (5), "other");
    assert_string_equal (revocation_resume_reason_name (6), "?");
}

static void
test_card_reason (void **state)
{
    (void) state;
    char out [512];
    revocation_card_reason (out, sizeof out, "suspension", "su-0011", "card-mislaid",
                            "carte égarée");
    assert_string_equal (out, "suspension su-0011 (card-mislaid): carte égarée");
    //  A long note of two-byte characters: cut at 400 bytes at the most,
    //  never inside a character, so perso's check (printable UTF-8, 512
    //  characters) takes it.
    char note [1001];
    size_t length = 0;
    while (length + 2 < sizeof note) {
        memcpy (note + length, "é", 2);
        length += 2;
    }
    note [length] = 0;
    revocation_card_reason (out, sizeof out, "suspension", "su-0011", "other", note);
    const char *cut = strstr (out, "): ") + 3;
    assert_true (strlen (cut) <= 400 && strlen (cut) >= 398);
    assert_int_equal (strlen (cut) % 2, 0);
    assert_true (tsr_text_chars (out) <= 512);
    //  A tiny buffer is never overrun.
    char small [16];
    revocation_card_reason (small, sizeof small, "suspension", "su-0011", "other", "x");
    assert_true (strlen (small) < sizeof small);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_reason_names),
        cmocka_unit_test (test_card_reason),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
