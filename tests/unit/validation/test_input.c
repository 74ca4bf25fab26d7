/*  Unit tests for validation_input (the bounds of every field) and for the
    four-eyes test of validation_decide: who entered a request never
    decides it.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "validation_decide.h"
#include "validation_input.h"

static void
test_ids (void **state)
{
    (void) state;
    assert_true (validation_id_valid ("cr-1"));
    assert_true (validation_id_valid ("a.B:c_d-9"));
    char id [80];
    memset (id, 'a', sizeof id);
    id [64] = 0;
    assert_true (validation_id_valid (id));
    id [64] = 'a';
    id [65] = 0;
    assert_false (validation_id_valid (id));
    assert_false (validation_id_valid (""));
    assert_false (validation_id_valid (NULL));
    assert_false (validation_id_valid ("cr 1"));
    assert_false (validation_id_valid ("cr';DROP TABLE decisions;--"));
    assert_false (validation_id_valid ("é"));
    assert_true (validation_optional_id_valid (""));
    assert_true (validation_optional_id_valid ("b-1"));
    assert_false (validation_optional_id_valid ("b/1"));
}

static void
test_text (void **state)
{
    (void) state;
    assert_true (validation_text_valid ("Pièce d'identité expirée", 1, 512));
    assert_true (validation_text_valid ("", 0, 512));
    assert_false (validation_text_valid ("", 1, 512));
    assert_false (validation_text_valid ("two\nlines", 1, 512));
    assert_false (validation_text_valid ("c1 \xc2\x9b", 1, 512));
    assert_false (validation_text_valid ("bad \xfe", 1, 512));
    //  Counted in characters: 3 of them, 6 bytes.
    assert_true (validation_text_valid ("ééé", 3, 3));
    assert_false (validation_text_valid ("éééé", 1, 3));
    assert_int_equal (validation_utf8_length ("ééé"), 3);
    assert_int_equal (validation_utf8_length ("\xff"), -1);
}

static void
test_secrets_and_tokens (void **state)
{
    (void) state;
    char secret [200];
    memset (secret, 'p', sizeof secret);
    secret [128] = 0;
    assert_true (validation_secret_valid (secret, 128));
    secret [128] = 'p';
    secret [129] = 0;
    assert_false (validation_secret_valid (secret, 128));
    assert_false (validation_secret_valid ("", 128));
    assert_true (validation_page_token_valid (""));
    assert_true (validation_page_token_valid ("12345"));
    assert_false (validation_page_token_valid ("a b"));
    assert_false (validation_page_token_valid ("é"));
}

static void
test_four_eyes (void **state)
{
    (void) state;
    const char *key = "rq:C<&}{0b/Tgm4KoU[K7Qbk+EG6eKpr%!$[1eH{";
    //  The entry operator, by operator id or by key: refused.
    assert_true (validation_entered_by_caller ("op-1", "op-1", key));
    assert_true (validation_entered_by_caller (key, "op-1", key));
    //  Someone else: allowed.
    assert_false (validation_entered_by_caller ("op-2", "op-1", key));
    //  Nobody known entered it: four eyes cannot be shown, refused.
    assert_true (validation_entered_by_caller ("", "op-1", key));
    assert_true (validation_entered_by_caller (NULL, "op-1", key));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_ids),
        cmocka_unit_test (test_text),
        cmocka_unit_test (test_secrets_and_tokens),
        cmocka_unit_test (test_four_eyes),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
