/*  validation_breach: the list of passwords known to be breached, which
    SetPassword refuses.

    One password per line (LF or CRLF), compared without regard to ASCII
    case; blank lines are skipped. The list is read once at start, from
    TSR_BREACHED_PASSWORDS_FILE, or else the one built into the binary from
    services/validation/breached-passwords.txt. Lines are at most
    VALIDATION_BREACH_LINE_MAX bytes and the list at most
    VALIDATION_BREACH_ENTRIES_MAX entries; anything else stops the start
    with the line's number.

        validation_breach_list_t *list = validation_breach_list_new (path, err, sizeof err);
        if (validation_breach_list_contains (list, "Password1234")) ...
        validation_breach_list_destroy (&list);
*/
#ifndef VALIDATION_BREACH_H
#define VALIDATION_BREACH_H

#include <stdbool.h>
#include <stddef.h>

#define VALIDATION_BREACH_LINE_MAX 256
#define VALIDATION_BREACH_ENTRIES_MAX 20000000

typedef struct _validation_breach_list_t validation_breach_list_t;

//  The built-in list (breached-passwords.txt, embedded at build time).
extern const unsigned char validation_breached_builtin [];
extern const size_t validation_breached_builtin_size;

//  Reads path, or the built-in list when path is NULL or empty. NULL with
//  the reason in err.
validation_breach_list_t *validation_breach_list_new (const char *path, char *err, size_t err_size);
//  From text in memory (size bytes, not necessarily NUL-terminated).
validation_breach_list_t *validation_breach_list_from_text (const char *text, size_t size,
                                                            const char *origin,
                                                            char *err, size_t err_size);
void validation_breach_list_destroy (validation_breach_list_t **self_p);

//  True when password is on the list (ASCII case-insensitive).
bool validation_breach_list_contains (const validation_breach_list_t *self, const char *password);
size_t validation_breach_list_size (const validation_breach_list_t *self);

#endif
