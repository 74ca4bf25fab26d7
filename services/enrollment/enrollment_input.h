/*  enrollment_input: the bounds of every value the registry takes from a
    caller, in one place. Each check answers true or false; the handlers
    turn false into STATUS_INVALID_ARGUMENT with a message naming the
    field, before anything is stored.

    Text (names, references, notes) is valid UTF-8 (tsr_utf8_next) without
    control characters: C0, DEL, C1, the line and paragraph separators and
    the bidirectional marks and overrides, which make a name read as
    another. Lengths are in characters (code points), as the proto says.
*/
#ifndef ENROLLMENT_INPUT_H
#define ENROLLMENT_INPUT_H

#include <stdbool.h>
#include "tessera/utf8.h"
#include <stddef.h>
#include <stdint.h>
#include "tessera/v1/enrollment.pb-c.h"

#define ENROLLMENT_ID_SIZE 21           //  "org-" and 16 hex digits, NUL
#define ENROLLMENT_NAME_MAX 64          //  given name, surname
//  The legal name goes into certificates' O: X.520 ub-organization-name.
#define ENROLLMENT_LEGAL_NAME_MAX 64
#define ENROLLMENT_EMAIL_MAX 254
#define ENROLLMENT_REFERENCE_MAX 64
#define ENROLLMENT_NOTE_MAX 512         //  notes and reasons
#define ENROLLMENT_LABEL_MAX 128
#define ENROLLMENT_ADDRESS_LINES_MAX 4
#define ENROLLMENT_ADDRESS_LINE_MAX 38  //  AFNOR NF Z10-011
#define ENROLLMENT_CLOCK_SKEW_S 300     //  "not in the future" allows this much
#define ENROLLMENT_PAGE_MAX 100

//  Text rules: tsr_text_valid, tsr_free_text_valid (tessera/utf8.h).

//  A plain ASCII address local@domain of at most 254 characters: the local
//  part 1..64 of letters, digits and !#$%&'*+/=?^_`{|}~.- without a dot at
//  either end or two in a row; the domain two or more labels of letters,
//  digits and '-' (not at a label's ends), each 1..63.
bool enrollment_email_valid (const char *email);

//  Exactly 64 lower-case hex digits.
bool enrollment_sha256_hex_valid (const char *hex);

//  prefix ("org-") then 16 lower-case hex digits.
bool enrollment_id_valid (const char *id, const char *prefix);
//  A new id: prefix and 16 hex digits from the CSPRNG. 0, or -1.
int enrollment_id_new (const char *prefix, char id [ENROLLMENT_ID_SIZE]);

//  "" (the default, "fr"), "fr" or "en".
bool enrollment_language_valid (const char *language);

//  A PostalAddress in the French layout: 1..4 lines of 1..38 characters,
//  the country an ISO 3166-1 alpha-2 code in capitals, the postal code 5
//  digits in France (FR) or 1..10 of [A-Za-z0-9 -] elsewhere, the city 1..38
//  characters, and "postal code city" on one line of at most 38. false with
//  the field ("postal_address.lines[1]: ...") and the rule in err.
bool enrollment_address_valid (const Tessera__V1__PostalAddress *address,
                               char *err, size_t err_size);

//  A date of the past: 1 <= unix <= now + ENROLLMENT_CLOCK_SKEW_S.
bool enrollment_date_valid (int64_t unix_time, int64_t now);
//  "YYYY-MM-DD" (UTC) of unix_time.
void enrollment_date_format (int64_t unix_time, char out [16]);

//  Paging: the token is the last row_seq of the previous page, in decimal.
//  "" is the first page (0). false when the token is anything else.
bool enrollment_page_token_parse (const char *token, int64_t *after);
//  0 means ENROLLMENT_PAGE_MAX; larger values are capped at it.
uint32_t enrollment_page_limit (uint32_t limit);

#endif
