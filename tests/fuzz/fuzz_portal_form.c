/*  Fuzz target: the portal's form parser (portal_form_parse), which reads
    every application/x-www-form-urlencoded body a browser, or anyone,
    posts to the holder portal.

    A form it accepts has at most PORTAL_FORM_MAX_FIELDS fields, each name
    once and of [a-z0-9_], each value valid UTF-8 without NUL whose size is
    its length; the same fields written back percent-encoded parse to the
    same form. The pages' text and id checks run on every value.
*/
#include "portal_form.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  name=value&... with every byte but [A-Za-z0-9] percent-encoded.
static char *
s_encode (const portal_form_t *form, size_t *size)
{
    size_t capacity = 1;
    for (size_t i = 0; i < form->count; i++)
        capacity += 3 * (strlen (form->fields [i].name) + form->fields [i].value_size) + 2;
    char *out = malloc (capacity);
    if (!out)
        abort ();
    size_t len = 0;
    for (size_t i = 0; i < form->count; i++) {
        const char *parts [2] = { form->fields [i].name, form->fields [i].value };
        for (int part = 0; part < 2; part++) {
            if (part)
                out [len++] = '=';
            for (const unsigned char *p = (const unsigned char *) parts [part]; *p; p++)
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
                    out [len++] = (char) *p;
                else
                    len += (size_t) snprintf (out + len, capacity - len, "%%%02X", *p);
        }
        if (i + 1 < form->count)
            out [len++] = '&';
    }
    out [len] = 0;
    *size = len;
    return out;
}

static void
s_check_fields (const portal_form_t *form)
{
    if (form->count > PORTAL_FORM_MAX_FIELDS)
        __builtin_trap ();
    for (size_t i = 0; i < form->count; i++) {
        const portal_field_t *field = &form->fields [i];
        size_t name_size = strlen (field->name);
        if (name_size < 1 || name_size > PORTAL_FORM_NAME_MAX
        ||  strspn (field->name, "abcdefghijklmnopqrstuvwxyz0123456789_") != name_size
        ||  strlen (field->value) != field->value_size
        ||  portal_form_get (form, field->name) != field->value)
            __builtin_trap ();
        //  What the pages ask of their fields.
        portal_text_valid (field->value, 0, 512, 2048, true);
        portal_text_valid (field->value, 1, 128, 128, false);
        portal_id_valid (field->value, 64);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    portal_form_t form;
    memset (&form, 0, sizeof form);
    char err [128] = "";
    if (portal_form_parse (&form, (const char *) data, size, err, sizeof err)) {
        if (form.count != 0 || !*err)
            __builtin_trap ();
        return 0;
    }
    s_check_fields (&form);
    size_t encoded_size = 0;
    char *encoded = s_encode (&form, &encoded_size);
    portal_form_t again;
    memset (&again, 0, sizeof again);
    if (portal_form_parse (&again, encoded, encoded_size, err, sizeof err)
    ||  again.count != form.count)
        __builtin_trap ();
    for (size_t i = 0; i < form.count; i++)
        if (strcmp (again.fields [i].name, form.fields [i].name) != 0
        ||  strcmp (again.fields [i].value, form.fields [i].value) != 0)
            __builtin_trap ();
    portal_form_clear (&again);
    portal_form_clear (&form);
    free (encoded);
    return 0;
}
