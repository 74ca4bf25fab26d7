/*  mail_header: header fields safe from injection (see mail_header.h).
*/
#include "mail_header.h"
#include "mail_input.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

//  Dotted labels of [A-Za-z0-9] plus extra characters; domain labels may
//  not start or end with '-'.
static bool
s_labels_valid (const char *text, size_t len, const char *extra, bool domain)
{
    if (len == 0 || text [0] == '.' || text [len - 1] == '.')
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text [i];
        if (c == '.') {
            if (label == 0 || (domain && text [i - 1] == '-'))
                return false;
            label = 0;
            continue;
        }
        if (!isalnum ((unsigned char) c) && !strchr (extra, c))
            return false;
        if (domain && c == '-' && label == 0)
            return false;
        if (++label > 63 && domain)
            return false;
    }
    return !domain || text [len - 1] != '-';
}

bool
mail_address_valid (const char *address)
{
    size_t len = address ? strlen (address) : 0;
    const char *at = len ? strchr (address, '@') : NULL;
    if (!at || len > MAIL_ADDRESS_MAX || at == address || strchr (at + 1, '@'))
        return false;
    size_t local_len = (size_t) (at - address);
    const char *domain = at + 1;
    return local_len <= 64
        && s_labels_valid (address, local_len, "!#$%&'*+/=?^_`{|}~-", false)
        && strchr (domain, '.') != NULL
        && s_labels_valid (domain, strlen (domain), "-", true);
}

//  Appends text as encoded words, none over 75 characters and no line
//  over 78, never cutting a UTF-8 sequence; each word after the first on a
//  folded line of its own. used: what the line holds before the first.
static void
s_encoded_words (mail_buf_t *buf, const char *text, size_t used)
{
    const unsigned char *p = (const unsigned char *) text;
    size_t left = strlen (text);
    unsigned char encoded [64];
    bool first = true;
    while (left) {
        //  "=?UTF-8?B?" and "?=" take 12 characters; 45 bytes encode to 60,
        //  so a folded line (" " + 72) stays under 78.
        size_t room = first && used <= 42 ? 66 - used : 60;
        size_t most = room / 4 * 3;
        if (most > 45)
            most = 45;
        size_t take = left < most ? left : most;
        while (take < left && take > 4 && (p [take] & 0xC0) == 0x80)
            take--;
        if (!first)
            mail_buf_add (buf, "\r\n ");
        int written = EVP_EncodeBlock (encoded, p, (int) take);
        mail_buf_add (buf, "=?UTF-8?B?");
        mail_buf_addn (buf, encoded, (size_t) written);
        mail_buf_add (buf, "?=");
        p += take;
        left -= take;
        first = false;
    }
}

static bool
s_plain_ascii (const char *text, bool phrase)
{
    if (strstr (text, "=?"))
        return false;
    for (const char *p = text; *p; p++) {
        unsigned char c = (unsigned char) *p;
        if (c < 0x20 || c > 0x7e)
            return false;
        if (phrase && !isalnum (c) && c != ' ')
            return false;
    }
    //  No leading, trailing or doubled space: folding could eat them.
    return *text != ' ' && text [strlen (text) - 1] != ' ' && !strstr (text, "  ");
}

int
mail_header_text (mail_buf_t *buf, const char *name, const char *value, size_t max_chars)
{
    if (!mail_text_valid (value, 1, max_chars))
        return -1;
    mail_buf_addf (buf, "%s: ", name);
    if (s_plain_ascii (value, false))
        mail_buf_add (buf, value);
    else
        s_encoded_words (buf, value, strlen (name) + 2);
    mail_buf_add (buf, "\r\n");
    return 0;
}

int
mail_header_mailbox (mail_buf_t *buf, const char *name, const char *display,
                     const char *address)
{
    if (!mail_address_valid (address)
    ||  (display && *display && !mail_text_valid (display, 1, MAIL_NAME_MAX)))
        return -1;
    mail_buf_addf (buf, "%s: ", name);
    if (display && *display) {
        if (s_plain_ascii (display, true))
            mail_buf_add (buf, display);
        else
            s_encoded_words (buf, display, strlen (name) + 2);
        mail_buf_add (buf, "\r\n <");
    }
    else
        mail_buf_add (buf, "<");
    mail_buf_add (buf, address);
    mail_buf_add (buf, ">\r\n");
    return 0;
}

int
mail_mailbox_parse (const char *text, char *display, size_t display_size,
                    char *address, size_t address_size)
{
    if (!text || !*text || mail_text_chars (text) < 0)
        return -1;
    const char *open = strrchr (text, '<');
    if (!open) {
        if (!mail_address_valid (text) || strlen (text) >= address_size)
            return -1;
        snprintf (address, address_size, "%s", text);
        display [0] = 0;
        return 0;
    }
    const char *close = strchr (open, '>');
    if (!close || close [1] != 0)
        return -1;
    size_t address_len = (size_t) (close - open - 1);
    size_t display_len = (size_t) (open - text);
    while (display_len && text [display_len - 1] == ' ')
        display_len--;
    if (address_len >= address_size || display_len >= display_size)
        return -1;
    memcpy (address, open + 1, address_len);
    address [address_len] = 0;
    memcpy (display, text, display_len);
    display [display_len] = 0;
    if (!mail_address_valid (address)
    ||  (display_len && !mail_text_valid (display, 1, MAIL_NAME_MAX)))
        return -1;
    return 0;
}
