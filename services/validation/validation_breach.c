/*  validation_breach: the breached-password list, lower-cased and sorted
    for binary search (see validation_breach.h).
*/
#include "validation_breach.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _validation_breach_list_t {
    char *text;             //  the entries, each NUL-terminated, lower-cased
    char **entries;         //  sorted
    size_t count;
};

static int
s_compare (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

validation_breach_list_t *
validation_breach_list_from_text (const char *text, size_t size, const char *origin,
                                  char *err, size_t err_size)
{
    validation_breach_list_t *self = calloc (1, sizeof *self);
    if (!self || !(self->text = malloc (size + 1))) {
        snprintf (err, err_size, "out of memory reading the breached-password list");
        goto fail;
    }
    //  First pass: copy, lower-case, cut into lines.
    size_t lines = 0, line_number = 0, capacity = 0;
    size_t start = 0;
    while (start < size) {
        const char *end = memchr (text + start, '\n', size - start);
        size_t len = end ? (size_t) (end - (text + start)) : size - start;
        line_number++;
        size_t kept = len;
        if (kept && text [start + kept - 1] == '\r')
            kept--;
        if (kept > VALIDATION_BREACH_LINE_MAX || memchr (text + start, 0, kept)) {
            snprintf (err, err_size, "%s line %zu: an entry is at most %d bytes, without NUL",
                      origin, line_number, VALIDATION_BREACH_LINE_MAX);
            goto fail;
        }
        if (kept) {
            if (lines == VALIDATION_BREACH_ENTRIES_MAX) {
                snprintf (err, err_size, "%s: more than %d entries", origin,
                          VALIDATION_BREACH_ENTRIES_MAX);
                goto fail;
            }
            if (lines == capacity) {
                capacity = capacity ? capacity * 2 : 256;
                char **grown = realloc (self->entries, capacity * sizeof *grown);
                if (!grown) {
                    snprintf (err, err_size, "out of memory reading the breached-password list");
                    goto fail;
                }
                self->entries = grown;
            }
            char *entry = self->text + start;
            for (size_t i = 0; i < kept; i++)
                entry [i] = (char) tolower ((unsigned char) text [start + i]);
            entry [kept] = 0;
            self->entries [lines++] = entry;
        }
        start += len + 1;
    }
    self->count = lines;
    if (lines)
        qsort (self->entries, lines, sizeof *self->entries, s_compare);
    return self;
fail:
    validation_breach_list_destroy (&self);
    return NULL;
}

validation_breach_list_t *
validation_breach_list_new (const char *path, char *err, size_t err_size)
{
    if (!path || !*path)
        return validation_breach_list_from_text ((const char *) validation_breached_builtin,
                                                 validation_breached_builtin_size,
                                                 "built-in breached-password list", err, err_size);
    validation_breach_list_t *self = NULL;
    char *text = NULL;
    FILE *file = fopen (path, "rb");
    if (!file) {
        snprintf (err, err_size, "cannot read %s (TSR_BREACHED_PASSWORDS_FILE)", path);
        return NULL;
    }
    long size = -1;
    if (fseek (file, 0, SEEK_END) == 0)
        size = ftell (file);
    if (size < 0 || fseek (file, 0, SEEK_SET) != 0) {
        snprintf (err, err_size, "cannot read %s (TSR_BREACHED_PASSWORDS_FILE)", path);
        goto done;
    }
    text = malloc ((size_t) size + 1);
    if (!text || fread (text, 1, (size_t) size, file) != (size_t) size) {
        snprintf (err, err_size, "cannot read %s (TSR_BREACHED_PASSWORDS_FILE)", path);
        goto done;
    }
    self = validation_breach_list_from_text (text, (size_t) size, path, err, err_size);
done:
    free (text);
    fclose (file);
    return self;
}

void
validation_breach_list_destroy (validation_breach_list_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    validation_breach_list_t *self = *self_p;
    free (self->entries);
    free (self->text);
    free (self);
    *self_p = NULL;
}

bool
validation_breach_list_contains (const validation_breach_list_t *self, const char *password)
{
    if (!self || !password || !self->count)
        return false;
    char lower [VALIDATION_BREACH_LINE_MAX + 1];
    size_t len = strnlen (password, VALIDATION_BREACH_LINE_MAX + 1);
    if (len > VALIDATION_BREACH_LINE_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        lower [i] = (char) tolower ((unsigned char) password [i]);
    lower [len] = 0;
    const char *key = lower;
    bool found = bsearch (&key, self->entries, self->count, sizeof *self->entries,
                          s_compare) != NULL;
    memset (lower, 0, sizeof lower);
    return found;
}

size_t
validation_breach_list_size (const validation_breach_list_t *self)
{
    return self ? self->count : 0;
}
