/*  Unit tests for enrollment_siret: the Luhn check over the 14 digits of a
    SIRET, and La Poste's documented exception (SIREN 356000000: the plain
    digit sum a multiple of 5, or Luhn as its head office passes).
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "enrollment_siret.h"

static void
test_luhn_known_numbers (void **state)
{
    (void) state;
    assert_true (enrollment_luhn_valid ("79927398713", 11));     //  the textbook example
    assert_false (enrollment_luhn_valid ("79927398710", 11));
    assert_true (enrollment_luhn_valid ("732829320", 9));         //  a SIREN
    assert_true (enrollment_luhn_valid ("0", 1));
    assert_false (enrollment_luhn_valid ("", 0));
    assert_false (enrollment_luhn_valid ("7992739871x", 11));
    assert_false (enrollment_luhn_valid ("79927398713", 10));     //  length must match
}

static void
test_real_sirets_pass (void **state)
{
    (void) state;
    assert_true (enrollment_siret_valid ("73282932000074"));
    assert_true (enrollment_siret_valid ("55208131766522"));     //  EDF
    assert_true (enrollment_siret_valid ("13002526500013"));     //  a public administration
}

static void
test_one_changed_digit_fails (void **state)
{
    (void) state;
    char siret [] = "73282932000074";
    //  Luhn catches every single-digit change.
    for (size_t i = 0; i < 14; i++) {
        char kept = siret [i];
        for (char digit = '0'; digit <= '9'; digit++) {
            if (digit == kept)
                continue;
            siret [i] = digit;
            if (enrollment_siret_valid (siret))
                fail_msg ("%s passed", siret);
        }
        siret [i] = kept;
    }
    //  And a swap of two different neighbours.
    assert_false (enrollment_siret_valid ("37282932000074"));
}

static void
test_malformed_refused (void **state)
{
    (void) state;
    assert_false (enrollment_siret_valid (NULL));
    assert_false (enrollment_siret_valid (""));
    assert_false (enrollment_siret_valid ("7328293200007"));      //  13 digits
    assert_false (enrollment_siret_valid ("732829320000740"));    //  15 digits
    assert_false (enrollment_siret_valid ("732 829 320 00074"));
    assert_false (enrollment_siret_valid ("7328293200007a"));
    assert_false (enrollment_siret_valid ("-3282932000074"));
}

static void
test_la_poste_exception (void **state)
{
    (void) state;
    //  The head office passes Luhn (its digit sum, 26, is not a multiple of 5).
    assert_true (enrollment_luhn_valid ("35600000000048", 14));
    assert_true (enrollment_siret_valid ("35600000000048"));
    //  An establishment: digit sum 15, not Luhn-valid, valid by the exception.
    assert_false (enrollment_luhn_valid ("35600000000001", 14));
    assert_true (enrollment_siret_valid ("35600000000001"));
    //  Sum 45: valid; sum 54: refused.
    assert_false (enrollment_luhn_valid ("35600000049990", 14));
    assert_true (enrollment_siret_valid ("35600000049990"));
    assert_false (enrollment_siret_valid ("35600000049999"));
}

static void
test_la_poste_sums (void **state)
{
    (void) state;
    //  Every NIC of La Poste: valid exactly when Luhn or the digit sum says so.
    char siret [15];
    int accepted = 0, by_sum_only = 0;
    for (int nic = 0; nic < 100000; nic++) {
        snprintf (siret, sizeof siret, "356000000%05d", nic);
        int sum = 14;   //  3 + 5 + 6
        for (int i = 9; i < 14; i++)
            sum += siret [i] - '0';
        bool luhn = enrollment_luhn_valid (siret, 14);
        bool expected = luhn || sum % 5 == 0;
        if (enrollment_siret_valid (siret) != expected)
            fail_msg ("%s: expected %d", siret, expected);
        accepted += expected;
        by_sum_only += expected && !luhn;
    }
    assert_true (by_sum_only > 0);
    assert_true (accepted < 100000 / 2);
    //  The exception is La Poste's only: the same digits under another
    //  SIREN do not pass.
    assert_false (enrollment_siret_valid ("35600000100001"));
    assert_false (enrollment_siret_valid ("45600000000001"));
    assert_false (enrollment_siret_valid ("35600000000002"));     //  sum 16, not Luhn
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_luhn_known_numbers),
        cmocka_unit_test (test_real_sirets_pass),
        cmocka_unit_test (test_one_changed_digit_fails),
        cmocka_unit_test (test_malformed_refused),
        cmocka_unit_test (test_la_poste_exception),
        cmocka_unit_test (test_la_poste_sums),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
