/*  mail_input: field bounds (see mail_input.h).
*/
#include "mail_input.h"
#include "tessera/envelope.h"
#include "tessera/utf8.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool
mail_id_valid (const char *text)
{
    return text && tsr_id_valid (text, MAIL_ID_MAX);
}

bool
mail_optional_id_valid (const char *text)
{
    return !text || !*text || mail_id_valid (text);
}

long
mail_text_chars (const char *text)
{
    size_t chars = tsr_text_chars (text ? text : "");
    return chars == SIZE_MAX ? -1 : (long) chars;
}

bool
mail_text_valid (const char *text, size_t min_chars, size_t max_chars)
{
    size_t chars = tsr_text_chars (text ? text : "");
    return chars != SIZE_MAX && chars >= min_chars && chars <= max_chars;
}

static bool
s_hex_run (const char *text, size_t len, bool lower_only)
{
    for (size_t i = 0; i < len; i++) {
        char c = text [i];
        if (!(isdigit ((unsigned char) c) || (c >= 'a' && c <= 'f')
              || (!lower_only && c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

bool
mail_sha256_hex_valid (const char *text)
{
    return text && strlen (text) == 64 && s_hex_run (text, 64, true);
}

bool
mail_serial_valid (const char *text)
{
    size_t len = text ? strlen (text) : 0;
    return len >= 2 && len <= 40 && s_hex_run (text, len, true);
}

bool
mail_card_uuid_valid (const char *text)
{
    if (!text || strlen (text) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? text [i] != '-' : !s_hex_run (text + i, 1, false))
            return false;
    }
    return true;
}

bool
mail_tracking_valid (const char *text)
{
    size_t len = text ? strlen (text) : 0;
    if (len < 1 || len > MAIL_TRACKING_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isdigit ((unsigned char) text [i]) && !(text [i] >= 'A' && text [i] <= 'Z'))
            return false;
    return true;
}

bool
mail_page_token_parse (const char *token, int64_t *before)
{
    if (!token || !*token) {
        *before = INT64_MAX;
        return true;
    }
    size_t len = strlen (token);
    if (len > 19)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isdigit ((unsigned char) token [i]))
            return false;
    errno = 0;
    long long value = strtoll (token, NULL, 10);
    if (errno || value < 1)
        return false;
    *before = value;
    return true;
}

uint32_t
mail_page_limit (uint32_t limit)
{
    return limit == 0 || limit > MAIL_PAGE_MAX ? MAIL_PAGE_MAX : limit;
}

void
mail_hex (const uint8_t *bytes, size_t size, char *hex)
{
    static const char digits [] = "0123456789abcdef";
    for (size_t i = 0; i < size; i++) {
        hex [2 * i] = digits [bytes [i] >> 4];
        hex [2 * i + 1] = digits [bytes [i] & 15];
    }
    hex [2 * size] = 0;
}

void
mail_date_format (int64_t unix_time, char out [16])
{
    time_t t = (time_t) unix_time;
    struct tm tm;
    if (!gmtime_r (&t, &tm) || strftime (out, 16, "%Y-%m-%d", &tm) == 0)
        snprintf (out, 16, "?");
}

void
mail_time_format (int64_t unix_time, char out [32])
{
    time_t t = (time_t) unix_time;
    struct tm tm;
    if (!gmtime_r (&t, &tm) || strftime (out, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        snprintf (out, 32, "?");
}
