/*  Fuzz target: what the portal reads from a request besides its body.
    libmicrohttpd splits the Cookie header and the query string; the
    portal then parses the values and the Accept-Language header itself.

    Input: a selector byte, then the text (cut at its first NUL, as a C
    string from libmicrohttpd is).
    - 0: Accept-Language (portal_lang_negotiate): French or English; the
         fallback when the header names neither.
    - 1: the tsr_lang cookie and the ?l= query value (portal_lang_parse):
         accepted only as "fr" or "en".
    - 2: the session cookie (portal_sessions_find) against a store holding
         one session: only that session's id finds it; the form's csrf
         field (portal_sessions_csrf_ok) passes only as its token.
    - 3: the revocation page's ?card= and ?serial= (portal_id_valid).
*/
#include "portal_form.h"
#include "portal_i18n.h"
#include "portal_internal.h"
#include "portal_session.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
s_language (const char *text)
{
    for (int fallback = PORTAL_LANG_FR; fallback <= PORTAL_LANG_EN; fallback++) {
        portal_lang_t lang = portal_lang_negotiate (text, (portal_lang_t) fallback);
        if (lang != PORTAL_LANG_FR && lang != PORTAL_LANG_EN)
            __builtin_trap ();
        bool named = false;
        for (const char *p = text; *p && !named; p++)
            named = strncasecmp (p, "fr", 2) == 0 || strncasecmp (p, "en", 2) == 0;
        if (!named && lang != (portal_lang_t) fallback)
            __builtin_trap ();
    }
}

static void
s_lang_cookie (const char *text)
{
    portal_lang_t lang;
    if (portal_lang_parse (text, &lang) && strcmp (portal_lang_code (lang), text) != 0)
        __builtin_trap ();
}

static void
s_session (const char *text)
{
    static portal_sessions_t *sessions;
    static char id [PORTAL_SESSION_ID_SIZE];
    static portal_session_t stored;
    if (!sessions) {
        portal_sessions_config_t config = { 16, 3600000, 600000, 43200000 };
        portal_session_t init;
        memset (&init, 0, sizeof init);
        if (!(sessions = portal_sessions_new (&config))
        ||  portal_sessions_create (sessions, &init, 1000, id, &stored))
            abort ();
    }
    portal_session_t found;
    memset (&found, 0, sizeof found);
    int rc = portal_sessions_find (sessions, text, 2000, &found);
    if ((rc == 0) != (strcmp (text, id) == 0))
        __builtin_trap ();
    if (portal_sessions_csrf_ok (&stored, text) != (strcmp (text, stored.csrf) == 0))
        __builtin_trap ();
    portal_session_wipe (&found);
}

static void
s_query_ids (const char *text)
{
    bool card = portal_id_valid (text, PORTAL_BUS_ID_MAX);
    bool serial = portal_id_valid (text, PORTAL_SERIAL_MAX);
    size_t length = strlen (text);
    if (card && (length < 1 || length > PORTAL_BUS_ID_MAX))
        __builtin_trap ();
    (void) serial;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = malloc (size);
    if (!text)
        abort ();
    memcpy (text, data + 1, size - 1);
    text [size - 1] = 0;
    switch (data [0] % 4) {
        case 0: s_language (text); break;
        case 1: s_lang_cookie (text); break;
        case 2: s_session (text); break;
        default: s_query_ids (text); break;
    }
    free (text);
    return 0;
}
