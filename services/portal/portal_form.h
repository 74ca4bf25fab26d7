/*  portal_form: the holder's input, bounded before anything reads it.

    portal_form_parse reads an application/x-www-form-urlencoded body:
    at most PORTAL_FORM_MAX_FIELDS fields, names of [a-z0-9_] (at most 32
    characters), each name once, percent escapes well formed, values valid
    UTF-8 without NUL. Anything else refuses the whole form. Each page then
    checks its own fields' lengths with portal_text_valid.

    Values may hold passwords and activation codes: portal_form_clear wipes
    them before freeing.
*/
#ifndef PORTAL_FORM_H
#define PORTAL_FORM_H

#include <stdbool.h>
#include <stddef.h>

#define PORTAL_FORM_MAX_FIELDS 32
#define PORTAL_FORM_NAME_MAX 32

typedef struct {
    char *name;
    char *value;
    size_t value_size;
} portal_field_t;

typedef struct {
    portal_field_t fields [PORTAL_FORM_MAX_FIELDS];
    size_t count;
} portal_form_t;

//  Fills form (which must be zeroed or cleared) from body. 0, or -1 with
//  the reason in err (the form is then empty).
int portal_form_parse (portal_form_t *form, const char *body, size_t size,
                       char *err, size_t err_size);
//  The value of a field, or NULL when the form does not have it.
const char *portal_form_get (const portal_form_t *form, const char *name);
//  Wipes and frees every field.
void portal_form_clear (portal_form_t *form);

//  True when text is valid UTF-8 of 1..max_chars characters (min_chars 0
//  allows empty) and at most max_bytes bytes, without control characters
//  (newlines and tabs allowed when multiline).
bool portal_text_valid (const char *text, size_t min_chars, size_t max_chars, size_t max_bytes,
                        bool multiline);
//  True when text is 1..max characters of [A-Za-z0-9._:-] (the bus's ids).
bool portal_id_valid (const char *text, size_t max);

#endif
