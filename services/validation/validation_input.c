/*  validation_input: field bounds (see validation_input.h).
*/
#include "validation_input.h"
#include "tessera/envelope.h"
#include "tessera/utf8.h"

#include <string.h>

bool
validation_id_valid (const char *text)
{
    return text && tsr_id_valid (text, VALIDATION_ID_MAX);
}

bool
validation_optional_id_valid (const char *text)
{
    return !text || !*text || validation_id_valid (text);
}

static bool
s_control (uint32_t code_point)
{
    return code_point < 0x20 || (code_point >= 0x7f && code_point <= 0x9f);
}

long
validation_utf8_length (const char *text)
{
    if (!text)
        return 0;
    long count = 0;
    const unsigned char *p = (const unsigned char *) text;
    while (*p) {
        uint32_t code_point = 0;
        size_t len = tsr_utf8_next (p, &code_point);
        if (!len)
            return -1;
        p += len;
        count++;
    }
    return count;
}

bool
validation_text_valid (const char *text, size_t min_chars, size_t max_chars)
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

bool
validation_page_token_valid (const char *text)
{
    size_t len = text ? strlen (text) : 0;
    if (len > VALIDATION_PAGE_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (text [i] <= 0x20 || text [i] >= 0x7f)
            return false;
    return true;
}

bool
validation_secret_valid (const char *text, size_t max_bytes)
{
    size_t len = text ? strnlen (text, max_bytes + 1) : 0;
    return len >= 1 && len <= max_bytes;
}
