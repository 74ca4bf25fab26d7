/*  mail_unseal: crypto_box_seal_open with mail's CURVE key (see
    mail_unseal.h).
*/
#include "mail_unseal.h"

#include <czmq.h>
#include <string.h>

struct _mail_keys_t {
    uint8_t public_key [crypto_box_PUBLICKEYBYTES];
    char public_txt [41];
    uint8_t *secret_key;        //  sodium_malloc, read-only between uses
};

mail_keys_t *
mail_keys_new (const uint8_t public_key [crypto_box_PUBLICKEYBYTES],
               const uint8_t secret_key [crypto_box_SECRETKEYBYTES])
{
    if (sodium_init () < 0)
        return NULL;
    mail_keys_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    memcpy (self->public_key, public_key, sizeof self->public_key);
    zmq_z85_encode (self->public_txt, self->public_key, sizeof self->public_key);
    self->secret_key = sodium_malloc (crypto_box_SECRETKEYBYTES);
    if (!self->secret_key) {
        free (self);
        return NULL;
    }
    memcpy (self->secret_key, secret_key, crypto_box_SECRETKEYBYTES);
    sodium_mprotect_readonly (self->secret_key);
    return self;
}

void
mail_keys_destroy (mail_keys_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mail_keys_t *self = *self_p;
    sodium_free (self->secret_key);     //  wipes
    free (self);
    *self_p = NULL;
}

bool
mail_keys_match (const mail_keys_t *self, const char *z85_public_key)
{
    return z85_public_key && strcmp (self->public_txt, z85_public_key) == 0;
}

int
mail_unseal_text (const mail_keys_t *self, const uint8_t *sealed, size_t size, size_t max_len,
                  char **text_p)
{
    *text_p = NULL;
    if (size <= crypto_box_SEALBYTES || size - crypto_box_SEALBYTES > max_len)
        return -1;
    size_t len = size - crypto_box_SEALBYTES;
    char *text = sodium_malloc (len + 1);
    if (!text)
        return -1;
    int opened = crypto_box_seal_open ((unsigned char *) text, sealed, size, self->public_key,
                                       self->secret_key);
    text [len] = 0;
    bool printable = opened == 0;
    for (size_t i = 0; printable && i < len; i++)
        printable = text [i] > 0x20 && text [i] < 0x7f;
    if (!printable) {
        sodium_free (text);
        return -1;
    }
    *text_p = text;
    return 0;
}

void
mail_unsealed_free (char **text_p)
{
    if (text_p && *text_p) {
        sodium_free (*text_p);
        *text_p = NULL;
    }
}
