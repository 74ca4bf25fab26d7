/*  ca_keystore: the common part of the key store (see ca_keystore.h).

    A store is a back end's state plus its methods. This file checks every
    argument once, before dispatching, so that no back end sees a label that
    could name a path or a secret of unbounded length; the back ends live in
    ca_keystore_pkcs11.c and ca_keystore_file.c.
*/
#include "ca_keystore_internal.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _ca_keystore_t {
    const ca_keystore_ops_t *ops;
    void *impl;                         //  the back end's state, owned
};

ca_keystore_t *
ca_keystore_wrap (const ca_keystore_ops_t *ops, void **impl_p, char *err, size_t err_size)
{
    ca_keystore_t *self = calloc (1, sizeof *self);
    if (!self) {
        ca_keystore_error (err, err_size, "out of memory");
        ops->destroy (impl_p);
        return NULL;
    }
    self->ops = ops;
    self->impl = *impl_p;
    *impl_p = NULL;
    return self;
}

void
ca_keystore_destroy (ca_keystore_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ca_keystore_t *self = *self_p;
    self->ops->destroy (&self->impl);
    free (self);
    *self_p = NULL;
}

int
ca_keystore_set_secret (ca_keystore_t *self, const char *so_pin, const char *secret,
                        char *err, size_t err_size)
{
    if (!self) {
        ca_keystore_error (err, err_size, "no key store");
        return -1;
    }
    if (!ca_keystore_secret_valid (secret)) {
        ca_keystore_error (err, err_size, "the secret must be 1 to %d bytes",
                           CA_KEYSTORE_SECRET_MAX);
        return -1;
    }
    if (so_pin && !ca_keystore_secret_valid (so_pin)) {
        ca_keystore_error (err, err_size, "the security officer PIN must be 1 to %d bytes",
                           CA_KEYSTORE_SECRET_MAX);
        return -1;
    }
    return self->ops->set_secret (self->impl, so_pin, secret, err, err_size);
}

//  The checks shared by generate and open.
static int
s_check_key_args (ca_keystore_t *self, const char *secret, const char *label,
                  char *err, size_t err_size)
{
    if (!self) {
        ca_keystore_error (err, err_size, "no key store");
        return -1;
    }
    if (!ca_keystore_secret_valid (secret)) {
        ca_keystore_error (err, err_size, "the secret must be 1 to %d bytes",
                           CA_KEYSTORE_SECRET_MAX);
        return -1;
    }
    if (!ca_keystore_label_valid (label)) {
        ca_keystore_error (err, err_size,
                           "a key label must be 1 to %d characters of [A-Za-z0-9._-]",
                           CA_KEYSTORE_LABEL_MAX);
        return -1;
    }
    return 0;
}

EVP_PKEY *
ca_keystore_generate (ca_keystore_t *self, const char *secret, const char *label,
                      ca_key_algorithm_t algorithm, char *err, size_t err_size)
{
    if (s_check_key_args (self, secret, label, err, err_size))
        return NULL;
    if (algorithm != CA_KEY_EC_P256 && algorithm != CA_KEY_EC_P384
    &&  algorithm != CA_KEY_RSA_3072 && algorithm != CA_KEY_RSA_4096) {
        ca_keystore_error (err, err_size, "unknown key algorithm %d", (int) algorithm);
        return NULL;
    }
    return self->ops->generate (self->impl, secret, label, algorithm, err, err_size);
}

EVP_PKEY *
ca_keystore_open (ca_keystore_t *self, const char *secret, const char *label,
                  char *err, size_t err_size)
{
    if (s_check_key_args (self, secret, label, err, err_size))
        return NULL;
    return self->ops->open (self->impl, secret, label, err, err_size);
}

void
ca_keystore_error (char *err, size_t err_size, const char *format, ...)
{
    if (!err || err_size == 0)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (err, err_size, format, args);
    va_end (args);
}

bool
ca_keystore_label_valid (const char *label)
{
    size_t len = label ? strnlen (label, CA_KEYSTORE_LABEL_MAX + 1) : 0;
    if (len == 0 || len > CA_KEYSTORE_LABEL_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = label [i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool
ca_keystore_secret_valid (const char *secret)
{
    size_t len = secret ? strnlen (secret, CA_KEYSTORE_SECRET_MAX + 1) : 0;
    return len > 0 && len <= CA_KEYSTORE_SECRET_MAX;
}

const char *
ca_keystore_openssl_reason (char *buffer, size_t buffer_size)
{
    unsigned long code = ERR_get_error ();
    const char *reason = code ? ERR_reason_error_string (code) : NULL;
    snprintf (buffer, buffer_size, "%s", reason ? reason : "unknown error");
    ERR_clear_error ();
    return buffer;
}

EVP_PKEY *
ca_keystore_public_only (const EVP_PKEY *key)
{
    //  The DER SubjectPublicKeyInfo round trip drops every private part,
    //  whatever the key type and wherever its private half lives.
    unsigned char *der = NULL;
    EVP_PKEY *public_key = NULL;
    int der_size = i2d_PUBKEY (key, &der);
    if (der_size <= 0)
        goto cleanup;
    const unsigned char *cursor = der;
    public_key = d2i_PUBKEY (NULL, &cursor, der_size);
cleanup:
    OPENSSL_free (der);
    return public_key;
}
