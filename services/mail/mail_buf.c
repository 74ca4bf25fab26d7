/*  mail_buf: growable buffer that wipes what it drops (see mail_buf.h).
*/
#include "mail_buf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
s_reserve (mail_buf_t *self, size_t extra)
{
    if (self->failed)
        return false;
    if (extra > SIZE_MAX / 2 - self->len) {
        self->failed = true;
        return false;
    }
    size_t need = self->len + extra + 1;
    if (need <= self->cap)
        return true;
    size_t cap = self->cap ? self->cap : 256;
    while (cap < need)
        cap *= 2;
    //  No realloc: the old block may hold a secret, so copy and wipe it.
    char *grown = malloc (cap);
    if (!grown) {
        mail_buf_wipe (self);
        self->failed = true;
        return false;
    }
    if (self->data) {
        memcpy (grown, self->data, self->len);
        OPENSSL_cleanse (self->data, self->cap);
        free (self->data);
    }
    self->data = grown;
    self->cap = cap;
    return true;
}

void
mail_buf_addn (mail_buf_t *self, const void *bytes, size_t len)
{
    if (!s_reserve (self, len))
        return;
    if (len)
        memcpy (self->data + self->len, bytes, len);
    self->len += len;
    self->data [self->len] = 0;
}

void
mail_buf_add (mail_buf_t *self, const char *text)
{
    mail_buf_addn (self, text, strlen (text));
}

void
mail_buf_addf (mail_buf_t *self, const char *format, ...)
{
    va_list args, measure;
    va_start (args, format);
    va_copy (measure, args);
    int needed = vsnprintf (NULL, 0, format, measure);
    va_end (measure);
    if (needed < 0)
        self->failed = true;
    else
    if (s_reserve (self, (size_t) needed)) {
        vsnprintf (self->data + self->len, (size_t) needed + 1, format, args);
        self->len += (size_t) needed;
    }
    va_end (args);
}

void
mail_buf_add_base64 (mail_buf_t *self, const uint8_t *bytes, size_t len)
{
    //  57 bytes make one line of 76 characters.
    unsigned char line [80];
    for (size_t done = 0; done < len; done += 57) {
        size_t chunk = len - done < 57 ? len - done : 57;
        int written = EVP_EncodeBlock (line, bytes + done, (int) chunk);
        mail_buf_addn (self, line, (size_t) written);
        mail_buf_add (self, "\r\n");
    }
    OPENSSL_cleanse (line, sizeof line);
}

bool
mail_buf_failed (const mail_buf_t *self)
{
    return self->failed;
}

char *
mail_buf_take (mail_buf_t *self, size_t *len)
{
    if (self->failed || !s_reserve (self, 0)) {
        mail_buf_wipe (self);
        return NULL;
    }
    char *data = self->data;
    if (len)
        *len = self->len;
    self->data = NULL;
    self->len = self->cap = 0;
    return data;
}

void
mail_buf_wipe (mail_buf_t *self)
{
    if (self->data) {
        OPENSSL_cleanse (self->data, self->cap);
        free (self->data);
    }
    self->data = NULL;
    self->len = self->cap = 0;
}

void
mail_text_wipe (char *text)
{
    if (!text)
        return;
    OPENSSL_cleanse (text, strlen (text));
    free (text);
}
