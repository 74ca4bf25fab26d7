/*  Unit tests for ca_shares: our split and combine agree with each other and
    with Debian's independent gfsplit/gfcombine tools through the share
    files, and every malformed input is refused.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ca_shares.h"

#define S_SECRET_SIZE   48
#define S_DIR_MAX       256
#define S_PATH_MAX      512

typedef struct {
    char dir [S_DIR_MAX];               //  our share files
    char dir2 [S_DIR_MAX];              //  gfsplit's share files
} s_fixture_t;

//  A random printable secret (it is also written to a file for gfsplit).
static void
s_random_secret (uint8_t *secret, size_t size)
{
    assert_int_equal (RAND_bytes (secret, (int) size), 1);
    for (size_t i = 0; i < size; i++)
        secret [i] = (uint8_t) ('!' + secret [i] % 94);
}

static void
s_make_temp_dir (char *dir, size_t dir_size)
{
    const char *tmp = getenv ("TMPDIR");
    int len = snprintf (dir, dir_size, "%s/tessera-shares-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_true (len > 0 && (size_t) len < dir_size);
    //  The paths go into shell commands between single quotes.
    assert_null (strchr (dir, '\''));
    assert_non_null (mkdtemp (dir));
}

//  Removes dir and everything in it.
static void
s_remove_dir (const char *dir)
{
    if (!*dir)
        return;
    DIR *handle = opendir (dir);
    if (handle) {
        struct dirent *entry;
        while ((entry = readdir (handle)) != NULL) {
            if (strcmp (entry->d_name, ".") == 0 || strcmp (entry->d_name, "..") == 0)
                continue;
            char path [S_PATH_MAX + 256];
            snprintf (path, sizeof path, "%s/%s", dir, entry->d_name);
            if (unlink (path) != 0)
                s_remove_dir (path);
        }
        closedir (handle);
    }
    rmdir (dir);
}

static int
s_setup (void **state)
{
    s_fixture_t *fixture = calloc (1, sizeof *fixture);
    assert_non_null (fixture);
    s_make_temp_dir (fixture->dir, sizeof fixture->dir);
    s_make_temp_dir (fixture->dir2, sizeof fixture->dir2);
    *state = fixture;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *fixture = *state;
    s_remove_dir (fixture->dir);
    s_remove_dir (fixture->dir2);
    free (fixture);
    return 0;
}

static void
s_write_bytes (const char *path, const void *data, size_t size)
{
    FILE *file = fopen (path, "wb");
    assert_non_null (file);
    assert_int_equal (fwrite (data, 1, size, file), size);
    assert_int_equal (fclose (file), 0);
}

//  Reads a whole small file; -1 if it cannot be opened.
static int
s_read_bytes (const char *path, uint8_t *data, size_t capacity, size_t *size)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return -1;
    *size = fread (data, 1, capacity, file);
    fclose (file);
    return 0;
}

//  Runs a shell command; returns its exit status (-1 if it did not exit).
//  The point is to run Debian's own tools; every path is quoted.
static int
s_run (const char *command)
{
    int status = system (command);     //  NOLINT(cert-env33-c)
    return status != -1 && WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static unsigned
s_popcount (unsigned mask)
{
    unsigned bits = 0;
    for (; mask; mask >>= 1)
        bits += mask & 1;
    return bits;
}

//  Combines every subset of the shares: those of threshold shares or more
//  give the secret; those of fewer give something else, or are refused
//  (a single share).
static void
s_check_subsets (const ca_share_t *shares, unsigned count, unsigned threshold,
                 const uint8_t *secret, size_t secret_size)
{
    for (unsigned mask = 1; mask < (1u << count); mask++) {
        ca_share_t subset [CA_SHARES_MAX];
        unsigned taken = 0;
        for (unsigned i = 0; i < count; i++)
            if (mask & (1u << i))
                subset [taken++] = shares [i];
        uint8_t rebuilt [CA_SECRET_MAX];
        size_t rebuilt_size = 99;
        char err [256] = "";
        int rc = ca_shares_combine (subset, taken, rebuilt, &rebuilt_size, err, sizeof err);
        if (taken >= threshold) {
            assert_int_equal (rc, 0);
            assert_int_equal (rebuilt_size, secret_size);
            assert_memory_equal (rebuilt, secret, secret_size);
        }
        else
        if (taken >= 2) {
            assert_int_equal (rc, 0);
            assert_int_equal (rebuilt_size, secret_size);
            assert_memory_not_equal (rebuilt, secret, secret_size);
        }
        else {
            assert_int_equal (rc, -1);
            assert_int_equal (rebuilt_size, 0);
            assert_string_not_equal (err, "");
        }
        OPENSSL_cleanse (rebuilt, sizeof rebuilt);
        for (unsigned i = 0; i < taken; i++)
            ca_share_wipe (&subset [i]);
    }
}

static void
s_split_combine (unsigned threshold, unsigned count)
{
    uint8_t secret [S_SECRET_SIZE];
    s_random_secret (secret, sizeof secret);
    ca_share_t shares [CA_SHARES_MAX];
    char err [256] = "";
    assert_int_equal (ca_shares_split (secret, sizeof secret, threshold, count, shares,
                                       err, sizeof err), 0);
    for (unsigned i = 0; i < count; i++) {
        assert_int_equal (shares [i].x, i + 1);
        assert_int_equal (shares [i].size, sizeof secret);
        assert_memory_not_equal (shares [i].bytes, secret, sizeof secret);
    }
    s_check_subsets (shares, count, threshold, secret, sizeof secret);

    //  A second split of the same secret draws other coefficients.
    ca_share_t again [CA_SHARES_MAX];
    assert_int_equal (ca_shares_split (secret, sizeof secret, threshold, count, again,
                                       err, sizeof err), 0);
    assert_memory_not_equal (again [0].bytes, shares [0].bytes, sizeof secret);
    for (unsigned i = 0; i < count; i++) {
        ca_share_wipe (&shares [i]);
        ca_share_wipe (&again [i]);
    }
    OPENSSL_cleanse (secret, sizeof secret);
}

static void
test_split_combine_2_of_3 (void **state)
{
    (void) state;
    s_split_combine (2, 3);
}

static void
test_split_combine_3_of_5 (void **state)
{
    (void) state;
    s_split_combine (3, 5);
}

static void
test_split_combine_limits (void **state)
{
    (void) state;
    //  The largest secret and share count, and a one-byte secret.
    uint8_t secret [CA_SECRET_MAX];
    s_random_secret (secret, sizeof secret);
    ca_share_t shares [CA_SHARES_MAX];
    char err [256] = "";
    assert_int_equal (ca_shares_split (secret, CA_SECRET_MAX, CA_SHARES_MAX, CA_SHARES_MAX,
                                       shares, err, sizeof err), 0);
    uint8_t rebuilt [CA_SECRET_MAX];
    size_t rebuilt_size = 0;
    assert_int_equal (ca_shares_combine (shares, CA_SHARES_MAX, rebuilt, &rebuilt_size,
                                         err, sizeof err), 0);
    assert_int_equal (rebuilt_size, CA_SECRET_MAX);
    assert_memory_equal (rebuilt, secret, CA_SECRET_MAX);

    assert_int_equal (ca_shares_split (secret, 1, 2, 2, shares, err, sizeof err), 0);
    assert_int_equal (ca_shares_combine (shares, 2, rebuilt, &rebuilt_size, err, sizeof err), 0);
    assert_int_equal (rebuilt_size, 1);
    assert_int_equal (rebuilt [0], secret [0]);
    for (unsigned i = 0; i < CA_SHARES_MAX; i++)
        ca_share_wipe (&shares [i]);
}

static void
test_digest (void **state)
{
    (void) state;
    //  Pinned: SHA-256 of 01 'a' 'b' 'c' (printf '\001abc' | openssl dgst -sha256).
    ca_share_t share = { .x = 1, .size = 3 };
    memcpy (share.bytes, "abc", 3);
    char digest [65];
    ca_shares_digest (&share, digest);
    assert_string_equal (digest,
                         "1e18834c426d00e57788444cb3ccd62c771b420c095bb0c4e040a8c122c4570d");
    //  Bytes past the size do not count.
    share.bytes [3] = 'z';
    char same [65];
    ca_shares_digest (&share, same);
    assert_string_equal (same, digest);
    //  Another x, the same bytes: another digest.
    share.x = 2;
    ca_shares_digest (&share, same);
    assert_string_equal (same,
                         "909ac45e439911193205994d09399c29fede977ab212605f29ead5250a812e73");

    //  Invalid shares give the empty string.
    ca_shares_digest (NULL, digest);
    assert_string_equal (digest, "");
    share.size = 0;
    ca_shares_digest (&share, digest);
    assert_string_equal (digest, "");
    share.size = CA_SECRET_MAX + 1;
    ca_shares_digest (&share, digest);
    assert_string_equal (digest, "");

    //  The shares of one split all differ, and one flipped bit shows.
    uint8_t secret [S_SECRET_SIZE];
    s_random_secret (secret, sizeof secret);
    ca_share_t shares [3];
    char err [256] = "";
    assert_int_equal (ca_shares_split (secret, sizeof secret, 2, 3, shares, err, sizeof err), 0);
    char digests [3][65];
    for (unsigned i = 0; i < 3; i++) {
        ca_shares_digest (&shares [i], digests [i]);
        assert_int_equal (strlen (digests [i]), 64);
        assert_int_equal (strspn (digests [i], "0123456789abcdef"), 64);
    }
    assert_string_not_equal (digests [0], digests [1]);
    assert_string_not_equal (digests [0], digests [2]);
    assert_string_not_equal (digests [1], digests [2]);
    shares [1].bytes [17] ^= 0x10;
    char flipped [65];
    ca_shares_digest (&shares [1], flipped);
    assert_string_not_equal (flipped, digests [1]);
    shares [1].bytes [17] ^= 0x10;
    ca_shares_digest (&shares [1], flipped);
    assert_string_equal (flipped, digests [1]);
    for (unsigned i = 0; i < 3; i++)
        ca_share_wipe (&shares [i]);
    OPENSSL_cleanse (secret, sizeof secret);
}

static void
test_split_refusals (void **state)
{
    (void) state;
    uint8_t secret [CA_SECRET_MAX + 1];
    s_random_secret (secret, sizeof secret);
    ca_share_t shares [CA_SHARES_MAX + 1];
    char err [256];

    //  Threshold 1 would let one person open the key alone.
    err [0] = '\0';
    assert_int_equal (ca_shares_split (secret, S_SECRET_SIZE, 1, 3, shares, err, sizeof err), -1);
    assert_non_null (strstr (err, "RGS **"));
    assert_non_null (strstr (err, "two people"));
    assert_int_equal (ca_shares_split (secret, S_SECRET_SIZE, 0, 3, shares, err, sizeof err), -1);
    assert_int_equal (ca_shares_split (secret, S_SECRET_SIZE, 1, 1, shares, err, sizeof err), -1);
    //  More people needed than shares, too many shares.
    err [0] = '\0';
    assert_int_equal (ca_shares_split (secret, S_SECRET_SIZE, 4, 3, shares, err, sizeof err), -1);
    assert_string_not_equal (err, "");
    assert_int_equal (ca_shares_split (secret, S_SECRET_SIZE, 2, CA_SHARES_MAX + 1, shares,
                                       err, sizeof err), -1);
    //  Secret sizes.
    assert_int_equal (ca_shares_split (secret, 0, 2, 3, shares, err, sizeof err), -1);
    assert_int_equal (ca_shares_split (secret, CA_SECRET_MAX + 1, 2, 3, shares, err,
                                       sizeof err), -1);
    assert_int_equal (ca_shares_split (NULL, S_SECRET_SIZE, 2, 3, shares, err, sizeof err), -1);
    assert_int_equal (ca_shares_split (secret, S_SECRET_SIZE, 2, 3, NULL, err, sizeof err), -1);
    //  No error buffer: still refused, without a crash.
    assert_int_equal (ca_shares_split (secret, S_SECRET_SIZE, 1, 3, shares, NULL, 0), -1);
    OPENSSL_cleanse (secret, sizeof secret);
}

static void
test_combine_refusals (void **state)
{
    (void) state;
    uint8_t secret [S_SECRET_SIZE];
    s_random_secret (secret, sizeof secret);
    ca_share_t shares [CA_SHARES_MAX + 1];
    char err [256] = "";
    assert_int_equal (ca_shares_split (secret, sizeof secret, 2, 3, shares, err, sizeof err), 0);
    uint8_t rebuilt [CA_SECRET_MAX];
    size_t rebuilt_size;

    //  The same share twice.
    ca_share_t twice [2] = { shares [0], shares [0] };
    err [0] = '\0';
    rebuilt_size = 99;
    assert_int_equal (ca_shares_combine (twice, 2, rebuilt, &rebuilt_size, err, sizeof err), -1);
    assert_int_equal (rebuilt_size, 0);
    assert_string_not_equal (err, "");
    //  The same x with other bytes (a share of another split) is refused too.
    ca_share_t clash [3] = { shares [0], shares [1], shares [2] };
    clash [2].x = 1;
    assert_int_equal (ca_shares_combine (clash, 3, rebuilt, &rebuilt_size, err, sizeof err), -1);

    //  Different sizes.
    ca_share_t mixed [2] = { shares [0], shares [1] };
    mixed [1].size = S_SECRET_SIZE - 1;
    err [0] = '\0';
    assert_int_equal (ca_shares_combine (mixed, 2, rebuilt, &rebuilt_size, err, sizeof err), -1);
    assert_string_not_equal (err, "");

    //  Invalid shares: x 0, size 0, size too large.
    ca_share_t bad [2] = { shares [0], shares [1] };
    bad [1].x = 0;
    assert_int_equal (ca_shares_combine (bad, 2, rebuilt, &rebuilt_size, err, sizeof err), -1);
    bad [1] = shares [1];
    bad [0].size = bad [1].size = 0;
    assert_int_equal (ca_shares_combine (bad, 2, rebuilt, &rebuilt_size, err, sizeof err), -1);
    bad [0].size = bad [1].size = CA_SECRET_MAX + 1;
    assert_int_equal (ca_shares_combine (bad, 2, rebuilt, &rebuilt_size, err, sizeof err), -1);

    //  Counts: one share, none, more than CA_SHARES_MAX.
    assert_int_equal (ca_shares_combine (shares, 1, rebuilt, &rebuilt_size, err, sizeof err), -1);
    assert_int_equal (ca_shares_combine (shares, 0, rebuilt, &rebuilt_size, err, sizeof err), -1);
    for (unsigned i = 0; i <= CA_SHARES_MAX; i++) {
        shares [i] = shares [i % 3];
        shares [i].x = (uint8_t) (i + 1);
    }
    assert_int_equal (ca_shares_combine (shares, CA_SHARES_MAX + 1, rebuilt, &rebuilt_size,
                                         err, sizeof err), -1);
    assert_int_equal (ca_shares_combine (NULL, 2, rebuilt, &rebuilt_size, err, sizeof err), -1);
    assert_int_equal (ca_shares_combine (shares, 2, NULL, &rebuilt_size, err, sizeof err), -1);
    assert_int_equal (ca_shares_combine (shares, 2, rebuilt, NULL, err, sizeof err), -1);

    for (unsigned i = 0; i <= CA_SHARES_MAX; i++)
        ca_share_wipe (&shares [i]);
    for (unsigned i = 0; i < 2; i++) {
        ca_share_wipe (&twice [i]);
        ca_share_wipe (&mixed [i]);
        ca_share_wipe (&bad [i]);
    }
    for (unsigned i = 0; i < 3; i++)
        ca_share_wipe (&clash [i]);
    OPENSSL_cleanse (secret, sizeof secret);
}

//  Splits, writes the share files under dir/stem, checks them, then has
//  gfcombine rebuild the secret from every subset of threshold - 1 files or
//  more.
static void
s_files_and_gfcombine (const char *dir, const char *stem_name, unsigned threshold,
                       unsigned count)
{
    uint8_t secret [S_SECRET_SIZE];
    s_random_secret (secret, sizeof secret);
    ca_share_t shares [CA_SHARES_MAX];
    char err [256] = "";
    assert_int_equal (ca_shares_split (secret, sizeof secret, threshold, count, shares,
                                       err, sizeof err), 0);
    char stem [S_PATH_MAX];
    snprintf (stem, sizeof stem, "%s/%s", dir, stem_name);
    char paths [CA_SHARES_MAX][S_PATH_MAX];
    for (unsigned i = 0; i < count; i++) {
        assert_int_equal (ca_shares_write_file (&shares [i], stem, paths [i], sizeof paths [i],
                                                err, sizeof err), 0);
        char expected [S_PATH_MAX + 16];
        snprintf (expected, sizeof expected, "%s.%03u", stem, i + 1);
        assert_string_equal (paths [i], expected);
        struct stat st;
        assert_int_equal (stat (paths [i], &st), 0);
        assert_true (S_ISREG (st.st_mode));
        assert_int_equal (st.st_mode & 07777, 0600);
        assert_int_equal (st.st_size, S_SECRET_SIZE);

        //  Never over an existing share; the file stays as it was.
        char again [S_PATH_MAX];
        err [0] = '\0';
        assert_int_equal (ca_shares_write_file (&shares [i], stem, again, sizeof again,
                                                err, sizeof err), -1);
        assert_non_null (strstr (err, "exists"));
        ca_share_t read_back;
        assert_int_equal (ca_shares_read_file (paths [i], &read_back, err, sizeof err), 0);
        assert_int_equal (read_back.x, shares [i].x);
        assert_int_equal (read_back.size, shares [i].size);
        assert_memory_equal (read_back.bytes, shares [i].bytes, shares [i].size);
        ca_share_wipe (&read_back);
    }

    char out [S_PATH_MAX + 8];
    snprintf (out, sizeof out, "%s/%s.out", dir, stem_name);
    for (unsigned mask = 1; mask < (1u << count); mask++) {
        unsigned taken = s_popcount (mask);
        if (taken + 1 < threshold)
            continue;
        char command [S_PATH_MAX * (CA_SHARES_MAX + 2)];
        size_t len = (size_t) snprintf (command, sizeof command, "gfcombine -o '%s'", out);
        assert_true (len < sizeof command);
        for (unsigned i = 0; i < count; i++)
            if (mask & (1u << i)) {
                len += (size_t) snprintf (command + len, sizeof command - len, " '%s'",
                                          paths [i]);
                assert_true (len < sizeof command);
            }
        len += (size_t) snprintf (command + len, sizeof command - len, " 2>/dev/null");
        assert_true (len < sizeof command);
        unlink (out);
        int status = s_run (command);
        uint8_t rebuilt [CA_SECRET_MAX + 1];
        size_t rebuilt_size = 0;
        if (taken >= threshold) {
            assert_int_equal (status, 0);
            assert_int_equal (s_read_bytes (out, rebuilt, sizeof rebuilt, &rebuilt_size), 0);
            assert_int_equal (rebuilt_size, sizeof secret);
            assert_memory_equal (rebuilt, secret, sizeof secret);
        }
        else
        //  gfcombine refuses a single file; from more, it rebuilds garbage.
        if (status == 0) {
            assert_int_equal (s_read_bytes (out, rebuilt, sizeof rebuilt, &rebuilt_size), 0);
            assert_false (rebuilt_size == sizeof secret
                          && memcmp (rebuilt, secret, sizeof secret) == 0);
        }
        else
            assert_int_equal (taken, 1);
        OPENSSL_cleanse (rebuilt, sizeof rebuilt);
    }
    unlink (out);
    for (unsigned i = 0; i < count; i++)
        ca_share_wipe (&shares [i]);
    OPENSSL_cleanse (secret, sizeof secret);
}

static void
test_files_gfcombine (void **state)
{
    s_fixture_t *fixture = *state;
    s_files_and_gfcombine (fixture->dir, "two", 2, 3);
    s_files_and_gfcombine (fixture->dir, "three", 3, 5);
}

static void
test_gfsplit_files (void **state)
{
    s_fixture_t *fixture = *state;
    uint8_t secret [S_SECRET_SIZE];
    s_random_secret (secret, sizeof secret);
    char secret_path [S_PATH_MAX + 16];
    snprintf (secret_path, sizeof secret_path, "%s/secret", fixture->dir);
    s_write_bytes (secret_path, secret, sizeof secret);
    char command [3 * S_PATH_MAX];
    snprintf (command, sizeof command, "gfsplit -n 2 -m 3 '%s' '%s/other'", secret_path,
              fixture->dir2);
    assert_int_equal (s_run (command), 0);
    unlink (secret_path);

    //  gfsplit picks its x coordinates at random: list what it wrote.
    ca_share_t shares [3];
    unsigned count = 0;
    DIR *handle = opendir (fixture->dir2);
    assert_non_null (handle);
    struct dirent *entry;
    char err [256] = "";
    while ((entry = readdir (handle)) != NULL) {
        if (strncmp (entry->d_name, "other.", 6) != 0)
            continue;
        assert_true (count < 3);
        char path [S_PATH_MAX + 256];
        snprintf (path, sizeof path, "%s/%s", fixture->dir2, entry->d_name);
        assert_int_equal (ca_shares_read_file (path, &shares [count], err, sizeof err), 0);
        assert_int_equal (shares [count].x, strtoul (entry->d_name + 6, NULL, 10));
        assert_int_equal (shares [count].size, sizeof secret);
        count++;
    }
    closedir (handle);
    assert_int_equal (count, 3);
    s_check_subsets (shares, count, 2, secret, sizeof secret);
    for (unsigned i = 0; i < count; i++)
        ca_share_wipe (&shares [i]);
    OPENSSL_cleanse (secret, sizeof secret);
}

//  read_file refuses path and says why, without the file's bytes.
static void
s_assert_read_refused (const char *path, const char *why)
{
    ca_share_t share;
    memset (&share, 0xa5, sizeof share);
    char err [512] = "";
    assert_int_equal (ca_shares_read_file (path, &share, err, sizeof err), -1);
    if (!strstr (err, why))
        fail_msg ("%s: expected \"%s\" in \"%s\"", path, why, err);
    assert_null (strstr (err, "SHAREBYTES"));
    //  Nothing half-read is left in the share.
    ca_share_t zero;
    memset (&zero, 0, sizeof zero);
    assert_memory_equal (&share, &zero, sizeof share);
}

static void
test_read_file_refusals (void **state)
{
    s_fixture_t *fixture = *state;
    static const char content [] = "SHAREBYTES-SHAREBYTES-SHAREBYTES";
    char path [S_PATH_MAX + 64];
    const char *bad_names [] = {
        "share", "share.000", "share.256", "share.999", "share.12", "share.0001",
        "share.1a2", "share.", "share.-01", "share. 12"
    };
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names [0]; i++) {
        snprintf (path, sizeof path, "%s/%s", fixture->dir, bad_names [i]);
        s_write_bytes (path, content, sizeof content - 1);
        s_assert_read_refused (path, "must end in .NNN");
    }
    //  An extension in a directory name does not count.
    snprintf (path, sizeof path, "%s/sub.001", fixture->dir);
    assert_int_equal (mkdir (path, 0700), 0);
    s_assert_read_refused (path, "not a regular file");
    snprintf (path, sizeof path, "%s/sub.001/share", fixture->dir);
    s_assert_read_refused (path, "must end in .NNN");

    snprintf (path, sizeof path, "%s/empty.001", fixture->dir);
    s_write_bytes (path, "", 0);
    s_assert_read_refused (path, "empty");

    uint8_t big [CA_SECRET_MAX + 1];
    memset (big, 'b', sizeof big);
    snprintf (path, sizeof path, "%s/big.002", fixture->dir);
    s_write_bytes (path, big, sizeof big);
    s_assert_read_refused (path, "larger");

    snprintf (path, sizeof path, "%s/missing.003", fixture->dir);
    s_assert_read_refused (path, "cannot open");

    //  The limits themselves are fine: x 1 and 255, 64 bytes and 1 byte.
    ca_share_t share;
    char err [256] = "";
    snprintf (path, sizeof path, "%s/full.001", fixture->dir);
    s_write_bytes (path, big, CA_SECRET_MAX);
    assert_int_equal (ca_shares_read_file (path, &share, err, sizeof err), 0);
    assert_int_equal (share.x, 1);
    assert_int_equal (share.size, CA_SECRET_MAX);
    assert_memory_equal (share.bytes, big, CA_SECRET_MAX);
    snprintf (path, sizeof path, "%s/tiny.255", fixture->dir);
    s_write_bytes (path, "t", 1);
    assert_int_equal (ca_shares_read_file (path, &share, err, sizeof err), 0);
    assert_int_equal (share.x, 255);
    assert_int_equal (share.size, 1);
    assert_int_equal (share.bytes [0], 't');
    //  A dot in a directory name is not an extension of the file.
    snprintf (path, sizeof path, "%s/sub.001/x.042", fixture->dir);
    s_write_bytes (path, "u", 1);
    assert_int_equal (ca_shares_read_file (path, &share, err, sizeof err), 0);
    assert_int_equal (share.x, 42);
    ca_share_wipe (&share);
    assert_int_equal (ca_shares_read_file (NULL, &share, err, sizeof err), -1);
    assert_int_equal (ca_shares_read_file (path, NULL, err, sizeof err), -1);
}

static void
test_write_file_refusals (void **state)
{
    s_fixture_t *fixture = *state;
    ca_share_t share = { .x = 7, .size = 4 };
    memcpy (share.bytes, "abcd", 4);
    char stem [S_PATH_MAX];
    snprintf (stem, sizeof stem, "%s/w", fixture->dir);
    char path [S_PATH_MAX + 8];
    char err [256] = "";

    //  The path does not fit: nothing is written.
    char small [8];
    assert_int_equal (ca_shares_write_file (&share, stem, small, sizeof small, err, sizeof err),
                      -1);
    assert_string_equal (small, "");
    assert_non_null (strstr (err, "too long"));
    snprintf (path, sizeof path, "%s.007", stem);
    assert_int_equal (access (path, F_OK), -1);

    //  Invalid shares.
    share.x = 0;
    assert_int_equal (ca_shares_write_file (&share, stem, path, sizeof path, err, sizeof err), -1);
    share.x = 7;
    share.size = 0;
    assert_int_equal (ca_shares_write_file (&share, stem, path, sizeof path, err, sizeof err), -1);
    share.size = CA_SECRET_MAX + 1;
    assert_int_equal (ca_shares_write_file (&share, stem, path, sizeof path, err, sizeof err), -1);
    share.size = 4;
    assert_int_equal (ca_shares_write_file (&share, "", path, sizeof path, err, sizeof err), -1);
    assert_int_equal (ca_shares_write_file (NULL, stem, path, sizeof path, err, sizeof err), -1);

    //  A directory that does not exist.
    char nowhere [S_PATH_MAX + 16];
    snprintf (nowhere, sizeof nowhere, "%s/no/such", fixture->dir);
    assert_int_equal (ca_shares_write_file (&share, nowhere, path, sizeof path, err, sizeof err),
                      -1);
    assert_non_null (strstr (err, "cannot create"));

    //  With a strict umask the mode is still 0600; x 7 gives ".007".
    mode_t old_mask = umask (0277);
    int rc = ca_shares_write_file (&share, stem, path, sizeof path, err, sizeof err);
    umask (old_mask);
    assert_int_equal (rc, 0);
    char expected [S_PATH_MAX + 8];
    snprintf (expected, sizeof expected, "%s.007", stem);
    assert_string_equal (path, expected);
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (st.st_mode & 07777, 0600);
}

static void
test_wipe (void **state)
{
    (void) state;
    ca_share_t share;
    memset (&share, 0x5a, sizeof share);
    ca_share_wipe (&share);
    ca_share_t zero;
    memset (&zero, 0, sizeof zero);
    assert_memory_equal (&share, &zero, sizeof share);
    ca_share_wipe (NULL);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_split_combine_2_of_3),
        cmocka_unit_test (test_split_combine_3_of_5),
        cmocka_unit_test (test_split_combine_limits),
        cmocka_unit_test (test_digest),
        cmocka_unit_test (test_split_refusals),
        cmocka_unit_test (test_combine_refusals),
        cmocka_unit_test_setup_teardown (test_files_gfcombine, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_gfsplit_files, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_read_file_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_write_file_refusals, s_setup, s_teardown),
        cmocka_unit_test (test_wipe),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
