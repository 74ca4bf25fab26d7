/*  Unit tests for validation_password and validation_breach: the rules a
    holder's new password must pass (each refusal names its rule, never
    the password), the breached-password list (built-in and from a file),
    one-time passwords (length, alphabet, no repeats in a run) and the
    Argon2id hashes.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "validation_breach.h"
#include "validation_password.h"

#define S_OTP_RUNS 2000

static validation_breach_list_t *s_builtin;

static int
s_setup (void **state)
{
    (void) state;
    char err [256] = "";
    if (sodium_init () < 0)
        return -1;
    s_builtin = validation_breach_list_new (NULL, err, sizeof err);
    return s_builtin ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    validation_breach_list_destroy (&s_builtin);
    return 0;
}

//  The rule's message for password, or NULL when it is accepted.
static const char *
s_check (const char *password, const char *login)
{
    static char why [160];
    return validation_password_check (password, login, s_builtin, why, sizeof why) ? why : NULL;
}

static void
test_a_good_password_passes (void **state)
{
    (void) state;
    assert_null (s_check ("correct horse battery staple", "elodie.dupre@example.fr"));
    assert_null (s_check ("Tr0ub4dor&3-extended", "elodie.dupre@example.fr"));
    assert_null (s_check ("éléphant rose à Noël", "elodie.dupre@example.fr"));
}

static void
test_length_is_12_to_128_characters (void **state)
{
    (void) state;
    assert_non_null (strstr (s_check ("k8#Qz!w2Pm4", NULL), "12 to 128 characters"));
    assert_null (s_check ("k8#Qz!w2Pm4x", NULL));
    //  12 characters of two bytes each: counted as 12.
    assert_null (s_check ("éàèùâêîôûëïü", NULL));
    char long_password [200];
    memset (long_password, 'x', 128);
    long_password [0] = 'K';
    long_password [128] = 0;
    assert_null (s_check (long_password, NULL));
    long_password [128] = 'y';
    long_password [129] = 0;
    assert_non_null (s_check (long_password, NULL));
    //  100 two-byte characters: under 128 characters but over 128 bytes.
    long_password [0] = 0;
    for (int i = 0; i < 65; i++)
        strcat (long_password, "é");
    assert_non_null (strstr (s_check (long_password, NULL), "bytes"));
}

static void
test_control_characters_and_bad_utf8_are_refused (void **state)
{
    (void) state;
    assert_non_null (strstr (s_check ("line one\nline two", NULL), "control"));
    assert_non_null (strstr (s_check ("tab\there-and-more", NULL), "control"));
    assert_non_null (strstr (s_check ("bad \xff byte password", NULL), "UTF-8"));
}

static void
test_breached_passwords_are_refused (void **state)
{
    (void) state;
    assert_non_null (strstr (s_check ("password1234", NULL), "breached"));
    //  ASCII case does not help.
    assert_non_null (s_check ("PassWord1234", NULL));
    assert_non_null (s_check ("AZERTYUIOP123", NULL));
    //  Nor digits and symbols added to a listed word.
    assert_non_null (s_check ("Soleil2024!!", NULL));
    assert_non_null (s_check ("motdepasse 2025 !", NULL));
    //  Listed as a whole.
    assert_non_null (s_check ("123456789012", NULL));
    //  A listed word inside a longer passphrase is fine.
    assert_null (s_check ("soleil sur la dune blanche", NULL));
}

static void
test_login_and_local_part_are_refused (void **state)
{
    (void) state;
    const char *login = "Elodie.Dupre@example.fr";
    assert_non_null (strstr (s_check ("xx elodie.dupre@example.fr xx", login), "login"));
    assert_non_null (strstr (s_check ("my-ELODIE.DUPRE-pass", login), "local part"));
    //  A very short local part is not a rule (it would refuse too much).
    assert_null (s_check ("a quiet evening walk", "al@example.fr"));
    assert_non_null (s_check ("a quiet evening walk", "quiet@example.fr"));
}

static void
test_the_builtin_list_is_loaded (void **state)
{
    (void) state;
    assert_true (validation_breach_list_size (s_builtin) >= 100);
    assert_true (validation_breach_list_contains (s_builtin, "azerty"));
    assert_true (validation_breach_list_contains (s_builtin, "QWERTY"));
    assert_false (validation_breach_list_contains (s_builtin, "not on any list at all"));
    assert_false (validation_breach_list_contains (s_builtin, ""));
}

static void
test_a_list_file_replaces_the_builtin_one (void **state)
{
    (void) state;
    char path [] = "/tmp/tessera-breached-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    const char text [] = "first-entry\r\n\nSecond Entry\nthird";   //  CRLF, blank, no final LF
    assert_int_equal (write (fd, text, sizeof text - 1), (ssize_t) (sizeof text - 1));
    close (fd);
    char err [256] = "";
    validation_breach_list_t *list = validation_breach_list_new (path, err, sizeof err);
    assert_non_null (list);
    assert_int_equal (validation_breach_list_size (list), 3);
    assert_true (validation_breach_list_contains (list, "FIRST-ENTRY"));
    assert_true (validation_breach_list_contains (list, "second entry"));
    assert_true (validation_breach_list_contains (list, "third"));
    assert_false (validation_breach_list_contains (list, "azerty"));
    validation_breach_list_destroy (&list);
    validation_breach_list_destroy (&list);      //  NULL-safe
    unlink (path);
    //  A missing file stops the start with its name.
    assert_null (validation_breach_list_new ("/nonexistent/list.txt", err, sizeof err));
    assert_non_null (strstr (err, "/nonexistent/list.txt"));
    //  An over-long line is refused with its number.
    char big [400];
    memset (big, 'x', sizeof big);
    memcpy (big, "ok\n", 3);
    assert_null (validation_breach_list_from_text (big, sizeof big, "big", err, sizeof err));
    assert_non_null (strstr (err, "line 2"));
}

static void
test_one_time_passwords (void **state)
{
    (void) state;
    static char seen [S_OTP_RUNS][VALIDATION_OTP_LENGTH + 1];
    size_t alphabet_size = strlen (validation_otp_alphabet);
    unsigned counts [128] = { 0 };
    assert_true (VALIDATION_OTP_LENGTH >= 12);
    //  No look-alikes in the alphabet.
    for (const char *c = "0Oo1lIi"; *c; c++)
        assert_null (strchr (validation_otp_alphabet, *c));
    for (int run = 0; run < S_OTP_RUNS; run++) {
        validation_otp_generate (seen [run]);
        assert_int_equal (strlen (seen [run]), VALIDATION_OTP_LENGTH);
        for (int i = 0; i < VALIDATION_OTP_LENGTH; i++) {
            assert_non_null (strchr (validation_otp_alphabet, seen [run][i]));
            counts [(unsigned char) seen [run][i]]++;
        }
        //  It must pass the rules a holder's password passes.
        assert_null (s_check (seen [run], "someone@example.fr"));
    }
    //  Randomness smoke test: no two alike, every character used, and no
    //  character far from its share (expected ~582 each; bounds are
    //  generous: a failure here means a broken generator, not bad luck).
    for (int a = 0; a < S_OTP_RUNS; a++)
        for (int b = a + 1; b < S_OTP_RUNS; b++)
            assert_string_not_equal (seen [a], seen [b]);
    double expected = (double) S_OTP_RUNS * VALIDATION_OTP_LENGTH / (double) alphabet_size;
    for (size_t i = 0; i < alphabet_size; i++) {
        unsigned count = counts [(unsigned char) validation_otp_alphabet [i]];
        assert_true (count > expected * 0.6 && count < expected * 1.4);
    }
}

static void
test_hashes_are_argon2id_and_verify (void **state)
{
    (void) state;
    char hash [VALIDATION_HASH_SIZE], again [VALIDATION_HASH_SIZE];
    const char *secret = "correct horse battery staple";
    assert_int_equal (validation_hash (secret, strlen (secret), hash), 0);
    assert_int_equal (strncmp (hash, "$argon2id$", 10), 0);
    assert_null (strstr (hash, secret));
    assert_true (validation_hash_verify (hash, secret, strlen (secret)));
    assert_false (validation_hash_verify (hash, "correct horse battery stapl", 27));
    assert_false (validation_hash_verify ("", secret, strlen (secret)));
    assert_false (validation_hash_verify (NULL, secret, strlen (secret)));
    //  Salted: the same secret hashes differently each time.
    assert_int_equal (validation_hash (secret, strlen (secret), again), 0);
    assert_string_not_equal (hash, again);
    assert_true (validation_hash_verify (again, secret, strlen (secret)));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_a_good_password_passes),
        cmocka_unit_test (test_length_is_12_to_128_characters),
        cmocka_unit_test (test_control_characters_and_bad_utf8_are_refused),
        cmocka_unit_test (test_breached_passwords_are_refused),
        cmocka_unit_test (test_login_and_local_part_are_refused),
        cmocka_unit_test (test_the_builtin_list_is_loaded),
        cmocka_unit_test (test_a_list_file_replaces_the_builtin_one),
        cmocka_unit_test (test_one_time_passwords),
        cmocka_unit_test (test_hashes_are_argon2id_and_verify),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
