/*  validation_input: the bounds every field of validation's requests is
    checked against before anything is read or stored. A field that breaks
    them gets INVALID_ARGUMENT naming it, and changes nothing.

    Text is counted in characters (Unicode code points, decoded by
    tsr_utf8_next); "printable" refuses invalid UTF-8 and the C0 and C1
    control characters and DEL (so no line breaks either).
*/
#ifndef VALIDATION_INPUT_H
#define VALIDATION_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#define VALIDATION_ID_MAX 64            //  ids: [A-Za-z0-9._:-]
#define VALIDATION_REASON_MAX 512       //  rejection, reset and unlock reasons; notes
#define VALIDATION_LOGIN_MAX 254        //  an e-mail address
#define VALIDATION_PASSWORD_MAX_BYTES 128
#define VALIDATION_CLIENT_ADDRESS_MAX 64
#define VALIDATION_USER_AGENT_MAX 256
#define VALIDATION_PAGE_TOKEN_MAX 256

//  1..VALIDATION_ID_MAX of [A-Za-z0-9._:-].
bool validation_id_valid (const char *text);
//  Empty, or a valid id.
bool validation_optional_id_valid (const char *text);
//  Printable UTF-8 of min_chars..max_chars characters.
bool validation_text_valid (const char *text, size_t min_chars, size_t max_chars);
//  Number of characters of valid UTF-8 text, or -1 when it is not.
long validation_utf8_length (const char *text);
//  Page tokens: 0..VALIDATION_PAGE_TOKEN_MAX printable ASCII, no space.
bool validation_page_token_valid (const char *text);
//  A secret field (password, change token): 1..max_bytes bytes.
bool validation_secret_valid (const char *text, size_t max_bytes);

#endif
