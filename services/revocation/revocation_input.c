/*  revocation_input: field bounds (see revocation_input.h).
*/
#include "revocation_input.h"
#include "tessera/envelope.h"
#include "tessera/utf8.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

bool
revocation_id_valid (const char *text)
{
    return text && tsr_id_valid (text, REVOCATION_ID_MAX);
}

bool
revocation_optional_id_valid (const char *text)
{
    return !text || !*text || revocation_id_valid (text);
}

static bool
s_control (uint32_t code_point)
{
    return code_point < 0x20 || (code_point >= 0x7f && code_point <= 0x9f);
}

bool
revocation_text_valid (const char *text, size_t min_chars, size_t max_chars)
{
    const unsigned char *p = (const unsigned char *) (text ? text : "");
    size_t count = 0;
    while (*p) {
        uint32_t code_point = 0;
        size_t len = tsr_utf8_next (p, &code_point);
        if (!len || s_control (code_point) || ++count > max_chars)
            return false;
        p += len;
    }
    return count >= min_chars;
}

//  Lower-case hex of exactly len digits (len given), into out.
static bool
s_hex_lower (const char *text, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        if (!isxdigit ((unsigned char) text [i]))
            return false;
        out [i] = (char) tolower ((unsigned char) text [i]);
    }
    out [len] = 0;
    return true;
}

bool
revocation_serial_normalise (const char *text, char out [REVOCATION_SERIAL_HEX_MAX + 1])
{
    size_t len = text ? strnlen (text, REVOCATION_SERIAL_HEX_MAX + 1) : 0;
    if (len < 2 || len > REVOCATION_SERIAL_HEX_MAX || len % 2)
        return false;
    return s_hex_lower (text, len, out);
}

long
revocation_serials_normalise (char *const *serials, size_t count,
                              char out [][REVOCATION_SERIAL_HEX_MAX + 1])
{
    if (count == 0 || count > REVOCATION_SERIALS_MAX)
        return (long) count;
    for (size_t i = 0; i < count; i++) {
        if (!revocation_serial_normalise (serials [i], out [i]))
            return (long) i;
        for (size_t j = 0; j < i; j++)
            if (strcmp (out [i], out [j]) == 0)
                return (long) i;
    }
    return -1;
}

bool
revocation_uuid_normalise (const char *text, char out [REVOCATION_UUID_MAX + 1])
{
    if (!text || strnlen (text, 37) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? text [i] != '-' : !isxdigit ((unsigned char) text [i]))
            return false;
        out [i] = (char) tolower ((unsigned char) text [i]);
    }
    out [36] = 0;
    return true;
}

bool
revocation_sha256_normalise (const char *text, char out [65])
{
    size_t len = text ? strnlen (text, 65) : 0;
    return len == 64 && s_hex_lower (text, len, out);
}

//  A decimal of 1..18 digits.
static bool
s_decimal (const char *text, size_t len, int64_t *value)
{
    if (len < 1 || len > 18)
        return false;
    int64_t result = 0;
    for (size_t i = 0; i < len; i++) {
        if (text [i] < '0' || text [i] > '9')
            return false;
        result = result * 10 + (text [i] - '0');
    }
    *value = result;
    return true;
}

bool
revocation_page_token_parse (const char *text, int64_t *seconds, int64_t *seq)
{
    *seconds = 0;
    *seq = 0;
    size_t len = text ? strnlen (text, REVOCATION_PAGE_TOKEN_MAX + 1) : 0;
    if (len == 0)
        return true;
    if (len > REVOCATION_PAGE_TOKEN_MAX)
        return false;
    const char *colon = memchr (text, ':', len);
    if (!colon)
        return false;
    size_t head = (size_t) (colon - text);
    return s_decimal (text, head, seconds)
        && s_decimal (colon + 1, len - head - 1, seq)
        && *seq > 0;
}
