/*  vc_buf: growable byte buffer with a limit (see vc_buf.h). */
#include "vc_buf.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

void
vc_buf_init (vc_buf_t *self, size_t limit)
{
    memset (self, 0, sizeof *self);
    self->limit = limit;
}

void
vc_buf_reset (vc_buf_t *self)
{
    size_t limit = self->limit;
    if (self->data) {
        OPENSSL_cleanse (self->data, self->cap);
        free (self->data);
    }
    vc_buf_init (self, limit);
}

//  Makes room for `extra` more bytes, growing by doubling (a realloc would
//  leave a copy of secrets behind, so we copy and wipe the old block).
static bool
s_reserve (vc_buf_t *self, size_t extra)
{
    if (self->failed)
        return false;
    if (extra > self->limit || self->len > self->limit - extra) {
        self->failed = true;
        return false;
    }
    if (self->len + extra <= self->cap)
        return true;
    size_t want = self->cap ? self->cap : 64;
    while (want < self->len + extra)
        want *= 2;
    if (want > self->limit)
        want = self->limit;
    uint8_t *grown = malloc (want);
    if (!grown) {
        self->failed = true;
        return false;
    }
    if (self->data) {
        memcpy (grown, self->data, self->len);
        OPENSSL_cleanse (self->data, self->cap);
        free (self->data);
    }
    self->data = grown;
    self->cap = want;
    return true;
}

void
vc_buf_put (vc_buf_t *self, const uint8_t *bytes, size_t len)
{
    if (len == 0 || !s_reserve (self, len))
        return;
    memcpy (self->data + self->len, bytes, len);
    self->len += len;
}

void
vc_buf_put_u8 (vc_buf_t *self, uint8_t byte)
{
    vc_buf_put (self, &byte, 1);
}

void
vc_buf_put_tl (vc_buf_t *self, uint32_t tag, size_t len)
{
    uint8_t head [8];
    size_t at = 0;
    if (tag > 0xFFFF)
        head [at++] = (uint8_t) (tag >> 16);
    if (tag > 0xFF)
        head [at++] = (uint8_t) (tag >> 8);
    head [at++] = (uint8_t) tag;
    if (len < 0x80)
        head [at++] = (uint8_t) len;
    else
    if (len <= 0xFF) {
        head [at++] = 0x81;
        head [at++] = (uint8_t) len;
    }
    else
    if (len <= 0xFFFF) {
        head [at++] = 0x82;
        head [at++] = (uint8_t) (len >> 8);
        head [at++] = (uint8_t) len;
    }
    else {
        self->failed = true;
        return;
    }
    vc_buf_put (self, head, at);
}

void
vc_buf_consume (vc_buf_t *self, size_t count)
{
    if (count >= self->len) {
        if (self->data)
            OPENSSL_cleanse (self->data, self->len);
        self->len = 0;
        return;
    }
    memmove (self->data, self->data + count, self->len - count);
    OPENSSL_cleanse (self->data + self->len - count, count);
    self->len -= count;
}
