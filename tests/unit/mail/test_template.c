/*  Unit tests for mail_template: every notice exists in French and English
    and renders with the values mail gives it; a value is inserted as text,
    never read as a template; a missing value is an error, not a blank.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mail_buf.h"
#include "mail_template.h"

//  Every value any template may ask for.
static const mail_param_t s_all [] = {
    { "given_name", "Élodie" }, { "surname", "Dupré" }, { "login", "elodie@example.fr" },
    { "password", "Secret42Secret42" }, { "expires", "2030-01-01 00:00 UTC" },
    { "portal_url", "https://portal.example/" }, { "operator_name", "Valérie" },
    { "batch_id", "bat-1" }, { "organisation", "Société Exemple" }, { "request_count", "3" },
    { "submitted_at", "2030-01-01 10:00 UTC" }, { "holder_name", "Jean Martin" },
    { "tracking_number", "1A23456789012" }, { "card_uuid", "0f0e0d0c-0b0a-4908-8706-050403020100" },
    { "posted_at", "2030-01-02 10:00 UTC" }, { "serial", "7a01" },
    { "reason_fr", "compromission de la clé" }, { "reason_en", "key compromise" },
    { "revoked_at", "2030-01-03 10:00 UTC" }, { "serials", "7a01, 7a02" },
    { "not_after", "2030-03-01" }, { "days_left", "58" }, { "recovery_id", "5f2a" },
};
#define S_ALL_COUNT (sizeof s_all / sizeof s_all [0])

static void
test_every_template_renders_in_both_languages (void **state)
{
    (void) state;
    const char *languages [] = { "fr", "en" };
    for (int id = MAIL_TEMPLATE_MIN; id <= MAIL_TEMPLATE_MAX; id++)
        for (int l = 0; l < 2; l++) {
            char *subject = NULL, *body = NULL, err [160] = "";
            if (mail_template_render (id, languages [l], s_all, S_ALL_COUNT, &subject, &body,
                                      err, sizeof err))
                fail_msg ("template %s.%s: %s", mail_template_name (id), languages [l], err);
            assert_true (strlen (subject) > 5 && strlen (body) > 50);
            assert_null (strchr (subject, '\n'));
            assert_null (strstr (body, "{{"));
            assert_non_null (strstr (body, "Dupré") ? body : strstr (body, "Valérie"));
            free (subject);
            mail_text_wipe (body);
        }
}

static void
test_the_languages_differ (void **state)
{
    (void) state;
    char *fr = NULL, *en = NULL, err [160];
    assert_int_equal (mail_template_render (1, "fr", s_all, S_ALL_COUNT, &fr, NULL, err,
                                            sizeof err), 0);
    assert_int_equal (mail_template_render (1, "en", s_all, S_ALL_COUNT, &en, NULL, err,
                                            sizeof err), 0);
    assert_string_equal (fr, "Votre compte tessera : mot de passe à usage unique");
    assert_string_equal (en, "Your tessera account: one-time password");
    free (fr);
    free (en);
    //  Anything but "en" is French, the default.
    assert_string_equal (mail_template_language ("de"), "fr");
    assert_string_equal (mail_template_language (NULL), "fr");
}

static void
test_a_missing_value_is_an_error (void **state)
{
    (void) state;
    char *subject = NULL, *body = NULL, err [160] = "";
    mail_param_t few [] = { { "given_name", "A" }, { "surname", "B" } };
    assert_int_equal (mail_template_render (1, "fr", few, 2, &subject, &body, err, sizeof err), -1);
    assert_non_null (strstr (err, "{{login}}"));
    assert_null (subject);
    assert_null (body);
    assert_int_equal (mail_template_render (99, "fr", s_all, S_ALL_COUNT, &subject, NULL, err,
                                            sizeof err), -1);
}

static void
test_values_are_text_not_templates (void **state)
{
    (void) state;
    mail_param_t params [S_ALL_COUNT];
    memcpy (params, s_all, sizeof params);
    params [2].value = "{{password}}";         //  login
    char *subject = NULL, *body = NULL, err [160];
    assert_int_equal (mail_template_render (1, "en", params, S_ALL_COUNT, &subject, &body, err,
                                            sizeof err), 0);
    assert_non_null (strstr (body, "Login: {{password}}"));
    assert_non_null (strstr (body, "One-time password: Secret42Secret42"));
    free (subject);
    mail_text_wipe (body);
}

static void
test_the_subject_carries_its_values (void **state)
{
    (void) state;
    char *subject = NULL, err [160];
    assert_int_equal (mail_template_render (2, "fr", s_all, S_ALL_COUNT, &subject, NULL, err,
                                            sizeof err), 0);
    assert_string_equal (subject, "Lot bat-1 en attente de validation");
    free (subject);
    assert_int_equal (mail_template_render (3, "en", s_all, S_ALL_COUNT, &subject, NULL, err,
                                            sizeof err), 0);
    assert_string_equal (subject, "Card sent by registered mail (1A23456789012)");
    free (subject);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_every_template_renders_in_both_languages),
        cmocka_unit_test (test_the_languages_differ),
        cmocka_unit_test (test_a_missing_value_is_an_error),
        cmocka_unit_test (test_values_are_text_not_templates),
        cmocka_unit_test (test_the_subject_carries_its_values),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
