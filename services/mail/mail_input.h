/*  mail_input: the bounds of every value mail takes from a caller or from
    another service, in one place. Handlers turn a false into
    STATUS_INVALID_ARGUMENT naming the field, before anything is read or
    stored.

    "Text" is valid UTF-8 (tsr_utf8_next) without control characters: C0,
    DEL, C1, the line and paragraph separators (U+2028, U+2029) and the
    bidirectional marks and overrides, which make a name read as another.
    Lengths are in characters (code points).
*/
#ifndef MAIL_INPUT_H
#define MAIL_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAIL_ID_MAX 64                  //  ids: [A-Za-z0-9._:-]
#define MAIL_NOTE_MAX 512               //  notes and reasons
#define MAIL_TRACKING_MAX 32            //  the post's tracking number
#define MAIL_CLIENT_ADDRESS_MAX 64
#define MAIL_USER_AGENT_MAX 256
#define MAIL_PAGE_MAX 100
#define MAIL_SERIALS_MAX 16
#define MAIL_ADDRESS_LINES_MAX 4        //  AFNOR NF Z10-011: 6 lines of 38
#define MAIL_ADDRESS_LINE_MAX 38
#define MAIL_SEALED_MAX 512             //  a sealed PIN, code or password
#define MAIL_CARD_UUID_SIZE 37

//  1..MAIL_ID_MAX of [A-Za-z0-9._:-].
bool mail_id_valid (const char *text);
//  Empty, or a valid id.
bool mail_optional_id_valid (const char *text);
//  Characters of text, or -1 when it is not valid UTF-8 or holds a
//  control character (see above).
long mail_text_chars (const char *text);
//  min_chars..max_chars characters of text.
bool mail_text_valid (const char *text, size_t min_chars, size_t max_chars);
//  Exactly 64 lower-case hex digits.
bool mail_sha256_hex_valid (const char *text);
//  A serial as ca writes it: 2..40 lower-case hex digits.
bool mail_serial_valid (const char *text);
//  RFC 4122 text form: 8-4-4-4-12 hex digits (either case).
bool mail_card_uuid_valid (const char *text);
//  1..MAIL_TRACKING_MAX of [A-Z0-9] (upper case, as the post prints it).
bool mail_tracking_valid (const char *text);
//  Paging: the token is the last seq of the previous page in decimal; ""
//  is the first page (INT64_MAX). false for anything else.
bool mail_page_token_parse (const char *token, int64_t *before);
//  0 means MAIL_PAGE_MAX; larger values are capped at it.
uint32_t mail_page_limit (uint32_t limit);

//  Lower-case hex of bytes into hex (2 * size + 1).
void mail_hex (const uint8_t *bytes, size_t size, char *hex);
//  "YYYY-MM-DD" (UTC) of unix_time.
void mail_date_format (int64_t unix_time, char out [16]);
//  "YYYY-MM-DD HH:MM UTC" of unix_time.
void mail_time_format (int64_t unix_time, char out [32]);

#endif
