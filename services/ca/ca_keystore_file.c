/*  ca_keystore_file: the key store's file back end (see ca_keystore.h).

    One key per file, <directory>/<label>.key: a PEM "ENCRYPTED PRIVATE KEY"
    (PKCS#8, PBES2 with AES-256-CBC, the key derivation OpenSSL 3 chooses),
    created 0600 with O_EXCL so an existing key is never overwritten. The
    label was checked by ca_keystore.c ([A-Za-z0-9._-], at most 64), so it
    cannot leave the directory. `openssl pkey -in <label>.key` reads a file
    with the passphrase, independently of tessera.
*/
#include "ca_keystore_internal.h"
#include "tessera/files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char *directory;
} s_file_store_t;

static void
s_file_destroy (void **impl_p)
{
    if (!impl_p || !*impl_p)
        return;
    s_file_store_t *self = *impl_p;
    free (self->directory);
    free (self);
    *impl_p = NULL;
}

//  Writes <directory>/<label>.key into path. Returns 0, or -1 if it does
//  not fit.
static int
s_key_path (s_file_store_t *self, const char *label, char *path, size_t path_size)
{
    int written = snprintf (path, path_size, "%s/%s.key", self->directory, label);
    return written > 0 && (size_t) written < path_size ? 0 : -1;
}

static int
s_file_set_secret (void *impl, const char *so_pin, const char *secret,
                   char *err, size_t err_size)
{
    //  Each key file carries its own passphrase: nothing to set up.
    (void) impl;
    (void) so_pin;
    (void) secret;
    (void) err;
    (void) err_size;
    return 0;
}

static EVP_PKEY *
s_new_key (ca_key_algorithm_t algorithm)
{
    switch (algorithm) {
        case CA_KEY_EC_P256:
            return EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
        case CA_KEY_EC_P384:
            return EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-384");
        case CA_KEY_RSA_3072:
            return EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 3072);
        case CA_KEY_RSA_4096:
            return EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 4096);
    }
    return NULL;
}

static EVP_PKEY *
s_file_generate (void *impl, const char *secret, const char *label,
                 ca_key_algorithm_t algorithm, char *err, size_t err_size)
{
    s_file_store_t *self = impl;
    EVP_PKEY *key = NULL;
    EVP_PKEY *public_key = NULL;
    FILE *file = NULL;
    int fd = -1;
    bool created = false;
    char reason [256];
    char path [PATH_MAX];

    if (s_key_path (self, label, path, sizeof path)) {
        ca_keystore_error (err, err_size, "key file path for %s is too long", label);
        goto cleanup;
    }
    key = s_new_key (algorithm);
    if (!key) {
        ca_keystore_error (err, err_size, "cannot generate key %s: %s", label,
                           ca_keystore_openssl_reason (reason, sizeof reason));
        goto cleanup;
    }
    fd = open (path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            ca_keystore_error (err, err_size, "a key labelled %s already exists", label);
        else
            ca_keystore_error (err, err_size, "cannot create %s: %s", path, strerror (errno));
        goto cleanup;
    }
    created = true;
    file = fdopen (fd, "w");
    if (!file) {
        ca_keystore_error (err, err_size, "cannot write %s: %s", path, strerror (errno));
        goto cleanup;
    }
    fd = -1;                            //  the stream owns it now
    if (PEM_write_PKCS8PrivateKey (file, key, EVP_aes_256_cbc (), secret,
                                   (int) strlen (secret), NULL, NULL) != 1) {
        ca_keystore_error (err, err_size, "cannot write %s: %s", path,
                           ca_keystore_openssl_reason (reason, sizeof reason));
        goto cleanup;
    }
    if (fflush (file) != 0 || fsync (fileno (file)) != 0) {
        ca_keystore_error (err, err_size, "cannot write %s: %s", path, strerror (errno));
        goto cleanup;
    }
    int rc = fclose (file);
    file = NULL;
    if (rc != 0) {
        ca_keystore_error (err, err_size, "cannot write %s: %s", path, strerror (errno));
        goto cleanup;
    }
    public_key = ca_keystore_public_only (key);
    if (!public_key)
        ca_keystore_error (err, err_size, "cannot extract the public key of %s: %s", label,
                           ca_keystore_openssl_reason (reason, sizeof reason));
cleanup:
    if (file)
        fclose (file);
    if (fd >= 0)
        close (fd);
    //  A key that is not all there, or whose public half the caller does
    //  not get, must not block its label.
    if (created && !public_key)
        unlink (path);
    EVP_PKEY_free (key);                //  clears the private key
    return public_key;
}

static EVP_PKEY *
s_file_open (void *impl, const char *secret, const char *label, char *err, size_t err_size)
{
    s_file_store_t *self = impl;
    EVP_PKEY *key = NULL;
    X509_SIG *encrypted = NULL;
    PKCS8_PRIV_KEY_INFO *decrypted = NULL;
    FILE *file = NULL;
    int fd = -1;
    char reason [256];
    char path [PATH_MAX];

    if (s_key_path (self, label, path, sizeof path)) {
        ca_keystore_error (err, err_size, "no key labelled %s", label);
        goto cleanup;
    }
    fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            ca_keystore_error (err, err_size, "no key labelled %s", label);
        else
            ca_keystore_error (err, err_size, "cannot open %s: %s", path, strerror (errno));
        goto cleanup;
    }
    struct stat status;
    if (fstat (fd, &status) != 0 || !S_ISREG (status.st_mode)) {
        ca_keystore_error (err, err_size, "%s is not a regular file", path);
        goto cleanup;
    }
    file = fdopen (fd, "r");
    if (!file) {
        ca_keystore_error (err, err_size, "cannot read %s: %s", path, strerror (errno));
        goto cleanup;
    }
    fd = -1;
    //  Parsing first and decrypting second tells a damaged file from a
    //  wrong passphrase: any failure to decrypt a well-formed file is the
    //  secret's.
    encrypted = PEM_read_PKCS8 (file, NULL, NULL, NULL);
    if (!encrypted) {
        ca_keystore_error (err, err_size, "%s is not an encrypted PKCS#8 key: %s", path,
                           ca_keystore_openssl_reason (reason, sizeof reason));
        goto cleanup;
    }
    decrypted = PKCS8_decrypt (encrypted, secret, (int) strlen (secret));
    if (!decrypted) {
        ERR_clear_error ();
        ca_keystore_error (err, err_size, "key store refused the secret");
        goto cleanup;
    }
    key = EVP_PKCS82PKEY (decrypted);
    if (!key)
        ca_keystore_error (err, err_size, "%s holds no usable key: %s", path,
                           ca_keystore_openssl_reason (reason, sizeof reason));
cleanup:
    PKCS8_PRIV_KEY_INFO_free (decrypted);   //  clears the private key
    X509_SIG_free (encrypted);
    if (file)
        fclose (file);
    if (fd >= 0)
        close (fd);
    return key;
}

static const ca_keystore_ops_t s_file_ops = {
    .destroy = s_file_destroy,
    .set_secret = s_file_set_secret,
    .generate = s_file_generate,
    .open = s_file_open,
};

ca_keystore_t *
ca_keystore_new_file (const char *directory, char *err, size_t err_size)
{
    void *impl = NULL;
    size_t len = directory ? strnlen (directory, PATH_MAX) : 0;
    if (len == 0 || len >= PATH_MAX - CA_KEYSTORE_LABEL_MAX - sizeof "/.key") {
        ca_keystore_error (err, err_size, "the key directory must be a path of 1 to %d bytes",
                           (int) (PATH_MAX - CA_KEYSTORE_LABEL_MAX - sizeof "/.key" - 1));
        goto failed;
    }
    if (tsr_make_private_dir (directory, err, err_size))
        goto failed;
    s_file_store_t *self = calloc (1, sizeof *self);
    impl = self;
    if (!self || !(self->directory = strdup (directory))) {
        ca_keystore_error (err, err_size, "out of memory");
        goto failed;
    }
    return ca_keystore_wrap (&s_file_ops, &impl, err, err_size);
failed:
    s_file_destroy (&impl);
    return NULL;
}
