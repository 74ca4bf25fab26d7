/*  Unit tests for tsr_config: KEY=VALUE files written to mkstemp files, the
    environment over them, and the errors an operator sees for a bad line,
    which must name the file and the line.
    Every key a test sets in the environment is TSR_UT_* and is unset again.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/config.h"

#define S_PATH_SIZE     64
#define S_ERR_SIZE      512

//  Writes len bytes of content to a new temporary file; path gets its name.
static void
s_write_file (char path [S_PATH_SIZE], const char *content, size_t len)
{
    snprintf (path, S_PATH_SIZE, "/tmp/tsr_config_test_XXXXXX");
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    size_t written = 0;
    while (written < len) {
        ssize_t rc = write (fd, content + written, len - written);
        assert_true (rc > 0);
        written += (size_t) rc;
    }
    assert_int_equal (close (fd), 0);
}

static void
s_write_text (char path [S_PATH_SIZE], const char *content)
{
    s_write_file (path, content, strlen (content));
}

//  A config holding only what content's file gives it.
static tsr_config_t *
s_config_from (char path [S_PATH_SIZE], const char *content)
{
    char err [S_ERR_SIZE] = "";
    s_write_text (path, content);
    unsetenv ("TSR_CONFIG_FILE");
    tsr_config_t *config = tsr_config_new (err, sizeof err);
    assert_non_null (config);
    if (tsr_config_load_file (config, path, err, sizeof err))
        fail_msg ("load failed: %s", err);
    return config;
}

//  Asserts that content is refused with "<path>:<line_no>: <reason>".
static void
s_assert_bad_file (const char *content, size_t len, unsigned line_no, const char *reason)
{
    char path [S_PATH_SIZE], err [S_ERR_SIZE] = "", expected [S_ERR_SIZE];
    s_write_file (path, content, len);
    unsetenv ("TSR_CONFIG_FILE");
    tsr_config_t *config = tsr_config_new (err, sizeof err);
    assert_non_null (config);
    int rc = tsr_config_load_file (config, path, err, sizeof err);
    snprintf (expected, sizeof expected, "%s:%u: %s", path, line_no, reason);
    unlink (path);
    tsr_config_destroy (&config);
    if (rc != -1)
        fail_msg ("accepted: %s", content);
    assert_string_equal (err, expected);
}

static void
test_new_destroy (void **state)
{
    (void) state;
    char err [S_ERR_SIZE] = "";
    unsetenv ("TSR_CONFIG_FILE");
    tsr_config_t *config = tsr_config_new (err, sizeof err);
    assert_non_null (config);
    assert_string_equal (tsr_config_get (config, "TSR_UT_NOTHING", "fallback"), "fallback");
    tsr_config_destroy (&config);
    assert_null (config);
    tsr_config_destroy (&config);
    tsr_config_destroy (NULL);
}

static void
test_file_format (void **state)
{
    (void) state;
    char path [S_PATH_SIZE];
    tsr_config_t *config = s_config_from (path,
        "# tessera test configuration\n"
        "\n"
        "   \t \n"
        "    # an indented comment\n"
        "TSR_UT_PLAIN=plain\n"
        "  TSR_UT_SPACED  =   spaced value  \n"
        "TSR_UT_TAB\t=\tx\t\n"
        "TSR_UT_DSN=host=db user=ca dbname=tessera\n"
        "TSR_UT_HASH=a#b # not a comment\n"
        "TSR_UT_CRLF=windows\r\n"
        "TSR_UT_EMPTY=\n"
        "TSR_UT_9_=digits\n"
        "TSR_UT_LAST=no newline");
    assert_string_equal (tsr_config_get (config, "TSR_UT_PLAIN", NULL), "plain");
    //  Blanks around the key and the value go; blanks inside stay.
    assert_string_equal (tsr_config_get (config, "TSR_UT_SPACED", NULL), "spaced value");
    assert_string_equal (tsr_config_get (config, "TSR_UT_TAB", NULL), "x");
    //  The first '=' splits: values may hold more.
    assert_string_equal (tsr_config_get (config, "TSR_UT_DSN", NULL),
                         "host=db user=ca dbname=tessera");
    //  Only whole lines starting with '#' are comments.
    assert_string_equal (tsr_config_get (config, "TSR_UT_HASH", NULL), "a#b # not a comment");
    assert_string_equal (tsr_config_get (config, "TSR_UT_CRLF", NULL), "windows");
    //  An empty value reads as unset.
    assert_string_equal (tsr_config_get (config, "TSR_UT_EMPTY", "fb"), "fb");
    assert_string_equal (tsr_config_get (config, "TSR_UT_9_", NULL), "digits");
    assert_string_equal (tsr_config_get (config, "TSR_UT_LAST", NULL), "no newline");
    //  Comments did not become keys.
    assert_null (tsr_config_get (config, "# tessera test configuration", NULL));
    tsr_config_destroy (&config);
    unlink (path);
}

static void
test_later_wins (void **state)
{
    (void) state;
    char first [S_PATH_SIZE], second [S_PATH_SIZE], err [S_ERR_SIZE] = "";
    //  Within a file, the last line for a key wins.
    tsr_config_t *config = s_config_from (first,
        "TSR_UT_A=one\n"
        "TSR_UT_B=file1\n"
        "TSR_UT_C=kept\n"
        "TSR_UT_A=two\n");
    assert_string_equal (tsr_config_get (config, "TSR_UT_A", NULL), "two");

    //  A later file overrides an earlier one, key by key.
    s_write_text (second, "TSR_UT_B=file2\nTSR_UT_D=new\n");
    assert_int_equal (tsr_config_load_file (config, second, err, sizeof err), 0);
    assert_string_equal (tsr_config_get (config, "TSR_UT_A", NULL), "two");
    assert_string_equal (tsr_config_get (config, "TSR_UT_B", NULL), "file2");
    assert_string_equal (tsr_config_get (config, "TSR_UT_C", NULL), "kept");
    assert_string_equal (tsr_config_get (config, "TSR_UT_D", NULL), "new");

    //  The environment still wins over both.
    assert_int_equal (setenv ("TSR_UT_B", "env", 1), 0);
    assert_string_equal (tsr_config_get (config, "TSR_UT_B", NULL), "env");
    unsetenv ("TSR_UT_B");
    tsr_config_destroy (&config);
    unlink (first);
    unlink (second);
}

static void
test_malformed_lines (void **state)
{
    (void) state;
    const char *no_equals = "expected KEY=VALUE";
    const char *bad_key = "invalid key (keys are TSR_[A-Z0-9_]+)";
    struct {
        const char *content;
        unsigned line_no;
        const char *reason;
    } cases [] = {
        { "junk\n", 1, no_equals },
        { "# comment\n\nTSR_UT_A=1\njunk\n", 4, no_equals },
        { "TSR_UT_A\n", 1, no_equals },
        { "TSR_UT_A=1\n   \n  TSR_UT_B : 2\n", 3, no_equals },
        { "tsr_ut_lower=1\n", 1, bad_key },
        { "FOO=1\n", 1, bad_key },
        { "TSR=1\n", 1, bad_key },
        { "TSR_UT_A-B=1\n", 1, bad_key },
        { "TSR_UT_A.B=1\n", 1, bad_key },
        { "TSR_UT_A B=1\n", 1, bad_key },
        { "=1\n", 1, bad_key },
        { "  = value\n", 1, bad_key },
        { "export TSR_UT_A=1\n", 1, bad_key },
        { "#ok\nTSR_UT_OK=1\n\nTSR_UT_\xc3\x89=1\n", 4, bad_key },
        { "TSR_UT_OK=1\r\nTSR_ut=1\r\n", 2, bad_key },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++)
        s_assert_bad_file (cases [i].content, strlen (cases [i].content), cases [i].line_no,
                           cases [i].reason);
}

static void
test_line_length (void **state)
{
    (void) state;
    //  "TSR_UT_LONG=" and a value filling the line to exactly the bound.
    const char *key = "TSR_UT_LONG=";
    size_t value_len = TSR_CONFIG_MAX_LINE - strlen (key);
    size_t size = 3 * (TSR_CONFIG_MAX_LINE + 8);
    char *content = malloc (size);
    char *value = malloc (value_len + 1);
    assert_non_null (content);
    assert_non_null (value);
    memset (value, 'v', value_len);
    value [value_len] = '\0';
    char path [S_PATH_SIZE];

    //  Exactly TSR_CONFIG_MAX_LINE bytes before the newline: accepted.
    snprintf (content, size, "TSR_UT_SHORT=1\n%s%s\nTSR_UT_AFTER=2\n", key, value);
    tsr_config_t *config = s_config_from (path, content);
    const char *got = tsr_config_get (config, "TSR_UT_LONG", NULL);
    assert_non_null (got);
    assert_int_equal (strlen (got), value_len);
    assert_string_equal (tsr_config_get (config, "TSR_UT_AFTER", NULL), "2");
    tsr_config_destroy (&config);
    unlink (path);

    //  Exactly the bound as the last line, without a newline: accepted.
    snprintf (content, size, "%s%s", key, value);
    config = s_config_from (path, content);
    assert_int_equal (strlen (tsr_config_get (config, "TSR_UT_LONG", "")), value_len);
    tsr_config_destroy (&config);
    unlink (path);

    //  One byte more, with or without the newline: refused on its line.
    char reason [64];
    snprintf (reason, sizeof reason, "line longer than %d bytes", TSR_CONFIG_MAX_LINE);
    snprintf (content, size, "# long one next\n%s%sw\nTSR_UT_AFTER=2\n", key, value);
    s_assert_bad_file (content, strlen (content), 2, reason);
    snprintf (content, size, "TSR_UT_A=1\n\n%s%sw", key, value);
    s_assert_bad_file (content, strlen (content), 3, reason);
    //  Far longer: still one error, on the right line, not a second "line".
    memset (content, 'x', size - 1);
    content [size - 1] = '\0';
    memcpy (content, "TSR_UT_A=", 9);
    s_assert_bad_file (content, strlen (content), 1, reason);

    free (content);
    free (value);
}

static void
test_too_many_entries (void **state)
{
    (void) state;
    size_t size = (TSR_CONFIG_MAX_ENTRIES + 2) * 32;
    char *content = malloc (size);
    assert_non_null (content);
    size_t len = 0;
    for (int i = 0; i < TSR_CONFIG_MAX_ENTRIES; i++)
        len += (size_t) snprintf (content + len, size - len, "TSR_UT_K%d=%d\n", i, i);

    //  Exactly the bound: accepted, and a key already held can still change.
    char path [S_PATH_SIZE];
    snprintf (content + len, size - len, "TSR_UT_K0=again\n");
    tsr_config_t *config = s_config_from (path, content);
    assert_string_equal (tsr_config_get (config, "TSR_UT_K0", NULL), "again");
    char key [32];
    snprintf (key, sizeof key, "TSR_UT_K%d", TSR_CONFIG_MAX_ENTRIES - 1);
    assert_non_null (tsr_config_get (config, key, NULL));
    tsr_config_destroy (&config);
    unlink (path);

    //  One more key: refused on that line.
    snprintf (content + len, size - len, "TSR_UT_ONE_TOO_MANY=1\n");
    s_assert_bad_file (content, strlen (content), TSR_CONFIG_MAX_ENTRIES + 1,
                       "too many entries");
    free (content);
}

static void
test_missing_file (void **state)
{
    (void) state;
    const char *path = "/nonexistent/tessera/config.env";
    char err [S_ERR_SIZE] = "", expected [S_ERR_SIZE];
    unsetenv ("TSR_CONFIG_FILE");
    tsr_config_t *config = tsr_config_new (err, sizeof err);
    assert_non_null (config);
    assert_int_equal (tsr_config_load_file (config, path, err, sizeof err), -1);
    snprintf (expected, sizeof expected, "cannot open configuration file %s: %s", path,
              strerror (ENOENT));
    assert_string_equal (err, expected);
    tsr_config_destroy (&config);
}

static void
test_config_file_variable (void **state)
{
    (void) state;
    char path [S_PATH_SIZE], bad [S_PATH_SIZE], err [S_ERR_SIZE] = "", expected [S_ERR_SIZE];
    s_write_text (path, "TSR_UT_FROM_FILE=yes\n");

    //  TSR_CONFIG_FILE names the file tsr_config_new reads.
    assert_int_equal (setenv ("TSR_CONFIG_FILE", path, 1), 0);
    tsr_config_t *config = tsr_config_new (err, sizeof err);
    assert_non_null (config);
    assert_string_equal (tsr_config_get (config, "TSR_UT_FROM_FILE", NULL), "yes");
    tsr_config_destroy (&config);

    //  Set but empty: no file.
    assert_int_equal (setenv ("TSR_CONFIG_FILE", "", 1), 0);
    config = tsr_config_new (err, sizeof err);
    assert_non_null (config);
    assert_null (tsr_config_get (config, "TSR_UT_FROM_FILE", NULL));
    tsr_config_destroy (&config);

    //  A file that can not be read: no config, and the reason.
    assert_int_equal (setenv ("TSR_CONFIG_FILE", "/nonexistent/tsr.env", 1), 0);
    config = tsr_config_new (err, sizeof err);
    assert_null (config);
    snprintf (expected, sizeof expected, "cannot open configuration file /nonexistent/tsr.env: %s",
              strerror (ENOENT));
    assert_string_equal (err, expected);

    //  A malformed file: no config, and the line.
    s_write_text (bad, "TSR_UT_OK=1\nnot a setting\n");
    assert_int_equal (setenv ("TSR_CONFIG_FILE", bad, 1), 0);
    config = tsr_config_new (err, sizeof err);
    assert_null (config);
    snprintf (expected, sizeof expected, "%s:2: expected KEY=VALUE", bad);
    assert_string_equal (err, expected);

    unsetenv ("TSR_CONFIG_FILE");
    unlink (path);
    unlink (bad);
}

static void
test_environment_overrides_file (void **state)
{
    (void) state;
    char path [S_PATH_SIZE];
    tsr_config_t *config = s_config_from (path, "TSR_UT_OVERRIDE=file\n");
    assert_string_equal (tsr_config_get (config, "TSR_UT_OVERRIDE", NULL), "file");
    assert_int_equal (setenv ("TSR_UT_OVERRIDE", "env", 1), 0);
    assert_string_equal (tsr_config_get (config, "TSR_UT_OVERRIDE", NULL), "env");
    //  An empty variable counts as unset: the file's value shows again.
    assert_int_equal (setenv ("TSR_UT_OVERRIDE", "", 1), 0);
    assert_string_equal (tsr_config_get (config, "TSR_UT_OVERRIDE", NULL), "file");
    unsetenv ("TSR_UT_OVERRIDE");
    assert_string_equal (tsr_config_get (config, "TSR_UT_OVERRIDE", NULL), "file");
    //  A key only in the environment is found too.
    assert_int_equal (setenv ("TSR_UT_ENV_ONLY", "only", 1), 0);
    assert_string_equal (tsr_config_get (config, "TSR_UT_ENV_ONLY", NULL), "only");
    unsetenv ("TSR_UT_ENV_ONLY");
    tsr_config_destroy (&config);
    unlink (path);
}

static void
test_get_fallback (void **state)
{
    (void) state;
    char path [S_PATH_SIZE];
    tsr_config_t *config = s_config_from (path, "TSR_UT_SET=value\nTSR_UT_BLANK=   \n");
    unsetenv ("TSR_UT_UNSET");
    assert_string_equal (tsr_config_get (config, "TSR_UT_UNSET", "fallback"), "fallback");
    assert_null (tsr_config_get (config, "TSR_UT_UNSET", NULL));
    assert_string_equal (tsr_config_get (config, "TSR_UT_BLANK", "fallback"), "fallback");
    assert_string_equal (tsr_config_get (config, "TSR_UT_SET", "fallback"), "value");
    //  Keys are case-sensitive.
    assert_string_equal (tsr_config_get (config, "tsr_ut_set", "fallback"), "fallback");
    //  Without a config, only the environment counts.
    assert_int_equal (setenv ("TSR_UT_ENV_ONLY", "env", 1), 0);
    assert_string_equal (tsr_config_get (NULL, "TSR_UT_ENV_ONLY", "fallback"), "env");
    assert_string_equal (tsr_config_get (NULL, "TSR_UT_SET", "fallback"), "fallback");
    unsetenv ("TSR_UT_ENV_ONLY");
    tsr_config_destroy (&config);
    unlink (path);
}

static void
test_get_long (void **state)
{
    (void) state;
    char path [S_PATH_SIZE], err [S_ERR_SIZE] = "";
    tsr_config_t *config = s_config_from (path,
        "TSR_UT_PORT = 8080 \n"
        "TSR_UT_NEGATIVE=-5\n"
        "TSR_UT_BLANK=\n");
    long value = 0;

    //  Unset or empty: the fallback.
    unsetenv ("TSR_UT_UNSET");
    assert_int_equal (tsr_config_get_long (config, "TSR_UT_UNSET", 17, 1, 100, &value,
                                           err, sizeof err), 0);
    assert_int_equal (value, 17);
    assert_int_equal (tsr_config_get_long (config, "TSR_UT_BLANK", 18, 1, 100, &value,
                                           err, sizeof err), 0);
    assert_int_equal (value, 18);

    //  From the file, blanks trimmed.
    assert_int_equal (tsr_config_get_long (config, "TSR_UT_PORT", 1, 1, 65535, &value,
                                           err, sizeof err), 0);
    assert_int_equal (value, 8080);
    assert_int_equal (tsr_config_get_long (config, "TSR_UT_NEGATIVE", 0, -10, -1, &value,
                                           err, sizeof err), 0);
    assert_int_equal (value, -5);

    //  The environment wins here too.
    assert_int_equal (setenv ("TSR_UT_PORT", "9090", 1), 0);
    assert_int_equal (tsr_config_get_long (config, "TSR_UT_PORT", 1, 1, 65535, &value,
                                           err, sizeof err), 0);
    assert_int_equal (value, 9090);

    //  The bounds themselves are in range.
    assert_int_equal (setenv ("TSR_UT_PORT", "65535", 1), 0);
    assert_int_equal (tsr_config_get_long (config, "TSR_UT_PORT", 1, 1, 65535, &value,
                                           err, sizeof err), 0);
    assert_int_equal (value, 65535);
    assert_int_equal (setenv ("TSR_UT_PORT", "1", 1), 0);
    assert_int_equal (tsr_config_get_long (config, "TSR_UT_PORT", 2, 1, 65535, &value,
                                           err, sizeof err), 0);
    assert_int_equal (value, 1);

    //  The whole range of long.
    char text [32];
    snprintf (text, sizeof text, "%ld", LONG_MAX);
    assert_int_equal (setenv ("TSR_UT_PORT", text, 1), 0);
    assert_int_equal (tsr_config_get_long (config, "TSR_UT_PORT", 0, LONG_MIN, LONG_MAX,
                                           &value, err, sizeof err), 0);
    assert_true (value == LONG_MAX);
    snprintf (text, sizeof text, "%ld", LONG_MIN);
    assert_int_equal (setenv ("TSR_UT_PORT", text, 1), 0);
    assert_int_equal (tsr_config_get_long (config, "TSR_UT_PORT", 0, LONG_MIN, LONG_MAX,
                                           &value, err, sizeof err), 0);
    assert_true (value == LONG_MIN);
    unsetenv ("TSR_UT_PORT");
    tsr_config_destroy (&config);
    unlink (path);
}

static void
test_get_long_errors (void **state)
{
    (void) state;
    const char *expected = "TSR_UT_PORT must be an integer from 1 to 65535";
    const char *bad [] = {
        "abc", "12abc", "12 ", "1.5", "0x10", "+", "-", "1e3", "8080\n",
        "0", "-1", "65536",
        "99999999999999999999999", "-99999999999999999999999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        char err [S_ERR_SIZE] = "";
        long value = 42;
        assert_int_equal (setenv ("TSR_UT_PORT", bad [i], 1), 0);
        int rc = tsr_config_get_long (NULL, "TSR_UT_PORT", 7, 1, 65535, &value,
                                      err, sizeof err);
        if (rc != -1)
            fail_msg ("accepted \"%s\" as %ld", bad [i], value);
        assert_string_equal (err, expected);
    }
    unsetenv ("TSR_UT_PORT");

    //  From a file the same.
    char path [S_PATH_SIZE], err [S_ERR_SIZE] = "";
    tsr_config_t *config = s_config_from (path, "TSR_UT_PORT=80 80\n");
    long value = 0;
    assert_int_equal (tsr_config_get_long (config, "TSR_UT_PORT", 7, 1, 65535, &value,
                                           err, sizeof err), -1);
    assert_string_equal (err, expected);
    tsr_config_destroy (&config);
    unlink (path);
}

//  A service's setting names: upper case, truncated to the buffer.
static void
test_key (void **state)
{
    (void) state;
    char key [24];
    tsr_config_key (key, sizeof key, "ca", "timeout_ms");
    assert_string_equal (key, "TSR_CA_TIMEOUT_MS");
    tsr_config_key (key, sizeof key, "Perso", "PUB_ENDPOINT");
    assert_string_equal (key, "TSR_PERSO_PUB_ENDPOINT");
    tsr_config_key (key, 12, "enrollment", "ENDPOINT");
    assert_string_equal (key, "TSR_ENROLLM");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_new_destroy),
        cmocka_unit_test (test_file_format),
        cmocka_unit_test (test_later_wins),
        cmocka_unit_test (test_malformed_lines),
        cmocka_unit_test (test_line_length),
        cmocka_unit_test (test_too_many_entries),
        cmocka_unit_test (test_missing_file),
        cmocka_unit_test (test_config_file_variable),
        cmocka_unit_test (test_environment_overrides_file),
        cmocka_unit_test (test_get_fallback),
        cmocka_unit_test (test_get_long),
        cmocka_unit_test (test_get_long_errors),
        cmocka_unit_test (test_key),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
