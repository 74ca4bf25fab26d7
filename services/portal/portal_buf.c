/*  portal_buf: growing text buffer with HTML escaping (see portal_buf.h).
*/
#include "portal_buf.h"
#include "tessera/utf8.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
portal_buf_init (portal_buf_t *self)
{
    memset (self, 0, sizeof *self);
}

//  Room for size more bytes and a NUL; false (and failed) when not.
static bool
s_reserve (portal_buf_t *self, size_t size)
{
    if (self->failed)
        return false;
    if (size > PORTAL_BUF_MAX || self->len + size + 1 > PORTAL_BUF_MAX) {
        self->failed = true;
        return false;
    }
    if (self->len + size + 1 <= self->cap)
        return true;
    size_t cap = self->cap ? self->cap : 1024;
    while (cap < self->len + size + 1)
        cap *= 2;
    char *data = realloc (self->data, cap);
    if (!data) {
        self->failed = true;
        return false;
    }
    self->data = data;
    self->cap = cap;
    return true;
}

void
portal_buf_append (portal_buf_t *self, const char *text, size_t size)
{
    if (!text || !s_reserve (self, size))
        return;
    memcpy (self->data + self->len, text, size);
    self->len += size;
    self->data [self->len] = '\0';
}

void
portal_buf_puts (portal_buf_t *self, const char *text)
{
    if (text)
        portal_buf_append (self, text, strlen (text));
}

void
portal_buf_printf (portal_buf_t *self, const char *format, ...)
{
    char small [256];
    va_list args;
    va_start (args, format);
    int size = vsnprintf (small, sizeof small, format, args);
    va_end (args);
    if (size < 0) {
        self->failed = true;
        return;
    }
    if ((size_t) size < sizeof small) {
        portal_buf_append (self, small, (size_t) size);
        return;
    }
    if (!s_reserve (self, (size_t) size))
        return;
    va_start (args, format);
    vsnprintf (self->data + self->len, (size_t) size + 1, format, args);
    va_end (args);
    self->len += (size_t) size;
}

void
portal_buf_escape (portal_buf_t *self, const char *text)
{
    static const char s_replacement [] = "\xEF\xBF\xBD";
    const unsigned char *p = (const unsigned char *) (text ? text : "");
    while (*p) {
        //  Copy the longest run that needs nothing, then handle one byte.
        const unsigned char *run = p;
        while (*p >= 0x20 && *p < 0x7F && *p != '&' && *p != '<' && *p != '>' && *p != '"'
               && *p != '\'')
            p++;
        portal_buf_append (self, (const char *) run, (size_t) (p - run));
        if (!*p)
            break;
        switch (*p) {
            case '&': portal_buf_puts (self, "&amp;"); p++; continue;
            case '<': portal_buf_puts (self, "&lt;"); p++; continue;
            case '>': portal_buf_puts (self, "&gt;"); p++; continue;
            case '"': portal_buf_puts (self, "&quot;"); p++; continue;
            case '\'': portal_buf_puts (self, "&#39;"); p++; continue;
            case '\t':
            case '\n': portal_buf_append (self, (const char *) p, 1); p++; continue;
            default: break;
        }
        uint32_t code_point = 0;
        size_t size = *p >= 0x80 ? tsr_utf8_next (p, &code_point) : 0;
        //  C0 controls, DEL and C1 controls are not shown.
        if (size == 0 || (code_point >= 0x80 && code_point < 0xA0)) {
            portal_buf_puts (self, s_replacement);
            p += size ? size : 1;
            continue;
        }
        portal_buf_append (self, (const char *) p, size);
        p += size;
    }
}

char *
portal_buf_take (portal_buf_t *self, size_t *size)
{
    if (self->failed) {
        portal_buf_free (self);
        if (size)
            *size = 0;
        return NULL;
    }
    if (!s_reserve (self, 0)) {
        portal_buf_free (self);
        return NULL;
    }
    self->data [self->len] = '\0';
    char *data = self->data;
    if (size)
        *size = self->len;
    portal_buf_init (self);
    return data;
}

void
portal_buf_free (portal_buf_t *self)
{
    if (self->data)
        sodium_memzero (self->data, self->cap);
    free (self->data);
    portal_buf_init (self);
}
