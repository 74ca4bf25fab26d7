/*  enrollment_rules: the dossier requirements (see enrollment_rules.h).
*/
#include "enrollment_rules.h"
#include "enrollment_input.h"
#include "tessera/v1/enrollment.pb-c.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define S_REQUEST_FORM TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_REQUEST_FORM
#define S_MC_DESIGNATION TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_MC_DESIGNATION
#define S_TERMS_OF_USE TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_TERMS_OF_USE
#define S_IDENTITY TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_IDENTITY_DOCUMENT
#define S_FACE_TO_FACE TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_FACE_TO_FACE_REPORT
#define S_KBIS TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_KBIS_EXTRACT
#define S_SIRENE TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_SIRENE_NOTICE
#define S_DELEGATION TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_DELEGATION

#define S_RL TESSERA__V1__PERSON_ROLE__PERSON_ROLE_LEGAL_REPRESENTATIVE
#define S_MC TESSERA__V1__PERSON_ROLE__PERSON_ROLE_CERTIFICATION_DELEGATE
#define S_HOLDER TESSERA__V1__PERSON_ROLE__PERSON_ROLE_HOLDER
#define S_COMPANY TESSERA__V1__ORGANISATION_KIND__ORGANISATION_KIND_COMPANY
#define S_ADMINISTRATION TESSERA__V1__ORGANISATION_KIND__ORGANISATION_KIND_PUBLIC_ADMINISTRATION
#define S_ONE_STAR 1

#define S_MISSING TESSERA__V1__DOSSIER_DEFECT_KIND__DOSSIER_DEFECT_KIND_MISSING
#define S_OUT_OF_DATE TESSERA__V1__DOSSIER_DEFECT_KIND__DOSSIER_DEFECT_KIND_OUT_OF_DATE
#define S_SIGNATURE_MISSING TESSERA__V1__DOSSIER_DEFECT_KIND__DOSSIER_DEFECT_KIND_SIGNATURE_MISSING

//  Room kept at the end of a summary for "; and NN more (see CheckBatch)".
#define S_MORE_RESERVE 40

const char *
enrollment_document_name (int type)
{
    switch (type) {
        case S_REQUEST_FORM: return "request form";
        case S_MC_DESIGNATION: return "MC designation";
        case S_TERMS_OF_USE: return "terms of use (CGU)";
        case S_IDENTITY: return "identity document";
        case S_FACE_TO_FACE: return "face-to-face report";
        case S_KBIS: return "K-bis extract";
        case S_SIRENE: return "SIRENE notice";
        case S_DELEGATION: return "delegation document";
        default: return "document";
    }
}

static const char *
s_person_word (int person_role)
{
    return person_role == S_RL ? "the RL" : person_role == S_MC ? "the MC" : "the holder";
}

bool
enrollment_document_fits (bool organisation, int organisation_kind, int person_role,
                          int type, char *why, size_t why_size)
{
    const char *name = enrollment_document_name (type);
    if (type < S_REQUEST_FORM || type > S_DELEGATION) {
        snprintf (why, why_size, "type must be a DocumentType (1 to 8)");
        return false;
    }
    bool for_organisation = type == S_KBIS || type == S_SIRENE || type == S_DELEGATION;
    if (organisation != for_organisation) {
        snprintf (why, why_size, "a %s belongs in %s dossier", name,
                  for_organisation ? "the organisation's" : "a person's");
        return false;
    }
    if (type == S_KBIS && organisation_kind != S_COMPANY) {
        snprintf (why, why_size, "a K-bis extract is for a company; a public administration"
                  " gives a SIRENE notice and a delegation document");
        return false;
    }
    if ((type == S_SIRENE || type == S_DELEGATION) && organisation_kind != S_ADMINISTRATION) {
        snprintf (why, why_size, "a %s is for a public administration; a company gives a"
                  " K-bis extract", name);
        return false;
    }
    if (type == S_MC_DESIGNATION && person_role != S_MC) {
        snprintf (why, why_size, "an MC designation belongs in an MC's dossier");
        return false;
    }
    return true;
}

int64_t
enrollment_months_earlier (int64_t unix_time, int months)
{
    static const int days_in_month [] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    time_t seconds = (time_t) unix_time;
    struct tm tm;
    if (!gmtime_r (&seconds, &tm))
        return unix_time;
    int month_index = tm.tm_year * 12 + tm.tm_mon - months;
    tm.tm_year = month_index / 12;
    tm.tm_mon = month_index % 12;
    int year = tm.tm_year + 1900;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int last_day = days_in_month [tm.tm_mon] + (tm.tm_mon == 1 && leap ? 1 : 0);
    if (tm.tm_mday > last_day)
        tm.tm_mday = last_day;
    return (int64_t) timegm (&tm);
}

bool
enrollment_kbis_out_of_date (int64_t issued_unix, int64_t registered_unix)
{
    return issued_unix <= enrollment_months_earlier (registered_unix, ENROLLMENT_KBIS_MAX_AGE_MONTHS);
}

//  Signed by the person themself?
static bool
s_signed_by (const enrollment_document_t *document, const char *id)
{
    for (size_t i = 0; id && i < document->signer_count; i++)
        if (strcmp (document->signers [i].id, id) == 0)
            return true;
    return false;
}

//  Signed by an operator (the AE), or by a person of one of the roles
//  (bit r for PersonRole r) other than except_id?
static bool
s_signed_by_kind (const enrollment_document_t *document, bool operator_ok, unsigned person_roles,
                  const char *except_id)
{
    for (size_t i = 0; i < document->signer_count; i++) {
        const enrollment_signer_t *signer = &document->signers [i];
        if (signer->kind == ENROLLMENT_SIGNER_OPERATOR && operator_ok)
            return true;
        if (signer->kind == ENROLLMENT_SIGNER_PERSON && (person_roles & (1u << signer->person_role))
        &&  !(except_id && strcmp (signer->id, except_id) == 0))
            return true;
    }
    return false;
}

static size_t
s_add (enrollment_defect_t *out, int type, int kind, const char *detail)
{
    out->document_type = type;
    out->kind = kind;
    snprintf (out->detail, sizeof out->detail, "%s", detail);
    return 1;
}

//  The signatories a document lacks as one defect: "<doc> not signed by
//  <first>[ nor by <second>]". first/second NULL when present.
static size_t
s_signatures (enrollment_defect_t *out, int type, const char *first, const char *second)
{
    if (!first && !second)
        return 0;
    char detail [ENROLLMENT_DEFECT_DETAIL_MAX];
    snprintf (detail, sizeof detail, "%s not signed by %s%s%s", enrollment_document_name (type),
              first ? first : second, first && second ? " nor by " : "", first && second ? second : "");
    return s_add (out, type, S_SIGNATURE_MISSING, detail);
}

//  The defects of one document against its type's rule (at most two).
static size_t
s_document_defects (const enrollment_dossier_t *dossier, const enrollment_document_t *document,
                    enrollment_defect_t *out)
{
    const char *self = dossier->person_id;
    const char *self_word = s_person_word (dossier->person_role);
    unsigned rl_mc = (1u << S_RL) | (1u << S_MC);
    char detail [ENROLLMENT_DEFECT_DETAIL_MAX], date [16], registered [16];
    size_t count = 0;
    switch (document->type) {
        case S_REQUEST_FORM:
            return s_signatures (out, document->type, s_signed_by (document, self) ? NULL : self_word, NULL);
        case S_MC_DESIGNATION:
            return s_signatures (out, document->type, s_signed_by (document, self) ? NULL : self_word,
                                 s_signed_by (document, dossier->designated_by)
                                     ? NULL : "the RL who designated them");
        case S_TERMS_OF_USE:
            return s_signatures (out, document->type, s_signed_by (document, self) ? NULL : self_word,
                                 s_signed_by_kind (document, true, rl_mc, self)
                                     ? NULL : "an AE, RL or MC");
        case S_FACE_TO_FACE:
            return s_signatures (out, document->type,
                                 s_signed_by_kind (document, false, rl_mc, NULL) ? NULL : "an MC or RL",
                                 s_signed_by_kind (document, true, 0, NULL) ? NULL : "an AE");
        case S_IDENTITY:
            if (document->expires_unix && document->expires_unix <= dossier->now_unix) {
                enrollment_date_format (document->expires_unix, date);
                snprintf (detail, sizeof detail, "identity document expired on %s", date);
                count += s_add (out, document->type, S_OUT_OF_DATE, detail);
            }
            return count + s_signatures (out + count, document->type,
                                         s_signed_by (document, self) ? NULL : "its bearer", NULL);
        case S_KBIS:
            if (enrollment_kbis_out_of_date (document->issued_unix, dossier->registered_unix)) {
                enrollment_date_format (document->issued_unix, date);
                enrollment_date_format (dossier->registered_unix, registered);
                snprintf (detail, sizeof detail, "K-bis extract dated %s is older than %d months at"
                          " registration (%s)", date, ENROLLMENT_KBIS_MAX_AGE_MONTHS, registered);
                return s_add (out, document->type, S_OUT_OF_DATE, detail);
            }
            return 0;
        default:
            return 0;
    }
}

//  One requirement: met by any document of the type, else the newest's
//  defects, else "missing". Returns the defects added.
static size_t
s_require (const enrollment_dossier_t *dossier, int type, enrollment_defect_t *defects, size_t room)
{
    enrollment_defect_t found [2];
    size_t found_count = 0;
    bool seen = false;
    for (size_t i = 0; i < dossier->document_count; i++) {
        const enrollment_document_t *document = &dossier->documents [i];
        if (document->type != type || document->withdrawn)
            continue;
        seen = true;
        enrollment_defect_t these [2];
        size_t count = s_document_defects (dossier, document, these);
        if (count == 0)
            return 0;
        memcpy (found, these, count * sizeof these [0]);
        found_count = count;
    }
    if (!seen) {
        char detail [ENROLLMENT_DEFECT_DETAIL_MAX];
        snprintf (detail, sizeof detail, "%s missing", enrollment_document_name (type));
        found_count = s_add (found, type, S_MISSING, detail);
    }
    size_t added = found_count < room ? found_count : room;
    memcpy (defects, found, added * sizeof found [0]);
    return added;
}

size_t
enrollment_dossier_check (const enrollment_dossier_t *dossier, enrollment_defect_t *defects,
                          size_t max)
{
    int required [6];
    size_t required_count = 0;
    if (dossier->organisation) {
        if (dossier->organisation_kind == S_ADMINISTRATION) {
            required [required_count++] = S_SIRENE;
            required [required_count++] = S_DELEGATION;
        }
        else
            required [required_count++] = S_KBIS;
    }
    else {
        required [required_count++] = S_REQUEST_FORM;
        if (dossier->person_role == S_MC)
            required [required_count++] = S_MC_DESIGNATION;
        required [required_count++] = S_TERMS_OF_USE;
        required [required_count++] = S_IDENTITY;
        if (dossier->level != S_ONE_STAR)
            required [required_count++] = S_FACE_TO_FACE;
    }
    size_t count = 0;
    for (size_t i = 0; i < required_count && count < max; i++)
        count += s_require (dossier, required [i], defects + count, max - count);
    return count;
}

void
enrollment_defects_summary (const enrollment_defect_line_t *lines, size_t count,
                            char *out, size_t out_size)
{
    if (out_size == 0)
        return;
    int written = snprintf (out, out_size, "%zu defect%s: ", count, count == 1 ? "" : "s");
    size_t used = written > 0 && (size_t) written < out_size ? (size_t) written : out_size - 1;
    for (size_t i = 0; i < count; i++) {
        bool same = i > 0 && strcmp (lines [i].who, lines [i - 1].who) == 0;
        char piece [512];
        snprintf (piece, sizeof piece, "%s%s%s%s", i == 0 ? "" : same ? ", " : "; ",
                  same ? "" : lines [i].who, same ? "" : ": ", lines [i].detail);
        size_t need = strlen (piece) + (i + 1 < count ? S_MORE_RESERVE : 0);
        if (used + need >= out_size) {
            snprintf (out + used, out_size - used, "; and %zu more (see CheckBatch)", count - i);
            return;
        }
        memcpy (out + used, piece, strlen (piece) + 1);
        used += strlen (piece);
    }
}
