/*  revocation_input: the bounds every field of revocation's requests is
    checked against before anything is read or stored. A field that breaks
    them gets INVALID_ARGUMENT naming it, and nothing changes.

    Pure functions (no database, no bus): tests/unit/revocation/test_input.c.
    Text is counted in characters (Unicode code points, tsr_utf8_next);
    "printable" refuses invalid UTF-8, the C0 and C1 control characters and
    DEL (so no line breaks either).
*/
#ifndef REVOCATION_INPUT_H
#define REVOCATION_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REVOCATION_ID_MAX 64                //  ids: [A-Za-z0-9._:-]
#define REVOCATION_SERIALS_MAX 16           //  certificates in one request
#define REVOCATION_SERIAL_HEX_MAX 40        //  ca's bound (20 bytes)
#define REVOCATION_STATEMENT_MAX 1000       //  statement, decision note
#define REVOCATION_CLIENT_ADDRESS_MAX 64
#define REVOCATION_USER_AGENT_MAX 256
#define REVOCATION_ANSWER_MAX 128           //  validation's bound for answers
#define REVOCATION_QUESTIONS_MAX 10         //  validation's bound for a set
#define REVOCATION_PAGE_TOKEN_MAX 48
#define REVOCATION_LIST_MAX 100
#define REVOCATION_UUID_MAX 36              //  a card's UUID, 8-4-4-4-12

//  1..REVOCATION_ID_MAX of [A-Za-z0-9._:-].
bool revocation_id_valid (const char *text);
//  Empty, or a valid id.
bool revocation_optional_id_valid (const char *text);
//  Printable UTF-8 of min_chars..max_chars characters.
bool revocation_text_valid (const char *text, size_t min_chars, size_t max_chars);

//  A serial as ca writes it: 2..40 hex digits, an even count, any case.
//  Writes the lower-case form into out. False when malformed.
bool revocation_serial_normalise (const char *text, char out [REVOCATION_SERIAL_HEX_MAX + 1]);
//  Normalises serials [0..count) into out [i], refusing none, too many,
//  a malformed one or a repeated one. Returns -1 when all are good, else
//  the index of the first bad one (count itself when there are none or
//  too many).
long revocation_serials_normalise (char *const *serials, size_t count,
                                   char out [][REVOCATION_SERIAL_HEX_MAX + 1]);

//  A card's UUID: 8-4-4-4-12 hex digits, any case; lower-case into out.
bool revocation_uuid_normalise (const char *text, char out [REVOCATION_UUID_MAX + 1]);

//  A hex SHA-256: 64 hex digits, any case; lower-case into out.
bool revocation_sha256_normalise (const char *text, char out [65]);

//  Page tokens "<seconds>:<seq>" (both decimal, seconds may be 0). Empty
//  gives 0 and 0. False when malformed.
bool revocation_page_token_parse (const char *text, int64_t *seconds, int64_t *seq);

#endif
