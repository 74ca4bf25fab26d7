/*  enrollment_input: bounds of the registry's input (see enrollment_input.h).
*/
#include "enrollment_input.h"
#include "tessera/utf8.h"

#include <ctype.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

//  Dot-separated labels of [A-Za-z0-9] plus extra; none empty.
static bool
s_labels_valid (const char *text, size_t len, const char *extra, bool hostname)
{
    size_t labels = 0, label_len = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text [i] == '.') {
            if (label_len == 0 || label_len > 63)
                return false;
            if (hostname && (text [i - 1] == '-' || text [i - label_len] == '-'))
                return false;
            labels++;
            label_len = 0;
        }
        else
        if (isalnum ((unsigned char) text [i]) || (text [i] && strchr (extra, text [i])))
            label_len++;
        else
            return false;
    }
    return !hostname || labels >= 2;
}

bool
enrollment_email_valid (const char *email)
{
    size_t len = email ? strlen (email) : 0;
    const char *at = len ? strchr (email, '@') : NULL;
    if (!at || len > ENROLLMENT_EMAIL_MAX || strchr (at + 1, '@'))
        return false;
    size_t local_len = (size_t) (at - email);
    if (local_len < 1 || local_len > 64)
        return false;
    return s_labels_valid (email, local_len, "!#$%&'*+/=?^_`{|}~-", false)
        && s_labels_valid (at + 1, len - local_len - 1, "-", true);
}

bool
enrollment_sha256_hex_valid (const char *hex)
{
    if (!hex || strlen (hex) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!isdigit ((unsigned char) hex [i]) && !(hex [i] >= 'a' && hex [i] <= 'f'))
            return false;
    return true;
}

bool
enrollment_id_valid (const char *id, const char *prefix)
{
    size_t prefix_len = strlen (prefix);
    if (!id || strlen (id) != prefix_len + 16 || strncmp (id, prefix, prefix_len) != 0)
        return false;
    for (size_t i = prefix_len; i < prefix_len + 16; i++)
        if (!isdigit ((unsigned char) id [i]) && !(id [i] >= 'a' && id [i] <= 'f'))
            return false;
    return true;
}

int
enrollment_id_new (const char *prefix, char id [ENROLLMENT_ID_SIZE])
{
    unsigned char bytes [8];
    if (strlen (prefix) != 4 || RAND_bytes (bytes, sizeof bytes) != 1)
        return -1;
    int used = snprintf (id, ENROLLMENT_ID_SIZE, "%s", prefix);
    for (size_t i = 0; i < sizeof bytes; i++)
        used += snprintf (id + used, ENROLLMENT_ID_SIZE - (size_t) used, "%02x", bytes [i]);
    return 0;
}

bool
enrollment_language_valid (const char *language)
{
    return language && (!*language || strcmp (language, "fr") == 0 || strcmp (language, "en") == 0);
}

static bool
s_postal_code_valid (const char *code, bool france)
{
    size_t len = code ? strlen (code) : 0;
    if (france) {
        if (len != 5)
            return false;
        for (size_t i = 0; i < len; i++)
            if (!isdigit ((unsigned char) code [i]))
                return false;
        return true;
    }
    if (len < 1 || len > 10 || code [0] == ' ' || code [len - 1] == ' ')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum ((unsigned char) code [i]) && code [i] != ' ' && code [i] != '-')
            return false;
    return true;
}

bool
enrollment_address_valid (const Tessera__V1__PostalAddress *address, char *err, size_t err_size)
{
    if (!address) {
        snprintf (err, err_size, "postal_address is required");
        return false;
    }
    if (address->n_lines < 1 || address->n_lines > ENROLLMENT_ADDRESS_LINES_MAX) {
        snprintf (err, err_size, "postal_address.lines: 1 to %d lines", ENROLLMENT_ADDRESS_LINES_MAX);
        return false;
    }
    for (size_t i = 0; i < address->n_lines; i++)
        if (!tsr_text_valid (address->lines [i], ENROLLMENT_ADDRESS_LINE_MAX)) {
            snprintf (err, err_size, "postal_address.lines[%zu]: 1 to %d characters, no control"
                      " character, no space at either end", i, ENROLLMENT_ADDRESS_LINE_MAX);
            return false;
        }
    const char *country = address->country_code;
    if (!country || strlen (country) != 2 || !isupper ((unsigned char) country [0])
    ||  !isupper ((unsigned char) country [1])) {
        snprintf (err, err_size, "postal_address.country_code: an ISO 3166-1 alpha-2 code in capitals (FR)");
        return false;
    }
    bool france = strcmp (country, "FR") == 0;
    if (!s_postal_code_valid (address->postal_code, france)) {
        snprintf (err, err_size, france ? "postal_address.postal_code: 5 digits in France"
                                        : "postal_address.postal_code: 1 to 10 of [A-Za-z0-9 -]");
        return false;
    }
    if (!tsr_text_valid (address->city, ENROLLMENT_ADDRESS_LINE_MAX)
    ||  strlen (address->postal_code) + 1 + tsr_text_chars (address->city)
            > ENROLLMENT_ADDRESS_LINE_MAX) {
        snprintf (err, err_size, "postal_address.city: no control character, and \"postal code"
                  " city\" at most %d characters", ENROLLMENT_ADDRESS_LINE_MAX);
        return false;
    }
    return true;
}

bool
enrollment_date_valid (int64_t unix_time, int64_t now)
{
    return unix_time >= 1 && unix_time <= now + ENROLLMENT_CLOCK_SKEW_S;
}

void
enrollment_date_format (int64_t unix_time, char out [16])
{
    time_t seconds = (time_t) unix_time;
    struct tm tm;
    if (!gmtime_r (&seconds, &tm) || strftime (out, 16, "%Y-%m-%d", &tm) == 0)
        snprintf (out, 16, "?");
}

bool
enrollment_page_token_parse (const char *token, int64_t *after)
{
    *after = 0;
    size_t len = token ? strlen (token) : 0;
    if (len == 0)
        return true;
    if (len > 18)
        return false;
    int64_t value = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit ((unsigned char) token [i]))
            return false;
        value = value * 10 + (token [i] - '0');
    }
    *after = value;
    return true;
}

uint32_t
enrollment_page_limit (uint32_t limit)
{
    return limit == 0 || limit > ENROLLMENT_PAGE_MAX ? ENROLLMENT_PAGE_MAX : limit;
}
