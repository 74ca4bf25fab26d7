/*  Unit tests for mail_pdf: the PIN mailer is a PDF, its text is set in
    Windows-1252 (French and English fit), and a character it cannot print
    is refused rather than printed wrong.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mail_pdf.h"

static void
test_cp1252 (void **state)
{
    (void) state;
    char out [64];
    assert_int_equal (mail_pdf_cp1252 ("Élodie Dupré", out, sizeof out), 0);
    assert_string_equal (out, "\xc9lodie Dupr\xe9");
    assert_int_equal (mail_pdf_cp1252 ("Œuvre € “x” — ß ÿ Ÿ", out, sizeof out), 0);
    assert_string_equal (out, "\x8cuvre \x80 \x93x\x94 \x97 \xdf \xff \x9f");
    //  Outside Windows-1252: Polish Ł, Cyrillic, CJK, a control character.
    assert_int_equal (mail_pdf_cp1252 ("Łukasz", out, sizeof out), -1);
    assert_int_equal (mail_pdf_cp1252 ("Иван", out, sizeof out), -1);
    assert_int_equal (mail_pdf_cp1252 ("山田", out, sizeof out), -1);
    assert_int_equal (mail_pdf_cp1252 ("a\nb", out, sizeof out), -1);
    assert_int_equal (mail_pdf_cp1252 ("bad \xc3\x28", out, sizeof out), -1);
    //  Too long for the buffer.
    assert_int_equal (mail_pdf_cp1252 ("abcdef", out, 4), -1);
}

static mail_pdf_fields_t
s_fields (const char *name, const char *pin)
{
    static const char *lines [] = { "Bâtiment B", "12 rue de la Paix" };
    return (mail_pdf_fields_t) {
        .language = "fr", .recipient_name = name, .address_lines = lines,
        .address_line_count = 2, .postal_code = "75002", .city = "Paris",
        .country_code = "FR", .card_uuid = "0f0e0d0c-0b0a-4908-8706-050403020100", .pin = pin,
        .activation_code = "AC-1234ABCD", .sender = "tessera",
    };
}

static void
test_builds_a_pdf (void **state)
{
    (void) state;
    uint8_t *pdf = NULL;
    size_t size = 0;
    char err [160] = "";
    mail_pdf_fields_t fields = s_fields ("Élodie Dupré", "12345678");
    assert_int_equal (mail_pdf_build (&fields, &pdf, &size, err, sizeof err), 0);
    assert_true (size > 500);
    assert_memory_equal (pdf, "%PDF-", 5);
    free (pdf);
    //  A reissued activation code has no PIN; English words.
    fields = s_fields ("John Smith", NULL);
    fields.language = "en";
    fields.country_code = "BE";
    assert_int_equal (mail_pdf_build (&fields, &pdf, &size, err, sizeof err), 0);
    free (pdf);
}

static void
test_refuses_what_it_cannot_print (void **state)
{
    (void) state;
    uint8_t *pdf = NULL;
    size_t size = 0;
    char err [160] = "";
    mail_pdf_fields_t fields = s_fields ("Łukasz Nowak", "12345678");
    assert_int_equal (mail_pdf_build (&fields, &pdf, &size, err, sizeof err), -1);
    assert_null (pdf);
    assert_non_null (strstr (err, "Windows-1252"));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_cp1252),
        cmocka_unit_test (test_builds_a_pdf),
        cmocka_unit_test (test_refuses_what_it_cannot_print),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
