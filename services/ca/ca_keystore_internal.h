/*  ca_keystore_internal: what the key store's back ends share with its
    common part (ca_keystore.c). Not for use outside ca_keystore*.c.

    ca_keystore.c checks every argument before it dispatches (store, label,
    secrets, algorithm), so a back end's methods receive valid inputs only:
    a label of 1 to CA_KEYSTORE_LABEL_MAX characters of [A-Za-z0-9._-], and
    secrets of 1 to CA_KEYSTORE_SECRET_MAX bytes.
*/
#ifndef CA_KEYSTORE_INTERNAL_H
#define CA_KEYSTORE_INTERNAL_H

#include "ca_keystore.h"

#include <stdbool.h>

#define CA_KEYSTORE_LABEL_MAX   64
#define CA_KEYSTORE_SECRET_MAX  255     //  SoftHSM's longest PIN

typedef struct {
    void (*destroy) (void **impl_p);
    int (*set_secret) (void *impl, const char *so_pin, const char *secret,
                       char *err, size_t err_size);
    EVP_PKEY *(*generate) (void *impl, const char *secret, const char *label,
                           ca_key_algorithm_t algorithm, char *err, size_t err_size);
    EVP_PKEY *(*open) (void *impl, const char *secret, const char *label,
                       char *err, size_t err_size);
} ca_keystore_ops_t;

//  Wraps a back end's state in a store, which owns it from then on. On
//  failure destroys impl (through ops) and returns NULL with err.
ca_keystore_t *ca_keystore_wrap (const ca_keystore_ops_t *ops, void **impl_p,
                                 char *err, size_t err_size);

//  snprintf into err, which may be NULL or of size 0.
void ca_keystore_error (char *err, size_t err_size, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  True for 1 to CA_KEYSTORE_LABEL_MAX characters of [A-Za-z0-9._-].
bool ca_keystore_label_valid (const char *label);

//  True for 1 to CA_KEYSTORE_SECRET_MAX bytes.
bool ca_keystore_secret_valid (const char *secret);

//  Writes the reason of OpenSSL's oldest queued error (or "unknown error")
//  into buffer, empties the queue and returns buffer.
const char *ca_keystore_openssl_reason (char *buffer, size_t buffer_size);

//  Builds a public-key-only EVP_PKEY from key's public half.
EVP_PKEY *ca_keystore_public_only (const EVP_PKEY *key);

#endif
