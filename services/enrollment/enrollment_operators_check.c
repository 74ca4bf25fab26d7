/*  The input rules of the operator methods (see enrollment_operators.h).
    Pure functions: no database, no bus, so the unit tests reach every
    branch.
*/
#include "enrollment_operators.h"
#include "tessera/envelope.h"
#include "tessera/utf8.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

//  The Z85 alphabet (ZeroMQ RFC 32), in digit order.
static const char s_z85 [] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

static const char *s_services [] = {
    "validation", "perso", "mail", "revocation", "publisher", "ca", "portal",
};

bool
enrollment_operator_text_valid (const char *text, size_t max_chars, bool allow_empty)
{
    if (!text || !*text)
        return allow_empty;
    return tsr_text_valid (text, max_chars);
}

//  A dot-separated run of at least min_labels labels: none empty (so no
//  leading, trailing or double dot), each of [A-Za-z0-9] plus extra, not
//  starting or ending with '-'.
static bool
s_dotted_valid (const char *text, size_t len, const char *extra, size_t min_labels)
{
    size_t labels = 0, label_len = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text [i] == '.') {
            if (label_len == 0 || text [i - 1] == '-' || text [i - label_len] == '-')
                return false;
            labels++;
            label_len = 0;
        }
        else
        if (isalnum ((unsigned char) text [i]) || strchr (extra, text [i]))
            label_len++;
        else
            return false;
    }
    return labels >= min_labels;
}

bool
enrollment_operator_email_valid (const char *email)
{
    if (!email || !*email)
        return true;
    size_t len = strlen (email);
    const char *at = strchr (email, '@');
    if (!at || len > ENROLLMENT_OPERATOR_EMAIL_MAX || at == email || strchr (at + 1, '@'))
        return false;
    size_t local_len = (size_t) (at - email);
    return s_dotted_valid (email, local_len, "+_-", 1)
        && s_dotted_valid (at + 1, len - local_len - 1, "-", 2);
}

const char *
enrollment_operator_language (const char *language)
{
    if (!language || !*language || strcmp (language, "fr") == 0)
        return "fr";
    return strcmp (language, "en") == 0 ? "en" : NULL;
}

bool
enrollment_operator_key_valid (const char *key)
{
    if (!key || strlen (key) != ENROLLMENT_OPERATOR_KEY_SIZE)
        return false;
    //  Each group of 5 digits is a base-85 number that must fit 32 bits;
    //  strchr would match the terminating NUL, which strlen excludes.
    for (size_t group = 0; group < ENROLLMENT_OPERATOR_KEY_SIZE; group += 5) {
        uint64_t value = 0;
        for (size_t i = group; i < group + 5; i++) {
            const char *digit = strchr (s_z85, key [i]);
            if (!digit)
                return false;
            value = value * 85 + (uint64_t) (digit - s_z85);
        }
        if (value > UINT32_MAX)
            return false;
    }
    return true;
}

bool
enrollment_operator_id_valid (const char *operator_id)
{
    if (!operator_id || strlen (operator_id) != ENROLLMENT_OPERATOR_ID_SIZE - 1
    ||  strncmp (operator_id, "op-", 3) != 0)
        return false;
    for (const char *c = operator_id + 3; *c; c++)
        if (!isdigit ((unsigned char) *c) && !(*c >= 'a' && *c <= 'f'))
            return false;
    return true;
}

bool
enrollment_operator_service_valid (const char *service_name)
{
    if (!service_name || !*service_name)
        return true;
    for (size_t i = 0; i < sizeof s_services / sizeof s_services [0]; i++)
        if (strcmp (s_services [i], service_name) == 0)
            return true;
    return false;
}

uint32_t
enrollment_operator_role_bit (int role)
{
    return role >= 1 && role <= TSR_ROLE_MAX_VALUE ? TSR_ROLE_BIT (role) : 0;
}

enrollment_operator_roles_t
enrollment_operator_roles_check (const int *roles, size_t count, int level, uint32_t *mask,
                                 char *why, size_t why_size)
{
    *mask = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t bit = enrollment_operator_role_bit (roles [i]);
        if (!bit) {
            snprintf (why, why_size, "role %d is not an operator role (1..%d)", roles [i],
                      TSR_ROLE_MAX_VALUE);
            return ENROLLMENT_OPERATOR_ROLES_INVALID;
        }
        if (*mask & bit) {
            snprintf (why, why_size, "role %s is listed twice", tsr_role_name (bit));
            return ENROLLMENT_OPERATOR_ROLES_INVALID;
        }
        if (!tsr_roles_compatible (*mask, bit, level, why, why_size))
            return ENROLLMENT_OPERATOR_ROLES_INCOMPATIBLE;
        *mask |= bit;
    }
    return ENROLLMENT_OPERATOR_ROLES_OK;
}

void
enrollment_operator_id_new (char operator_id [ENROLLMENT_OPERATOR_ID_SIZE])
{
    char random_hex [TSR_ID_HEX_SIZE];
    tsr_random_id (random_hex);
    snprintf (operator_id, ENROLLMENT_OPERATOR_ID_SIZE, "op-%.16s", random_hex);
}
