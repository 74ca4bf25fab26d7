/*  perso_input: the bounds every field of perso's requests is checked
    against before anything is read or stored. A field that breaks them
    gets INVALID_ARGUMENT naming it, and changes nothing.
*/
#ifndef PERSO_INPUT_H
#define PERSO_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#define PERSO_INPUT_ID_MAX 64
#define PERSO_REASON_MAX 512
#define PERSO_READER_MAX 127
#define PERSO_PAGE_TOKEN_MAX 32
#define PERSO_LIST_MAX 100
#define PERSO_CLIENT_ADDRESS_MAX 64
#define PERSO_USER_AGENT_MAX 256
#define PERSO_PASSWORD_MIN 12
#define PERSO_PASSWORD_MAX 128

//  1..64 of [A-Za-z0-9._:-].
bool perso_id_valid (const char *text);
//  Empty, or a valid id.
bool perso_optional_id_valid (const char *text);
//  Printable UTF-8 (no control characters) of min..max characters.
bool perso_text_valid (const char *text, size_t min_chars, size_t max_chars);
//  A reader name: 1..127 printable characters.
bool perso_reader_valid (const char *text);
//  A card UUID in its text form (lower or upper case hex).
bool perso_uuid_valid (const char *text);
//  Page tokens: empty, or a decimal sequence number.
bool perso_page_token_valid (const char *text, long long *after);
//  Hex serial: 2..40 hex digits.
bool perso_serial_valid (const char *text);
//  UTF-8 characters of valid text, -1 otherwise.
long perso_utf8_length (const char *text);

#endif
