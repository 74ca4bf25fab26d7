/*  Strict UTF-8 decoding (see utf8.h).
*/
#include "tessera/utf8.h"

#include <string.h>

size_t
tsr_utf8_next (const unsigned char *text, uint32_t *code_point)
{
    unsigned char lead = text [0];
    size_t length;
    uint32_t value, minimum;
    if (lead < 0x80) {
        *code_point = lead;
        return 1;
    }
    else if ((lead & 0xE0) == 0xC0)
        length = 2, value = lead & 0x1F, minimum = 0x80;
    else if ((lead & 0xF0) == 0xE0)
        length = 3, value = lead & 0x0F, minimum = 0x800;
    else if ((lead & 0xF8) == 0xF0)
        length = 4, value = lead & 0x07, minimum = 0x10000;
    else
        return 0;
    //  A NUL continuation byte fails the mask test, so a truncated
    //  sequence at the end of the string is never read past.
    for (size_t i = 1; i < length; i++) {
        if ((text [i] & 0xC0) != 0x80)
            return 0;
        value = (value << 6) | (text [i] & 0x3F);
    }
    if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
        return 0;
    *code_point = value;
    return length;
}

static bool
s_refused (uint32_t code_point)
{
    return code_point < 0x20 || (code_point >= 0x7F && code_point < 0xA0)
        || code_point == 0x2028 || code_point == 0x2029
        || code_point == 0x200E || code_point == 0x200F
        || (code_point >= 0x202A && code_point <= 0x202E)
        || (code_point >= 0x2066 && code_point <= 0x2069);
}

size_t
tsr_text_chars (const char *text)
{
    if (!text)
        return SIZE_MAX;
    const unsigned char *cursor = (const unsigned char *) text;
    size_t chars = 0;
    while (*cursor) {
        uint32_t code_point;
        size_t length = tsr_utf8_next (cursor, &code_point);
        if (length == 0 || s_refused (code_point))
            return SIZE_MAX;
        cursor += length;
        chars++;
    }
    return chars;
}

bool
tsr_text_valid (const char *text, size_t max_chars)
{
    size_t chars = tsr_text_chars (text);
    if (chars == 0 || chars == SIZE_MAX || chars > max_chars)
        return false;
    return text [0] != ' ' && text [strlen (text) - 1] != ' ';
}

bool
tsr_free_text_valid (const char *text, size_t max_chars)
{
    size_t chars = tsr_text_chars (text);
    return chars != SIZE_MAX && chars <= max_chars;
}
