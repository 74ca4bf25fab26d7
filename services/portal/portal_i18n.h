/*  portal_i18n: the portal's words in French and English, and the choice
    of language: the holder's switch (a cookie), else the browser's
    Accept-Language (the better q-value of fr and en), else French.

    Every text a page shows comes from this catalogue (templates say
    {{t:key}}); values from the services are shown as they are, escaped.
*/
#ifndef PORTAL_I18N_H
#define PORTAL_I18N_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    PORTAL_LANG_FR = 0,
    PORTAL_LANG_EN = 1
} portal_lang_t;

//  The text of key in lang, or NULL for an unknown key.
const char *portal_text (portal_lang_t lang, const char *key);
//  "fr" or "en".
const char *portal_lang_code (portal_lang_t lang);
//  "fr" / "en" (exactly) into *lang; false for anything else.
bool portal_lang_parse (const char *code, portal_lang_t *lang);
//  The language an Accept-Language header prefers among fr and en, or
//  fallback when it names neither (or is NULL, or malformed).
portal_lang_t portal_lang_negotiate (const char *accept_language, portal_lang_t fallback);
//  A date and time in UTC as the language writes it; "—" for 0.
void portal_format_time (portal_lang_t lang, int64_t unix_s, char *out, size_t size);
//  Every key of the catalogue, NULL-terminated (the unit tests check each
//  has both languages).
const char *const *portal_text_keys (void);

#endif
