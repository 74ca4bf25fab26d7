/*  ca_shares: k-of-n splitting of the key store secret with libgfshare
    (see ca_shares.h).
*/
#include "ca_shares.h"

#include <errno.h>
#include <fcntl.h>
#include <libgfshare.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_once_t s_rand_once = PTHREAD_ONCE_INIT;

//  libgfshare draws the polynomial's random coefficients, and the bytes it
//  wipes its buffers with, through the global hook gfshare_fill_rand; its
//  default is random(), which is predictable. This fills from the OpenSSL
//  CSPRNG instead. The hook returns nothing, so a failure has no way back
//  to the caller: going on would make shares from weak coefficients, and a
//  weak share is worse than a crash, so we abort.
static void
s_fill_rand (unsigned char *buffer, unsigned int count)
{
    if (count > INT_MAX || RAND_bytes (buffer, (int) count) != 1)
        abort ();
}

static void
s_install_rand (void)
{
    gfshare_fill_rand = s_fill_rand;
}

//  Installs our hook once per process (the hook is a global: setting it on
//  every call would race between threads). If something else replaced it
//  since, we refuse rather than split with a source we do not know.
static int
s_rand_ready (char *err, size_t err_size)
{
    if (pthread_once (&s_rand_once, s_install_rand) != 0) {
        snprintf (err, err_size, "cannot install the random source for libgfshare");
        return -1;
    }
    if (gfshare_fill_rand != s_fill_rand) {
        snprintf (err, err_size, "libgfshare's random source was replaced outside ca_shares");
        return -1;
    }
    return 0;
}

static int
s_share_valid (const ca_share_t *share, char *err, size_t err_size)
{
    if (share->x == 0) {
        snprintf (err, err_size, "share x coordinate must be from 1 to 255");
        return -1;
    }
    if (share->size < 1 || share->size > CA_SECRET_MAX) {
        snprintf (err, err_size, "share size must be from 1 to %d bytes", CA_SECRET_MAX);
        return -1;
    }
    return 0;
}

int
ca_shares_split (const uint8_t *secret, size_t size, unsigned threshold, unsigned count,
                 ca_share_t *shares, char *err, size_t err_size)
{
    if (!secret || !shares) {
        snprintf (err, err_size, "secret and shares are required");
        return -1;
    }
    if (size < 1 || size > CA_SECRET_MAX) {
        snprintf (err, err_size, "secret size must be from 1 to %d bytes", CA_SECRET_MAX);
        return -1;
    }
    if (threshold < 2) {
        snprintf (err, err_size,
                  "threshold must be at least 2: RGS ** requires two people to open the key");
        return -1;
    }
    if (count < threshold || count > CA_SHARES_MAX) {
        snprintf (err, err_size, "share count must be from the threshold (%u) to %d",
                  threshold, CA_SHARES_MAX);
        return -1;
    }
    if (s_rand_ready (err, err_size))
        return -1;

    unsigned char xs [CA_SHARES_MAX];
    for (unsigned i = 0; i < count; i++)
        xs [i] = (unsigned char) (i + 1);
    gfshare_ctx *ctx = gfshare_ctx_init_enc (xs, count, (unsigned char) threshold,
                                             (unsigned int) size);
    if (!ctx) {
        snprintf (err, err_size, "cannot prepare the split: out of memory");
        return -1;
    }
    //  libgfshare's prototypes lack const; setsecret only copies the secret.
    gfshare_ctx_enc_setsecret (ctx, (unsigned char *) secret);
    for (unsigned i = 0; i < count; i++) {
        memset (&shares [i], 0, sizeof shares [i]);
        shares [i].x = xs [i];
        shares [i].size = size;
        gfshare_ctx_enc_getshare (ctx, (unsigned char) i, shares [i].bytes);
    }
    //  Overwrites the coefficients (and the copy of the secret) before freeing.
    gfshare_ctx_free (ctx);
    return 0;
}

int
ca_shares_combine (const ca_share_t *shares, unsigned count, uint8_t *secret,
                   size_t *size, char *err, size_t err_size)
{
    if (size)
        *size = 0;
    if (!shares || !secret || !size) {
        snprintf (err, err_size, "shares, secret and size are required");
        return -1;
    }
    if (count < 2 || count > CA_SHARES_MAX) {
        snprintf (err, err_size, "share count must be from 2 to %d", CA_SHARES_MAX);
        return -1;
    }
    unsigned char xs [CA_SHARES_MAX];
    for (unsigned i = 0; i < count; i++) {
        if (s_share_valid (&shares [i], err, err_size))
            return -1;
        if (shares [i].size != shares [0].size) {
            snprintf (err, err_size, "shares have different sizes");
            return -1;
        }
        for (unsigned j = 0; j < i; j++)
            if (xs [j] == shares [i].x) {
                snprintf (err, err_size, "share %u given twice", (unsigned) shares [i].x);
                return -1;
            }
        xs [i] = shares [i].x;
    }
    //  Recombining draws no randomness, but gfshare_ctx_free wipes with it.
    if (s_rand_ready (err, err_size))
        return -1;

    gfshare_ctx *ctx = gfshare_ctx_init_dec (xs, count, (unsigned int) shares [0].size);
    if (!ctx) {
        snprintf (err, err_size, "cannot prepare the combination: out of memory");
        return -1;
    }
    //  giveshare only copies the share (the prototype lacks const).
    for (unsigned i = 0; i < count; i++)
        gfshare_ctx_dec_giveshare (ctx, (unsigned char) i, (unsigned char *) shares [i].bytes);
    gfshare_ctx_dec_extract (ctx, secret);
    gfshare_ctx_free (ctx);
    *size = shares [0].size;
    return 0;
}

void
ca_shares_digest (const ca_share_t *share, char digest_hex [65])
{
    static const char hex [] = "0123456789abcdef";
    digest_hex [0] = '\0';
    if (!share || share->size < 1 || share->size > CA_SECRET_MAX)
        return;

    unsigned char md [EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *md_ctx = EVP_MD_CTX_new ();
    int ok = md_ctx
          && EVP_DigestInit_ex (md_ctx, EVP_sha256 (), NULL) == 1
          && EVP_DigestUpdate (md_ctx, &share->x, 1) == 1
          && EVP_DigestUpdate (md_ctx, share->bytes, share->size) == 1
          && EVP_DigestFinal_ex (md_ctx, md, &md_len) == 1
          && md_len == 32;
    EVP_MD_CTX_free (md_ctx);
    if (!ok)
        return;
    for (size_t i = 0; i < 32; i++) {
        digest_hex [2 * i] = hex [md [i] >> 4];
        digest_hex [2 * i + 1] = hex [md [i] & 0x0f];
    }
    digest_hex [64] = '\0';
}

//  write (2) until all is written, through short writes and signals.
static int
s_write_all (int fd, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t written = write (fd, data, size);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return -1;
        data += written;
        size -= (size_t) written;
    }
    return 0;
}

int
ca_shares_write_file (const ca_share_t *share, const char *stem, char *path,
                      size_t path_size, char *err, size_t err_size)
{
    if (!share || !stem || !*stem || !path || path_size == 0) {
        snprintf (err, err_size, "share, stem and path are required");
        return -1;
    }
    path [0] = '\0';
    if (s_share_valid (share, err, err_size))
        return -1;
    int len = snprintf (path, path_size, "%s.%03u", stem, (unsigned) share->x);
    if (len < 0 || (size_t) len >= path_size) {
        path [0] = '\0';
        snprintf (err, err_size, "share file path too long");
        return -1;
    }
    //  O_EXCL: a share is never written over another one (nor through a
    //  symbolic link planted in its place).
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        snprintf (err, err_size, "cannot create %s: %s", path, strerror (errno));
        return -1;
    }
    //  The umask may only remove bits; fchmod makes the mode exactly 0600.
    //  fsync: the operator may take the medium away right after the ceremony.
    const char *step = NULL;
    if (fchmod (fd, 0600))
        step = "set the mode of";
    else
    if (s_write_all (fd, share->bytes, share->size))
        step = "write";
    else
    if (fsync (fd))
        step = "sync";
    int saved_errno = errno;
    if (close (fd) && !step) {
        step = "close";
        saved_errno = errno;
    }
    if (step) {
        //  A partial share is worse than none, and would block a retry.
        unlink (path);
        snprintf (err, err_size, "cannot %s %s: %s", step, path, strerror (saved_errno));
        path [0] = '\0';
        return -1;
    }
    return 0;
}

//  read (2) exactly size bytes, through short reads and signals. At the end
//  of the file too early, fails with errno 0.
static int
s_read_all (int fd, uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t count = read (fd, data, size);
        if (count < 0 && errno == EINTR)
            continue;
        if (count <= 0) {
            if (count == 0)
                errno = 0;
            return -1;
        }
        data += count;
        size -= (size_t) count;
    }
    return 0;
}

//  0 at the end of the file; -1 with errno 0 if there is more to read, or
//  with the error.
static int
s_at_end (int fd)
{
    uint8_t extra;
    ssize_t count;
    while ((count = read (fd, &extra, 1)) < 0 && errno == EINTR)
        ;
    if (count == 0)
        return 0;
    if (count > 0) {
        OPENSSL_cleanse (&extra, sizeof extra);
        errno = 0;
    }
    return -1;
}

//  The x coordinate from a name ending in ".NNN", 001..255, as gfsplit
//  writes it; 0 when the name has no such extension.
static unsigned
s_x_from_name (const char *path)
{
    const char *name = strrchr (path, '/');
    name = name ? name + 1 : path;
    const char *dot = strrchr (name, '.');
    if (!dot || strlen (dot + 1) != 3)
        return 0;
    unsigned x = 0;
    for (const char *p = dot + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        x = x * 10 + (unsigned) (*p - '0');
    }
    return x <= 255 ? x : 0;
}

int
ca_shares_read_file (const char *path, ca_share_t *share, char *err, size_t err_size)
{
    if (!path || !share) {
        snprintf (err, err_size, "path and share are required");
        return -1;
    }
    ca_share_wipe (share);
    unsigned x = s_x_from_name (path);
    if (x == 0) {
        snprintf (err, err_size, "share file name must end in .NNN, NNN from 001 to 255");
        return -1;
    }
    //  O_NONBLOCK: a FIFO in place of the file must not hang us (fstat
    //  refuses it next); it changes nothing for a regular file.
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf (err, err_size, "cannot open %s: %s", path, strerror (errno));
        return -1;
    }
    int rc = -1;
    struct stat st;
    if (fstat (fd, &st)) {
        snprintf (err, err_size, "cannot stat %s: %s", path, strerror (errno));
        goto done;
    }
    if (!S_ISREG (st.st_mode)) {
        snprintf (err, err_size, "%s is not a regular file", path);
        goto done;
    }
    if (st.st_size < 1) {
        snprintf (err, err_size, "%s is empty", path);
        goto done;
    }
    if (st.st_size > CA_SECRET_MAX) {
        snprintf (err, err_size, "%s is larger than a share (%d bytes at most)", path,
                  CA_SECRET_MAX);
        goto done;
    }
    //  Reads exactly the size fstat gave, then expects the end of the file:
    //  a file that changes while being read is refused.
    size_t size = (size_t) st.st_size;
    if (s_read_all (fd, share->bytes, size) || s_at_end (fd)) {
        if (errno)
            snprintf (err, err_size, "cannot read %s: %s", path, strerror (errno));
        else
            snprintf (err, err_size, "%s changed while being read", path);
        goto done;
    }
    share->x = (uint8_t) x;
    share->size = size;
    rc = 0;
done:
    close (fd);
    if (rc)
        ca_share_wipe (share);
    return rc;
}

void
ca_share_wipe (ca_share_t *share)
{
    if (share)
        OPENSSL_cleanse (share, sizeof *share);
}
