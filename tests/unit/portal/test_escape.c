/*  Unit tests for portal_buf: every value a page shows goes through
    portal_buf_escape, so a holder's name or a service's message can never
    become markup.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "portal_buf.h"

static char *
s_escaped (const char *text)
{
    portal_buf_t buf;
    portal_buf_init (&buf);
    portal_buf_escape (&buf, text);
    return portal_buf_take (&buf, NULL);
}

static void
test_markup_characters_become_entities (void **state)
{
    (void) state;
    char *out = s_escaped ("<script>alert('x')</script> & \"q\"");
    assert_string_equal (out,
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
    free (out);
}

static void
test_utf8_is_kept_and_invalid_bytes_replaced (void **state)
{
    (void) state;
    char *out = s_escaped ("Élodie Dupré – ok");
    assert_string_equal (out, "Élodie Dupré – ok");
    free (out);
    //  A lone continuation byte, an overlong '<' (C0 BC), a C1 control,
    //  DEL and a NUL-free C0 control: none passes through.
    out = s_escaped ("a\x80" "b\xC0\xBC" "c\xC2\x85" "d\x7F" "e\x01" "f");
    assert_null (strchr (out, '<'));
    assert_null (strchr (out, 0x7F));
    assert_null (strchr (out, 0x01));
    assert_non_null (strstr (out, "a\xEF\xBF\xBD" "b"));
    free (out);
    out = s_escaped ("line\nnext\ttab");
    assert_string_equal (out, "line\nnext\ttab");
    free (out);
    out = s_escaped (NULL);
    assert_string_equal (out, "");
    free (out);
}

static void
test_printf_and_growth (void **state)
{
    (void) state;
    portal_buf_t buf;
    portal_buf_init (&buf);
    for (int i = 0; i < 1000; i++)
        portal_buf_printf (&buf, "%d,", i);
    char long_text [600];
    memset (long_text, 'x', sizeof long_text - 1);
    long_text [sizeof long_text - 1] = '\0';
    portal_buf_printf (&buf, "[%s]", long_text);
    size_t size = 0;
    char *out = portal_buf_take (&buf, &size);
    assert_non_null (out);
    assert_int_equal (size, strlen (out));
    assert_true (strncmp (out, "0,1,2,", 6) == 0);
    assert_non_null (strstr (out, "999,[xxx"));
    free (out);
}

static void
test_the_cap_fails_the_buffer (void **state)
{
    (void) state;
    portal_buf_t buf;
    portal_buf_init (&buf);
    char *chunk = malloc (1024 * 1024);
    assert_non_null (chunk);
    memset (chunk, 'a', 1024 * 1024);
    for (int i = 0; i < 5; i++)
        portal_buf_append (&buf, chunk, 1024 * 1024);
    free (chunk);
    assert_true (buf.failed);
    portal_buf_puts (&buf, "more");
    assert_null (portal_buf_take (&buf, NULL));
    assert_null (buf.data);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_markup_characters_become_entities),
        cmocka_unit_test (test_utf8_is_kept_and_invalid_bytes_replaced),
        cmocka_unit_test (test_printf_and_growth),
        cmocka_unit_test (test_the_cap_fails_the_buffer),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
