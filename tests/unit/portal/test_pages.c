/*  Unit tests for the portal's words and pages: both languages have every
    text, Accept-Language picks the right one, every embedded template
    renders, escapes what it is given, and refuses holes.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "portal_i18n.h"
#include "portal_template.h"

static void
test_every_text_in_both_languages (void **state)
{
    (void) state;
    int count = 0;
    for (const char *const *key = portal_text_keys (); *key; key++, count++) {
        const char *fr = portal_text (PORTAL_LANG_FR, *key);
        const char *en = portal_text (PORTAL_LANG_EN, *key);
        assert_non_null (fr);
        assert_non_null (en);
        assert_true (*fr && *en);
    }
    assert_true (count > 50);
    assert_null (portal_text (PORTAL_LANG_FR, "no such key"));
}

static void
test_accept_language (void **state)
{
    (void) state;
    assert_int_equal (portal_lang_negotiate ("en-GB,en;q=0.9,fr;q=0.5", PORTAL_LANG_FR),
                      PORTAL_LANG_EN);
    assert_int_equal (portal_lang_negotiate ("fr-FR,fr;q=0.9,en;q=0.8", PORTAL_LANG_EN),
                      PORTAL_LANG_FR);
    assert_int_equal (portal_lang_negotiate ("de, en;q=0.2, fr;q=0.3", PORTAL_LANG_EN),
                      PORTAL_LANG_FR);
    assert_int_equal (portal_lang_negotiate ("en, fr", PORTAL_LANG_FR), PORTAL_LANG_EN);
    assert_int_equal (portal_lang_negotiate ("fr;q=0, en;q=0", PORTAL_LANG_EN), PORTAL_LANG_EN);
    assert_int_equal (portal_lang_negotiate ("de-DE", PORTAL_LANG_FR), PORTAL_LANG_FR);
    assert_int_equal (portal_lang_negotiate ("frisian", PORTAL_LANG_EN), PORTAL_LANG_EN);
    assert_int_equal (portal_lang_negotiate (NULL, PORTAL_LANG_FR), PORTAL_LANG_FR);
    assert_int_equal (portal_lang_negotiate (";;,,q=,", PORTAL_LANG_FR), PORTAL_LANG_FR);
    portal_lang_t lang;
    assert_true (portal_lang_parse ("en", &lang) && lang == PORTAL_LANG_EN);
    assert_false (portal_lang_parse ("EN", &lang));
    assert_false (portal_lang_parse (NULL, &lang));
}

static void
test_times (void **state)
{
    (void) state;
    char out [64];
    portal_format_time (PORTAL_LANG_FR, 1764115200, out, sizeof out);
    assert_string_equal (out, "26/11/2025 00:00 UTC");
    portal_format_time (PORTAL_LANG_EN, 1764115200, out, sizeof out);
    assert_string_equal (out, "2025-11-26 00:00 UTC");
    portal_format_time (PORTAL_LANG_EN, 0, out, sizeof out);
    assert_string_equal (out, "—");
}

//  Every name a template uses, given as the script-bearing value, so
//  rendering also proves that nothing reaches the page unescaped.
static const char *s_hostile = "<script>alert(1)</script>";

static void
test_every_template_renders_and_escapes (void **state)
{
    (void) state;
    const char *names [] = {
        "lang", "title", "path", "csrf", "login", "intro", "number", "question", "hint",
        "uuid", "state", "activated", "serial", "use", "slot", "status", "status_class",
        "not_before", "not_after", "query", "id", "label", "when", "target", "statement",
        "value", "reason", "reason_label", "message", "link", "link_text", "kind", "text",
        "name" };
    const char *fragments [] = {
        "nav", "notice", "content", "current", "rows", "cards", "certificates", "actions",
        "revoke", "options", "selected" };
    portal_var_t vars [64];
    size_t count = 0;
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
        vars [count++] = (portal_var_t) { names [i], s_hostile, false };
    for (size_t i = 0; i < sizeof fragments / sizeof fragments [0]; i++)
        vars [count++] = (portal_var_t) { fragments [i], "<b>fragment</b>", true };
    int templates = 0;
    for (const portal_asset_t *asset = portal_assets; asset->name; asset++) {
        if (!strstr (asset->name, ".html"))
            continue;
        for (int lang = PORTAL_LANG_FR; lang <= PORTAL_LANG_EN; lang++) {
            portal_buf_t buf;
            portal_buf_init (&buf);
            char err [160] = "";
            int rc = portal_render (&buf, asset->name, (portal_lang_t) lang, vars, count, err,
                                    sizeof err);
            if (rc)
                fail_msg ("%s: %s", asset->name, err);
            char *html = portal_buf_take (&buf, NULL);
            assert_non_null (html);
            assert_null (strstr (html, "<script>"));
            assert_null (strstr (html, "{{"));
            free (html);
        }
        templates++;
    }
    assert_true (templates >= 15);
    assert_non_null (portal_asset ("portal.css"));
}

static void
test_holes_and_misuse_are_refused (void **state)
{
    (void) state;
    portal_buf_t buf;
    portal_buf_init (&buf);
    char err [160];
    //  notice.html needs kind and text.
    portal_var_t only_kind [] = { { "kind", "ok", false } };
    assert_int_equal (portal_render (&buf, "notice.html", PORTAL_LANG_FR, only_kind, 1, err,
                                     sizeof err), -1);
    assert_non_null (strstr (err, "text"));
    //  A text value where a fragment is expected, and the reverse.
    portal_var_t wrong [] = { { "kind", "ok", true }, { "text", "x", false } };
    assert_int_equal (portal_render (&buf, "notice.html", PORTAL_LANG_FR, wrong, 2, err,
                                     sizeof err), -1);
    assert_int_equal (portal_render (&buf, "no-such.html", PORTAL_LANG_FR, NULL, 0, err,
                                     sizeof err), -1);
    portal_buf_free (&buf);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_every_text_in_both_languages),
        cmocka_unit_test (test_accept_language),
        cmocka_unit_test (test_times),
        cmocka_unit_test (test_every_template_renders_and_escapes),
        cmocka_unit_test (test_holes_and_misuse_are_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
