/*  mail_signer_files: key, certificates and CSR (see mail_signer_files.h).
*/
#include "mail_signer_files.h"
#include "mail_input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <openssl/err.h>
#include "tessera/files.h"

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
mail_signer_dir (const char *dir, char *err, size_t err_size)
{
    return tsr_make_private_dir (dir, err, err_size);
}

EVP_PKEY *
mail_signer_key_load (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return NULL;
    EVP_PKEY *key = PEM_read_PrivateKey (file, NULL, NULL, NULL);
    fclose (file);
    return key;
}

//  Opens path.tmp for writing with mode. The FILE, or NULL.
static FILE *
s_open_tmp (const char *path, mode_t mode, char *tmp, size_t tmp_size)
{
    snprintf (tmp, tmp_size, "%s.tmp", path);
    unlink (tmp);
    int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0)
        return NULL;
    FILE *file = fdopen (fd, "w");
    if (!file)
        close (fd);
    return file;
}

//  Closes, syncs and renames the temporary file into place.
static int
s_commit_tmp (FILE *file, bool written, const char *tmp, const char *path)
{
    bool ok = written && fflush (file) == 0 && fsync (fileno (file)) == 0;
    ok = fclose (file) == 0 && ok;
    if (!ok || rename (tmp, path)) {
        unlink (tmp);
        return -1;
    }
    return 0;
}

EVP_PKEY *
mail_signer_key_new (const char *path, char *err, size_t err_size)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    char tmp [1100];
    FILE *file = key ? s_open_tmp (path, 0600, tmp, sizeof tmp) : NULL;
    if (!file) {
        snprintf (err, err_size, key ? "cannot write %s" : "cannot make an EC P-256 key", path);
        EVP_PKEY_free (key);
        return NULL;
    }
    bool written = PEM_write_PrivateKey (file, key, NULL, NULL, 0, NULL, NULL) == 1;
    if (s_commit_tmp (file, written, tmp, path)) {
        snprintf (err, err_size, "cannot write %s", path);
        EVP_PKEY_free (key);
        return NULL;
    }
    return key;
}

STACK_OF (X509) *
mail_signer_certs_load (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return NULL;
    STACK_OF (X509) *certs = sk_X509_new_null ();
    X509 *cert;
    while (certs && (cert = PEM_read_X509 (file, NULL, NULL, NULL)))
        if (!sk_X509_push (certs, cert))
            X509_free (cert);
    fclose (file);
    ERR_clear_error ();         //  the end of the file reads as an error
    if (certs && sk_X509_num (certs) == 0) {
        sk_X509_free (certs);
        certs = NULL;
    }
    return certs;
}

int
mail_signer_certs_save (const char *path, X509 *leaf, STACK_OF (X509) *chain,
                        char *err, size_t err_size)
{
    char tmp [1100];
    FILE *file = s_open_tmp (path, 0644, tmp, sizeof tmp);
    if (!file) {
        snprintf (err, err_size, "cannot write %s", path);
        return -1;
    }
    bool written = PEM_write_X509 (file, leaf) == 1;
    for (int i = 0; written && i < sk_X509_num (chain); i++)
        written = PEM_write_X509 (file, sk_X509_value (chain, i)) == 1;
    if (s_commit_tmp (file, written, tmp, path)) {
        snprintf (err, err_size, "cannot write %s", path);
        return -1;
    }
    return 0;
}

int
mail_signer_csr (EVP_PKEY *key, const char *common_name, unsigned char **der_p, int *der_size)
{
    *der_p = NULL;
    X509_REQ *csr = X509_REQ_new ();
    X509_NAME *name = csr ? X509_REQ_get_subject_name (csr) : NULL;
    int rc = -1;
    if (name
    &&  X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8,
                                    (const unsigned char *) common_name, -1, -1, 0) == 1
    &&  X509_REQ_set_version (csr, 0) == 1
    &&  X509_REQ_set_pubkey (csr, key) == 1
    &&  X509_REQ_sign (csr, key, EVP_sha256 ()) > 0
    &&  (*der_size = i2d_X509_REQ (csr, der_p)) > 0)
        rc = 0;
    X509_REQ_free (csr);
    return rc;
}

int
mail_signer_spki_sha256 (EVP_PKEY *key, char hex [65])
{
    unsigned char *der = NULL;
    int size = i2d_PUBKEY (key, &der);
    if (size <= 0)
        return -1;
    unsigned char digest [SHA256_DIGEST_LENGTH];
    SHA256 (der, (size_t) size, digest);
    OPENSSL_free (der);
    mail_hex (digest, sizeof digest, hex);
    return 0;
}
