/*  enrollment_rules: what a complete dossier holds, as pure functions of
    the dossier's documents (no database), so that each rule has one home
    and its unit test (tests/unit/enrollment/test_rules.c).

    A person's dossier, whatever the person's role, needs:
    - the request form, signed by the person;
    - for an MC only: the MC designation with the MC's commitments, signed
      by the MC and by the RL who designated them;
    - the terms of use (CGU), signed by the person and by an AE (an
      operator) or by an RL or MC of the organisation other than the person;
    - a certified copy of an identity document (national ID card, passport
      or residence permit), signed by its bearer, not expired;
    - at levels ** and ***: the face-to-face report, signed by an AE and by
      an MC or RL of the organisation (the person themself when they are
      the MC or the RL). Level * allows registration without it.
    The organisation's own dossier needs, for a company, a K-bis extract
    issued less than 3 months before the registration (the dossier's
    opening); for a public administration, a SIRENE notice and a delegation
    document.

    Several documents of one type: the requirement is met when any one of
    them meets it; otherwise the defects of the newest are reported.
    Withdrawn documents do not count. See docs/enrollment.md.
*/
#ifndef ENROLLMENT_RULES_H
#define ENROLLMENT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENROLLMENT_KBIS_MAX_AGE_MONTHS 3
//  At most two defects per required document type, five types.
#define ENROLLMENT_DEFECTS_MAX 12
#define ENROLLMENT_DEFECT_DETAIL_MAX 160

//  Who signed a document.
typedef enum {
    ENROLLMENT_SIGNER_PERSON = 1,   //  a person of the organisation
    ENROLLMENT_SIGNER_OPERATOR = 2, //  an operator: the AE
} enrollment_signer_kind_t;

typedef struct {
    const char *id;                 //  person id or operator id
    enrollment_signer_kind_t kind;
    int person_role;                //  PersonRole of a person signer
} enrollment_signer_t;

typedef struct {
    int type;                       //  DocumentType
    int64_t issued_unix;            //  0: not given
    int64_t expires_unix;           //  0: none
    bool withdrawn;
    const enrollment_signer_t *signers;
    size_t signer_count;
} enrollment_document_t;

typedef struct {
    //  The organisation's own dossier (else a person's).
    bool organisation;
    int organisation_kind;          //  OrganisationKind
    int person_role;                //  PersonRole (a person's dossier)
    const char *person_id;
    const char *designated_by;      //  an MC's RL, or NULL
    int level;                      //  PolicyLevel; 0 means ** (two stars)
    int64_t registered_unix;        //  the dossier's opening
    int64_t now_unix;
    const enrollment_document_t *documents;  //  oldest first
    size_t document_count;
} enrollment_dossier_t;

typedef struct {
    int document_type;              //  DocumentType
    int kind;                       //  DossierDefectKind
    char detail [ENROLLMENT_DEFECT_DETAIL_MAX];
} enrollment_defect_t;

//  Every defect of the dossier into defects (at most max). Returns their
//  number: 0 when the dossier is complete.
size_t enrollment_dossier_check (const enrollment_dossier_t *dossier,
                                 enrollment_defect_t *defects, size_t max);

//  May a document of this type go into this dossier? false with the reason
//  (a phrase starting with the type's name) in why.
bool enrollment_document_fits (bool organisation, int organisation_kind, int person_role,
                               int type, char *why, size_t why_size);

//  unix_time moved months calendar months back (UTC), the day clamped to
//  the end of a shorter month (31 May - 3 months = 29 February in a leap
//  year), time of day kept.
int64_t enrollment_months_earlier (int64_t unix_time, int months);
//  A K-bis extract issued at issued_unix is too old for a registration at
//  registered_unix (3 months or more before it).
bool enrollment_kbis_out_of_date (int64_t issued_unix, int64_t registered_unix);

//  "request form", "K-bis extract" ...; "document" for an unknown type.
const char *enrollment_document_name (int type);

//  One line for a status message from a list of defects: "N defects:
//  who: detail, detail; who: detail". Consecutive defects of the same who
//  are grouped. When the line would not fit in out_size, the defects that
//  fit are listed and "; and K more (see CheckBatch)" ends it.
typedef struct {
    const char *who;                //  "Jean DUPONT", "ACME SA"
    const char *detail;
} enrollment_defect_line_t;

void enrollment_defects_summary (const enrollment_defect_line_t *lines, size_t count,
                                 char *out, size_t out_size);

#endif
