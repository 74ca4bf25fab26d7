/*  mail_buf: a growable byte buffer for building messages and documents.

    Appends never fail loudly: the first allocation failure marks the
    buffer failed, later appends do nothing, and mail_buf_finish tells.
    Buffers may hold secrets (a rendered one-time password, a PIN mailer):
    every growth and the final release wipe the bytes they drop.

        mail_buf_t buf = MAIL_BUF_INIT;
        mail_buf_add (&buf, "Subject: ");
        mail_buf_addf (&buf, "%d", 42);
        if (mail_buf_failed (&buf)) ...
        mail_buf_wipe (&buf);
*/
#ifndef MAIL_BUF_H
#define MAIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data;         //  NUL-terminated while not failed
    size_t len;
    size_t cap;
    bool failed;
} mail_buf_t;

#define MAIL_BUF_INIT { NULL, 0, 0, false }

void mail_buf_addn (mail_buf_t *self, const void *bytes, size_t len);
void mail_buf_add (mail_buf_t *self, const char *text);
void mail_buf_addf (mail_buf_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));
//  base64 of bytes in lines of 76 characters, each ending in CRLF.
void mail_buf_add_base64 (mail_buf_t *self, const uint8_t *bytes, size_t len);
bool mail_buf_failed (const mail_buf_t *self);
//  Hands the bytes over (caller frees, and wipes if secret); the buffer is
//  emptied. NULL when the buffer failed.
char *mail_buf_take (mail_buf_t *self, size_t *len);
//  Wipes and frees.
void mail_buf_wipe (mail_buf_t *self);
//  Wipes a heap string (a rendered body, a PIN) and frees it; NULL is fine.
void mail_text_wipe (char *text);

#endif
