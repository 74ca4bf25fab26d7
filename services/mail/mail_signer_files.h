/*  mail_signer_files: the signer's key and certificates on disk, and the
    CSR that asks for a certificate (used by mail_signer only).

    Files are written to a temporary name and renamed, so a crash leaves
    the old file or the new one, never half of one; the key is created
    0600 and its directory 0700.
*/
#ifndef MAIL_SIGNER_FILES_H
#define MAIL_SIGNER_FILES_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>

//  Makes dir (0700) if missing. 0, or -1 with err.
int mail_signer_dir (const char *dir, char *err, size_t err_size);
//  Reads the PEM private key at path: the key, or NULL (absent or bad).
EVP_PKEY *mail_signer_key_load (const char *path);
//  A new EC P-256 key written to path (0600). NULL with err.
EVP_PKEY *mail_signer_key_new (const char *path, char *err, size_t err_size);
//  Reads the certificates of a PEM file, leaf first. NULL when absent/bad.
STACK_OF (X509) *mail_signer_certs_load (const char *path);
//  Writes leaf then chain as PEM to path (0644). 0, or -1 with err.
int mail_signer_certs_save (const char *path, X509 *leaf, STACK_OF (X509) *chain,
                            char *err, size_t err_size);
//  The DER CSR of key under common_name (*der_p: OPENSSL_free). 0 or -1.
int mail_signer_csr (EVP_PKEY *key, const char *common_name, unsigned char **der_p,
                     int *der_size);
//  Hex SHA-256 of the key's SubjectPublicKeyInfo. 0 or -1.
int mail_signer_spki_sha256 (EVP_PKEY *key, char hex [65]);

#endif
