/*  Unit tests for enrollment_input: the bounds of the registry's input.
    Lengths in characters (code points), control characters and the
    bidirectional overrides refused, invalid UTF-8 refused, e-mail
    addresses, SHA-256 hex, identifiers, postal addresses in the French
    layout, dates and page tokens.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "enrollment_input.h"

static void
test_text_counts_characters_not_bytes (void **state)
{
    (void) state;
    char name [4 * 65 + 1] = "";
    for (int i = 0; i < 64; i++)
        strcat (name, "é");                         //  2 bytes each
    assert_int_equal (tsr_text_chars (name), 64);
    assert_true (tsr_text_valid (name, 64));
    strcat (name, "é");
    assert_false (tsr_text_valid (name, 64));
    assert_true (tsr_text_valid ("𝔄𝔅", 2));    //  4 bytes each
}

static void
test_text_refuses_controls_and_bad_utf8 (void **state)
{
    (void) state;
    const char *bad [] = {
        "Jean\x07", "Jean\nPierre", "Jean\tPierre", "Jean\x7f", "Ren\xc2\x85", "a\xe2\x80\xa8" "b",
        "\xe2\x80\xae" "evil", "\xe2\x81\xa6" "x", "\xe2\x80\x8f" "x",
        "J\xc3\x28n", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff",
        "", " Jean", "Jean ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        if (tsr_text_valid (bad [i], 64))
            fail_msg ("accepted bad text %zu", i);
    assert_true (tsr_text_valid ("Jean-Pierre d'Orléans", 64));
    assert_true (tsr_text_valid ("O'Brien; DROP TABLE x; --", 64));
    //  Free text may be empty but not controlled.
    assert_true (tsr_free_text_valid ("", 10));
    assert_false (tsr_free_text_valid ("a\x01", 10));
    assert_false (tsr_free_text_valid ("abcdefghijk", 10));
    assert_int_equal (tsr_text_chars (NULL), SIZE_MAX);
}

static void
test_email (void **state)
{
    (void) state;
    assert_true (enrollment_email_valid ("jean.dupont@exemple.fr"));
    assert_true (enrollment_email_valid ("o'brien+tag@mail.exemple.co.uk"));
    const char *bad [] = { "", "jean", "jean@", "@exemple.fr", "jean@exemple", "jean@@exemple.fr",
                           "jean@exemple..fr", ".jean@exemple.fr", "jean.@exemple.fr", "je..an@exemple.fr",
                           "jean@-exemple.fr", "jean@exemple-.fr", "jean dupont@exemple.fr",
                           "jéan@exemple.fr", "jean@exemple.fr\n" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        if (enrollment_email_valid (bad [i]))
            fail_msg ("accepted %s", bad [i]);
    char long_local [80];
    memset (long_local, 'a', 65);
    snprintf (long_local + 65, sizeof long_local - 65, "@exemple.fr");
    assert_false (enrollment_email_valid (long_local));
}

static void
test_hex_and_ids (void **state)
{
    (void) state;
    char sha [65];
    memset (sha, 'a', 64);
    sha [64] = 0;
    assert_true (enrollment_sha256_hex_valid (sha));
    sha [10] = 'A';
    assert_false (enrollment_sha256_hex_valid (sha));
    sha [10] = 'g';
    assert_false (enrollment_sha256_hex_valid (sha));
    assert_false (enrollment_sha256_hex_valid (""));
    assert_true (enrollment_id_valid ("org-0123456789abcdef", "org-"));
    assert_false (enrollment_id_valid ("org-0123456789ABCDEF", "org-"));
    assert_false (enrollment_id_valid ("per-0123456789abcdef", "org-"));
    assert_false (enrollment_id_valid ("org-0123456789abcde", "org-"));
    assert_true (enrollment_id_valid ("op-0123456789abcdef", "op-"));
    char id [ENROLLMENT_ID_SIZE], other [ENROLLMENT_ID_SIZE];
    assert_int_equal (enrollment_id_new ("req-", id), 0);
    assert_int_equal (enrollment_id_new ("req-", other), 0);
    assert_true (enrollment_id_valid (id, "req-"));
    assert_string_not_equal (id, other);
    assert_int_equal (enrollment_id_new ("op-", id), -1);       //  prefixes are 4 characters
}

static void
test_postal_address (void **state)
{
    (void) state;
    char err [256];
    char *lines [] = { "12 rue de la Paix", "Bâtiment B" };
    Tessera__V1__PostalAddress address = TESSERA__V1__POSTAL_ADDRESS__INIT;
    address.lines = lines;
    address.n_lines = 2;
    address.postal_code = "75002";
    address.city = "PARIS";
    address.country_code = "FR";
    assert_true (enrollment_address_valid (&address, err, sizeof err));
    address.postal_code = "7500";
    assert_false (enrollment_address_valid (&address, err, sizeof err));
    assert_non_null (strstr (err, "postal_address.postal_code"));
    address.country_code = "CH";
    address.postal_code = "CH-8001";
    assert_true (enrollment_address_valid (&address, err, sizeof err));
    address.country_code = "ch";
    assert_false (enrollment_address_valid (&address, err, sizeof err));
    address.country_code = "FR";
    address.postal_code = "75002";
    //  "75002 " + 32 characters = 38: fits; one more does not.
    address.city = "SAINT-RÉMY-EN-BOUZEMONT-SAINT-GE";
    assert_true (enrollment_address_valid (&address, err, sizeof err));
    address.city = "SAINT-RÉMY-EN-BOUZEMONT-SAINT-GEN";
    assert_false (enrollment_address_valid (&address, err, sizeof err));
    assert_non_null (strstr (err, "postal_address.city"));
    address.city = "PARIS";
    lines [1] = "Bâtiment B, escalier C, 4e étage, porte 12";
    assert_false (enrollment_address_valid (&address, err, sizeof err));
    assert_non_null (strstr (err, "postal_address.lines[1]"));
    lines [1] = "Bâtiment B";
    address.n_lines = 0;
    assert_false (enrollment_address_valid (&address, err, sizeof err));
    assert_false (enrollment_address_valid (NULL, err, sizeof err));
    assert_string_equal (err, "postal_address is required");
}

static void
test_dates_and_pages (void **state)
{
    (void) state;
    int64_t now = INT64_C (1715349600);
    assert_true (enrollment_date_valid (now, now));
    assert_true (enrollment_date_valid (now + ENROLLMENT_CLOCK_SKEW_S, now));
    assert_false (enrollment_date_valid (now + ENROLLMENT_CLOCK_SKEW_S + 1, now));
    assert_false (enrollment_date_valid (0, now));
    assert_false (enrollment_date_valid (-5, now));
    char date [16];
    enrollment_date_format (now, date);
    assert_string_equal (date, "2024-05-10");
    int64_t after;
    assert_true (enrollment_page_token_parse ("", &after) && after == 0);
    assert_true (enrollment_page_token_parse ("42", &after) && after == 42);
    assert_false (enrollment_page_token_parse ("-1", &after));
    assert_false (enrollment_page_token_parse ("1e3", &after));
    assert_false (enrollment_page_token_parse ("1234567890123456789", &after));
    assert_int_equal (enrollment_page_limit (0), ENROLLMENT_PAGE_MAX);
    assert_int_equal (enrollment_page_limit (5), 5);
    assert_int_equal (enrollment_page_limit (100000), ENROLLMENT_PAGE_MAX);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_text_counts_characters_not_bytes),
        cmocka_unit_test (test_text_refuses_controls_and_bad_utf8),
        cmocka_unit_test (test_email),
        cmocka_unit_test (test_hex_and_ids),
        cmocka_unit_test (test_postal_address),
        cmocka_unit_test (test_dates_and_pages),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
