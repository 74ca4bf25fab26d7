/*  Unit tests for mail_header: nothing a name, a subject or an address
    holds can end a header line. Line breaks and other control characters
    are refused, never stripped; what is not plain ASCII travels as RFC 2047
    encoded words; addresses are plain local@domain.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <string.h>

#include "mail_header.h"

//  The header text of one field written into a fresh buffer ("" when
//  refused).
static char *
s_text (const char *name, const char *value)
{
    static char out [1024];
    mail_buf_t buf = MAIL_BUF_INIT;
    int rc = mail_header_text (&buf, name, value, MAIL_SUBJECT_MAX);
    snprintf (out, sizeof out, "%s", rc == 0 && buf.data ? buf.data : "");
    mail_buf_wipe (&buf);
    return rc == 0 ? out : "";
}

static void
test_line_breaks_and_controls_are_refused (void **state)
{
    (void) state;
    const char *bad [] = {
        "Hello\r\nBcc: evil@example.org", "Hello\nBcc: evil@example.org", "Hello\rX",
        "tab\there", "bell\a", "del\x7f", "c1\xc2\x85next line",
        "line\xe2\x80\xa8separator", "para\xe2\x80\xa9separator", "bidi\xe2\x80\xaeoverride",
        "bad utf-8 \xc3\x28", "", NULL
    };
    for (int i = 0; bad [i]; i++) {
        mail_buf_t buf = MAIL_BUF_INIT;
        if (mail_header_text (&buf, "Subject", bad [i], MAIL_SUBJECT_MAX) == 0)
            fail_msg ("subject %d was accepted: %s", i, buf.data);
        assert_int_equal (buf.len, 0);
        assert_int_equal (mail_header_mailbox (&buf, "To", bad [i], "a@example.fr"),
                          *bad [i] ? -1 : 0);
        mail_buf_wipe (&buf);
    }
}

static void
test_plain_ascii_is_written_as_is (void **state)
{
    (void) state;
    assert_string_equal (s_text ("Subject", "Batch bat-1 awaits validation"),
                         "Subject: Batch bat-1 awaits validation\r\n");
}

//  Decodes every =?UTF-8?B?...?= of text and joins them.
static void
s_decode_words (const char *text, char *out, size_t size)
{
    size_t used = 0;
    for (const char *p = strstr (text, "=?UTF-8?B?"); p; p = strstr (p, "=?UTF-8?B?")) {
        p += 10;
        const char *end = strstr (p, "?=");
        unsigned char decoded [128];
        int len = EVP_DecodeBlock (decoded, (const unsigned char *) p, (int) (end - p));
        //  EVP_DecodeBlock counts padding as bytes.
        int pad = (end [-1] == '=') + (end [-2] == '=');
        memcpy (out + used, decoded, (size_t) (len - pad));
        used += (size_t) (len - pad);
        p = end + 2;
    }
    out [used] = 0;
    assert_true (used < size);
}

static void
test_non_ascii_becomes_encoded_words_that_round_trip (void **state)
{
    (void) state;
    const char *subject = "Révocation de votre certificat confirmée — « très » longue, "
                          "très longue, pour être coupée en plusieurs mots encodés ✓";
    const char *text = s_text ("Subject", subject);
    assert_true (strncmp (text, "Subject: =?UTF-8?B?", 19) == 0);
    //  No raw byte above 0x7f, lines folded, each encoded word <= 75.
    for (const char *p = text; *p; p++)
        assert_true ((unsigned char) *p < 0x80);
    for (const char *line = text; *line; ) {
        const char *end = strstr (line, "\r\n");
        assert_non_null (end);
        assert_true (end - line <= 78);
        line = end + 2;
        if (*line)
            assert_true (*line == ' ');
    }
    char decoded [512];
    s_decode_words (text, decoded, sizeof decoded);
    assert_string_equal (decoded, subject);
}

static void
test_ascii_that_looks_like_an_encoded_word_is_encoded (void **state)
{
    (void) state;
    const char *text = s_text ("Subject", "=?UTF-8?B?ZXZpbA==?=");
    char decoded [64];
    s_decode_words (text, decoded, sizeof decoded);
    assert_string_equal (decoded, "=?UTF-8?B?ZXZpbA==?=");
}

static void
test_display_names (void **state)
{
    (void) state;
    mail_buf_t buf = MAIL_BUF_INIT;
    assert_int_equal (mail_header_mailbox (&buf, "To", "Jean Martin", "jean@example.fr"), 0);
    assert_string_equal (buf.data, "To: Jean Martin\r\n <jean@example.fr>\r\n");
    mail_buf_wipe (&buf);
    //  Specials (a comma, quotes, angle brackets) are never written raw.
    assert_int_equal (mail_header_mailbox (&buf, "To", "Martin, Jean <x@y.fr>", "j@example.fr"), 0);
    assert_null (strstr (buf.data, "Martin,"));
    assert_true (strncmp (buf.data, "To: =?UTF-8?B?", 14) == 0);
    mail_buf_wipe (&buf);
    assert_int_equal (mail_header_mailbox (&buf, "To", "", "j@example.fr"), 0);
    assert_string_equal (buf.data, "To: <j@example.fr>\r\n");
    mail_buf_wipe (&buf);
}

static void
test_addresses (void **state)
{
    (void) state;
    const char *good [] = { "a@example.fr", "jean.martin+cartes@sub.example.fr",
                            "o'brien@example.ie", NULL };
    const char *bad [] = { "", "a", "@example.fr", "a@", "a@b", "a@@example.fr",
                           "a@example.fr\r\nBcc: x@y.fr", "a b@example.fr", "<a@example.fr>",
                           "a@example.fr>", "a.@example.fr", ".a@example.fr", "a..b@example.fr",
                           "a@-example.fr", "a@example-.fr", "a@exa_mple.fr", "é@example.fr",
                           "a@example.fr,b@example.fr", NULL };
    for (int i = 0; good [i]; i++)
        if (!mail_address_valid (good [i]))
            fail_msg ("refused %s", good [i]);
    for (int i = 0; bad [i]; i++)
        if (mail_address_valid (bad [i]))
            fail_msg ("accepted %s", bad [i]);
    char long_local [80];
    memset (long_local, 'a', 65);
    snprintf (long_local + 65, sizeof long_local - 65, "@example.fr");
    assert_false (mail_address_valid (long_local));
}

static void
test_from_setting_is_parsed (void **state)
{
    (void) state;
    char display [64], address [256];
    assert_int_equal (mail_mailbox_parse ("tessera <noreply@tessera.example>", display,
                                          sizeof display, address, sizeof address), 0);
    assert_string_equal (display, "tessera");
    assert_string_equal (address, "noreply@tessera.example");
    assert_int_equal (mail_mailbox_parse ("noreply@tessera.example", display, sizeof display,
                                          address, sizeof address), 0);
    assert_string_equal (display, "");
    assert_int_equal (mail_mailbox_parse ("x <a@b.fr> trailing", display, sizeof display,
                                          address, sizeof address), -1);
    assert_int_equal (mail_mailbox_parse ("x\r\nBcc: y <a@b.fr>", display, sizeof display,
                                          address, sizeof address), -1);
    assert_int_equal (mail_mailbox_parse ("x <not an address>", display, sizeof display,
                                          address, sizeof address), -1);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_line_breaks_and_controls_are_refused),
        cmocka_unit_test (test_plain_ascii_is_written_as_is),
        cmocka_unit_test (test_non_ascii_becomes_encoded_words_that_round_trip),
        cmocka_unit_test (test_ascii_that_looks_like_an_encoded_word_is_encoded),
        cmocka_unit_test (test_display_names),
        cmocka_unit_test (test_addresses),
        cmocka_unit_test (test_from_setting_is_parsed),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
