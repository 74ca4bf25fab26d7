/*  Unit tests for portal_form: the holder's input is refused whole when
    any field breaks the bounds, before any page reads it.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "portal_form.h"

static int
s_parse (portal_form_t *form, const char *body)
{
    char err [128];
    memset (form, 0, sizeof *form);
    return portal_form_parse (form, body, strlen (body), err, sizeof err);
}

static void
test_fields_are_decoded (void **state)
{
    (void) state;
    portal_form_t form;
    assert_int_equal (s_parse (&form, "login=a%40b.fr&password=x+y%2Bz&empty=&flag"), 0);
    assert_int_equal (form.count, 4);
    assert_string_equal (portal_form_get (&form, "login"), "a@b.fr");
    assert_string_equal (portal_form_get (&form, "password"), "x y+z");
    assert_string_equal (portal_form_get (&form, "empty"), "");
    assert_string_equal (portal_form_get (&form, "flag"), "");
    assert_null (portal_form_get (&form, "missing"));
    portal_form_clear (&form);
    assert_int_equal (form.count, 0);
    assert_int_equal (s_parse (&form, "q=%C3%89lodie&&a=1&"), 0);
    assert_string_equal (portal_form_get (&form, "q"), "Élodie");
    portal_form_clear (&form);
    assert_int_equal (s_parse (&form, ""), 0);
    assert_int_equal (form.count, 0);
}

static void
test_malformed_forms_are_refused_whole (void **state)
{
    (void) state;
    const char *bad [] = {
        "a=%FF",                    //  not UTF-8
        "a=%C0%BC",                 //  overlong
        "a=x%00y",                  //  NUL
        "a=%4",                     //  cut escape
        "a=%zz",                    //  not hex
        "a=1&a=2",                  //  twice
        "A=1",                      //  name out of bounds
        "bad-name=1",
        "=1",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1",     //  33 characters
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        portal_form_t form;
        assert_int_equal (s_parse (&form, bad [i]), -1);
        assert_int_equal (form.count, 0);
    }
    char many [1024] = "";
    for (int i = 0; i < 33; i++) {
        char field [16];
        snprintf (field, sizeof field, "f%d=1&", i);
        strcat (many, field);
    }
    portal_form_t form;
    assert_int_equal (s_parse (&form, many), -1);
}

static void
test_text_bounds (void **state)
{
    (void) state;
    assert_true (portal_text_valid ("Élodie", 1, 6, 64, false));
    assert_false (portal_text_valid ("Élodie", 1, 5, 64, false));      //  6 characters
    assert_false (portal_text_valid ("Élodie", 1, 6, 6, false));       //  7 bytes
    assert_false (portal_text_valid ("", 1, 6, 64, false));
    assert_true (portal_text_valid ("", 0, 6, 64, false));
    assert_false (portal_text_valid ("a\nb", 1, 6, 64, false));
    assert_true (portal_text_valid ("a\r\nb", 1, 6, 64, true));
    assert_false (portal_text_valid ("a\x01" "b", 1, 6, 64, true));
    assert_false (portal_text_valid ("a\xC2\x85", 1, 6, 64, false));   //  C1 control
    assert_false (portal_text_valid (NULL, 0, 6, 64, false));
    assert_true (portal_id_valid ("per-7ae3:x.y_z", 64));
    assert_false (portal_id_valid ("a b", 64));
    assert_false (portal_id_valid ("", 64));
    assert_false (portal_id_valid ("abc", 2));
    assert_false (portal_id_valid ("<x>", 64));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_fields_are_decoded),
        cmocka_unit_test (test_malformed_forms_are_refused_whole),
        cmocka_unit_test (test_text_bounds),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
