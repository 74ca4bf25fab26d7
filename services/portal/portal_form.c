/*  portal_form: bounded form parsing and text checks (see portal_form.h).
*/
#include "portal_form.h"
#include "tessera/utf8.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_hex_digit (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

//  Decodes text [0, size) ('+' is a space, %XX a byte) into a new
//  NUL-terminated string; NULL on a bad escape, a NUL byte or no memory.
static char *
s_decode (const char *text, size_t size, size_t *decoded_size)
{
    char *out = malloc (size + 1);
    if (!out)
        return NULL;
    size_t len = 0;
    for (size_t i = 0; i < size; i++) {
        char c = text [i];
        if (c == '+')
            c = ' ';
        else
        if (c == '%') {
            int hi = size - i >= 3 ? s_hex_digit (text [i + 1]) : -1;
            int lo = size - i >= 3 ? s_hex_digit (text [i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                sodium_memzero (out, size + 1);
                free (out);
                return NULL;
            }
            c = (char) (hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') {
            sodium_memzero (out, size + 1);
            free (out);
            return NULL;
        }
        out [len++] = c;
    }
    out [len] = '\0';
    *decoded_size = len;
    return out;
}

static bool
s_utf8_valid (const char *text)
{
    const unsigned char *p = (const unsigned char *) text;
    while (*p) {
        uint32_t code_point;
        size_t size = tsr_utf8_next (p, &code_point);
        if (!size)
            return false;
        p += size;
    }
    return true;
}

static bool
s_name_valid (const char *name)
{
    size_t size = strlen (name);
    if (size == 0 || size > PORTAL_FORM_NAME_MAX)
        return false;
    return strspn (name, "abcdefghijklmnopqrstuvwxyz0123456789_") == size;
}

int
portal_form_parse (portal_form_t *form, const char *body, size_t size, char *err, size_t err_size)
{
    const char *p = body;
    const char *end = body + size;
    while (p < end) {
        const char *amp = memchr (p, '&', (size_t) (end - p));
        const char *pair_end = amp ? amp : end;
        if (pair_end == p) {            //  "a=1&&b=2": tolerate empty pairs
            p = pair_end + 1;
            continue;
        }
        if (form->count >= PORTAL_FORM_MAX_FIELDS) {
            snprintf (err, err_size, "too many fields");
            goto refused;
        }
        const char *equals = memchr (p, '=', (size_t) (pair_end - p));
        const char *name_end = equals ? equals : pair_end;
        size_t name_size = 0, value_size = 0;
        char *name = s_decode (p, (size_t) (name_end - p), &name_size);
        char *value = equals ? s_decode (equals + 1, (size_t) (pair_end - equals - 1), &value_size)
                             : strdup ("");
        if (!name || !value || !s_name_valid (name) || !s_utf8_valid (value)) {
            snprintf (err, err_size, "malformed field");
            if (value)
                sodium_memzero (value, value_size);
            free (name);
            free (value);
            goto refused;
        }
        if (portal_form_get (form, name)) {
            snprintf (err, err_size, "field %s given twice", name);
            sodium_memzero (value, value_size);
            free (name);
            free (value);
            goto refused;
        }
        form->fields [form->count++] = (portal_field_t) { name, value, value_size };
        p = pair_end + (amp ? 1 : 0);
    }
    return 0;
refused:
    portal_form_clear (form);
    return -1;
}

const char *
portal_form_get (const portal_form_t *form, const char *name)
{
    for (size_t i = 0; i < form->count; i++)
        if (strcmp (form->fields [i].name, name) == 0)
            return form->fields [i].value;
    return NULL;
}

void
portal_form_clear (portal_form_t *form)
{
    for (size_t i = 0; i < form->count; i++) {
        sodium_memzero (form->fields [i].value, form->fields [i].value_size);
        free (form->fields [i].name);
        free (form->fields [i].value);
    }
    memset (form, 0, sizeof *form);
}

bool
portal_text_valid (const char *text, size_t min_chars, size_t max_chars, size_t max_bytes,
                   bool multiline)
{
    if (!text || strlen (text) > max_bytes)
        return false;
    size_t chars = 0;
    const unsigned char *p = (const unsigned char *) text;
    while (*p) {
        uint32_t code_point;
        size_t size = tsr_utf8_next (p, &code_point);
        if (!size)
            return false;
        bool control = code_point < 0x20 || (code_point >= 0x7F && code_point < 0xA0);
        if (control && !(multiline && (code_point == '\n' || code_point == '\r'
                                       || code_point == '\t')))
            return false;
        p += size;
        chars++;
    }
    return chars >= min_chars && chars <= max_chars;
}

bool
portal_id_valid (const char *text, size_t max)
{
    if (!text)
        return false;
    size_t size = strlen (text);
    return size >= 1 && size <= max
        && strspn (text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-")
           == size;
}
