/*  perso_input: field bounds (see perso_input.h).
*/
#include "perso_input.h"
#include "perso_secrets.h"
#include "tessera/envelope.h"
#include "tessera/utf8.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool
perso_id_valid (const char *text)
{
    return text && tsr_id_valid (text, PERSO_INPUT_ID_MAX);
}

bool
perso_optional_id_valid (const char *text)
{
    return !text || !*text || perso_id_valid (text);
}

static bool
s_control (uint32_t code_point)
{
    return code_point < 0x20 || (code_point >= 0x7f && code_point <= 0x9f);
}

long
perso_utf8_length (const char *text)
{
    long count = 0;
    const unsigned char *p = (const unsigned char *) (text ? text : "");
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
perso_text_valid (const char *text, size_t min_chars, size_t max_chars)
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
perso_reader_valid (const char *text)
{
    return text && strlen (text) <= PERSO_READER_MAX && perso_text_valid (text, 1, PERSO_READER_MAX);
}

bool
perso_uuid_valid (const char *text)
{
    uint8_t uuid [16];
    return text && perso_uuid_parse (text, uuid) == 0;
}

bool
perso_page_token_valid (const char *text, long long *after)
{
    *after = 0;
    if (!text || !*text)
        return true;
    size_t len = strlen (text);
    if (len > 18)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isdigit ((unsigned char) text [i]))
            return false;
    *after = strtoll (text, NULL, 10);
    return *after > 0;
}

bool
perso_serial_valid (const char *text)
{
    size_t len = text ? strlen (text) : 0;
    if (len < 2 || len > 40)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isxdigit ((unsigned char) text [i]))
            return false;
    return true;
}
