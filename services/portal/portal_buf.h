/*  portal_buf: a growing text buffer for the pages the portal writes, with
    HTML escaping. Every value that did not come from the portal's own
    templates goes through portal_buf_escape, so a holder's name such as
    "<script>" is shown, never run.

    An allocation failure (or the PORTAL_BUF_MAX cap) marks the buffer
    failed: later appends do nothing and portal_buf_take returns NULL, so
    a caller checks once, at the end.

        portal_buf_t buf;
        portal_buf_init (&buf);
        portal_buf_puts (&buf, "<p>");
        portal_buf_escape (&buf, name);
        char *html = portal_buf_take (&buf, &size);    //  caller frees
*/
#ifndef PORTAL_BUF_H
#define PORTAL_BUF_H

#include <stdbool.h>
#include <stddef.h>

#define PORTAL_BUF_MAX (4 * 1024 * 1024)

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} portal_buf_t;

void portal_buf_init (portal_buf_t *self);
void portal_buf_append (portal_buf_t *self, const char *text, size_t size);
void portal_buf_puts (portal_buf_t *self, const char *text);
void portal_buf_printf (portal_buf_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));
//  Appends text as HTML character data or attribute value: & < > " ' are
//  written as entities; bytes that are not valid UTF-8 and control
//  characters other than tab and newline become U+FFFD.
void portal_buf_escape (portal_buf_t *self, const char *text);
//  The text (NUL-terminated, caller frees) and its length; NULL when the
//  buffer failed. The buffer is empty afterwards.
char *portal_buf_take (portal_buf_t *self, size_t *size);
//  Wipes and frees what the buffer holds.
void portal_buf_free (portal_buf_t *self);

#endif
