/*  ca_subject: subject names from validated requests (see ca_subject.h).
*/
#include "ca_subject.h"
#include "tessera/utf8.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

bool
ca_subject_text_valid (const char *text, size_t max_chars)
{
    return tsr_text_valid (text, max_chars);
}

//  A dot-separated run of labels: no empty label (so no leading,
//  trailing or double dot), each of [A-Za-z0-9] plus extra, not starting or
//  ending with '-'.
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
ca_subject_email_valid (const char *email)
{
    size_t len = email ? strlen (email) : 0;
    const char *at = len ? strchr (email, '@') : NULL;
    if (!at || len > CA_EMAIL_MAX || at == email || strchr (at + 1, '@'))
        return false;
    size_t local_len = (size_t) (at - email);
    //  The local part may hold '+', '_' and '-' anywhere but the ends of a
    //  label is too strict for '+'/'_': check them as label characters.
    return s_dotted_valid (email, local_len, "+_-", 1)
        && s_dotted_valid (at + 1, len - local_len - 1, "-", 2);
}

//  The surname in capitals: ASCII letters and the Latin-1 lower-case
//  letters (two-byte UTF-8 C3 A0..C3 BE but C3 B7), plus œ; other
//  characters are kept as written.
static void
s_upper (const char *text, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; text [i] && o + 2 < size; i++) {
        unsigned char c = (unsigned char) text [i];
        if (c == 0xC3 && (unsigned char) text [i + 1] >= 0xA0 && (unsigned char) text [i + 1] <= 0xBE
        &&  (unsigned char) text [i + 1] != 0xB7) {
            out [o++] = (char) 0xC3;
            out [o++] = (char) ((unsigned char) text [++i] - 0x20);
        }
        else
        if (c == 0xC5 && (unsigned char) text [i + 1] == 0x93) {
            out [o++] = (char) 0xC5;
            out [o++] = (char) 0x92;
            i++;
        }
        else
            out [o++] = (char) toupper (c);
    }
    out [o] = 0;
}

static bool
s_digits (const char *text, size_t count)
{
    if (strlen (text) != count)
        return false;
    for (size_t i = 0; i < count; i++)
        if (!isdigit ((unsigned char) text [i]))
            return false;
    return true;
}

static int
s_add_utf8 (X509_NAME *name, const char *field, const char *value)
{
    return X509_NAME_add_entry_by_txt (name, field, MBSTRING_UTF8, (const unsigned char *) value,
                                       -1, -1, 0) == 1 ? 0 : -1;
}

X509_NAME *
ca_subject_build (const ca_subject_fields_t *fields, bool holder, char *err, size_t err_size)
{
    char common_name [4 * CA_NAME_MAX + 2];
    char surname [4 * CA_NAME_MAX + 1];
    char unit [32] = "";
    if (!ca_subject_text_valid (fields->organization, CA_NAME_MAX)) {
        snprintf (err, err_size, "subject organization is empty, too long or has control characters");
        return NULL;
    }
    if (fields->organization_id && *fields->organization_id) {
        if (!s_digits (fields->organization_id, 9) && !s_digits (fields->organization_id, 14)) {
            snprintf (err, err_size, "subject organization_id must be a SIREN (9 digits) or a SIRET (14 digits)");
            return NULL;
        }
        snprintf (unit, sizeof unit, "0002 %s", fields->organization_id);
    }
    else
    if (holder) {
        snprintf (err, err_size, "subject organization_id is required for a holder");
        return NULL;
    }
    if (holder) {
        if (!ca_subject_text_valid (fields->given_name, CA_NAME_MAX)
        ||  !ca_subject_text_valid (fields->surname, CA_NAME_MAX)) {
            snprintf (err, err_size, "subject given_name or surname is empty, too long or has control characters");
            return NULL;
        }
        s_upper (fields->surname, surname, sizeof surname);
        snprintf (common_name, sizeof common_name, "%s %s", fields->given_name, surname);
        if (!ca_subject_text_valid (common_name, CA_NAME_MAX)) {
            snprintf (err, err_size, "subject common name \"given_name SURNAME\" is over %d characters",
                      CA_NAME_MAX);
            return NULL;
        }
    }
    else {
        if (!ca_subject_text_valid (fields->common_name, CA_NAME_MAX)) {
            snprintf (err, err_size, "subject common_name is empty, too long or has control characters");
            return NULL;
        }
        snprintf (common_name, sizeof common_name, "%s", fields->common_name);
    }
    if (fields->email && *fields->email && !ca_subject_email_valid (fields->email)) {
        snprintf (err, err_size, "subject email is not a plain address of at most %d characters",
                  CA_EMAIL_MAX);
        return NULL;
    }
    X509_NAME *name = X509_NAME_new ();
    if (!name
    ||  X509_NAME_add_entry_by_txt (name, "C", V_ASN1_PRINTABLESTRING,
                                    (const unsigned char *) "FR", 2, -1, 0) != 1
    ||  s_add_utf8 (name, "O", fields->organization)
    ||  (*unit && s_add_utf8 (name, "OU", unit))
    ||  s_add_utf8 (name, "CN", common_name)) {
        X509_NAME_free (name);
        snprintf (err, err_size, "cannot build the subject name");
        return NULL;
    }
    return name;
}
