/*  Unit tests for enrollment_rules: which documents a dossier needs for
    each role, organisation kind and level, who must sign each, the K-bis
    age and identity document expiry, withdrawn and superseded documents,
    which document fits which dossier, and the one-line summary of defects
    that SubmitBatch answers with.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "enrollment_rules.h"
#include "tessera/v1/enrollment.pb-c.h"

#define S_FORM TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_REQUEST_FORM
#define S_DESIGNATION TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_MC_DESIGNATION
#define S_CGU TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_TERMS_OF_USE
#define S_ID TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_IDENTITY_DOCUMENT
#define S_F2F TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_FACE_TO_FACE_REPORT
#define S_KBIS TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_KBIS_EXTRACT
#define S_SIRENE TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_SIRENE_NOTICE
#define S_DELEGATION TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_DELEGATION
#define S_RL TESSERA__V1__PERSON_ROLE__PERSON_ROLE_LEGAL_REPRESENTATIVE
#define S_MC TESSERA__V1__PERSON_ROLE__PERSON_ROLE_CERTIFICATION_DELEGATE
#define S_HOLDER TESSERA__V1__PERSON_ROLE__PERSON_ROLE_HOLDER
#define S_COMPANY TESSERA__V1__ORGANISATION_KIND__ORGANISATION_KIND_COMPANY
#define S_ADMIN TESSERA__V1__ORGANISATION_KIND__ORGANISATION_KIND_PUBLIC_ADMINISTRATION
#define S_MISSING TESSERA__V1__DOSSIER_DEFECT_KIND__DOSSIER_DEFECT_KIND_MISSING
#define S_OUT_OF_DATE TESSERA__V1__DOSSIER_DEFECT_KIND__DOSSIER_DEFECT_KIND_OUT_OF_DATE
#define S_UNSIGNED TESSERA__V1__DOSSIER_DEFECT_KIND__DOSSIER_DEFECT_KIND_SIGNATURE_MISSING

#define S_DAY 86400
//  2024-05-10 14:00:00 UTC
#define S_REGISTERED INT64_C (1715349600)
#define S_NOW (S_REGISTERED + 20 * S_DAY)

//  The people who sign.
static const enrollment_signer_t s_holder = { "per-holder", ENROLLMENT_SIGNER_PERSON, S_HOLDER };
static const enrollment_signer_t s_mc = { "per-mc", ENROLLMENT_SIGNER_PERSON, S_MC };
static const enrollment_signer_t s_rl = { "per-rl", ENROLLMENT_SIGNER_PERSON, S_RL };
static const enrollment_signer_t s_other_holder = { "per-other", ENROLLMENT_SIGNER_PERSON, S_HOLDER };
static const enrollment_signer_t s_ae = { "op-ae", ENROLLMENT_SIGNER_OPERATOR, 0 };

//  A dossier under construction: documents with up to 3 signers each.
typedef struct {
    enrollment_document_t documents [8];
    enrollment_signer_t signers [8][3];
    size_t count;
    enrollment_dossier_t dossier;
    enrollment_defect_t defects [ENROLLMENT_DEFECTS_MAX];
} s_fixture_t;

static enrollment_document_t *
s_add (s_fixture_t *self, int type, const enrollment_signer_t *a, const enrollment_signer_t *b)
{
    assert_true (self->count < 8);
    size_t index = self->count++;
    enrollment_document_t *document = &self->documents [index];
    memset (document, 0, sizeof *document);
    document->type = type;
    document->signers = self->signers [index];
    if (a)
        self->signers [index][document->signer_count++] = *a;
    if (b)
        self->signers [index][document->signer_count++] = *b;
    self->dossier.documents = self->documents;
    self->dossier.document_count = self->count;
    return document;
}

static void
s_person (s_fixture_t *self, int role, const char *person_id, const char *designated_by)
{
    memset (self, 0, sizeof *self);
    self->dossier.person_role = role;
    self->dossier.person_id = person_id;
    self->dossier.designated_by = designated_by;
    self->dossier.registered_unix = S_REGISTERED;
    self->dossier.now_unix = S_NOW;
}

//  A holder's complete dossier.
static void
s_complete_holder (s_fixture_t *self)
{
    s_person (self, S_HOLDER, "per-holder", NULL);
    s_add (self, S_FORM, &s_holder, NULL);
    s_add (self, S_CGU, &s_holder, &s_ae);
    enrollment_document_t *id = s_add (self, S_ID, &s_holder, NULL);
    id->expires_unix = S_NOW + 365 * S_DAY;
    s_add (self, S_F2F, &s_mc, &s_ae);
}

static size_t
s_check (s_fixture_t *self)
{
    return enrollment_dossier_check (&self->dossier, self->defects, ENROLLMENT_DEFECTS_MAX);
}

static void
s_assert_one (s_fixture_t *self, int type, int kind, const char *detail)
{
    size_t count = s_check (self);
    if (count != 1)
        fail_msg ("%zu defects, the first: %s", count, count ? self->defects [0].detail : "none");
    assert_int_equal (self->defects [0].document_type, type);
    assert_int_equal (self->defects [0].kind, kind);
    assert_string_equal (self->defects [0].detail, detail);
}

static void
test_complete_holder_dossier (void **state)
{
    (void) state;
    s_fixture_t f;
    s_complete_holder (&f);
    assert_int_equal (s_check (&f), 0);
    //  The AE may be replaced by the RL or the MC on the CGU.
    f.signers [1][1] = s_rl;
    assert_int_equal (s_check (&f), 0);
    f.signers [1][1] = s_mc;
    assert_int_equal (s_check (&f), 0);
    //  ... but not by another holder.
    f.signers [1][1] = s_other_holder;
    s_assert_one (&f, S_CGU, S_UNSIGNED, "terms of use (CGU) not signed by an AE, RL or MC");
}

static void
test_empty_holder_dossier_lists_every_document (void **state)
{
    (void) state;
    s_fixture_t f;
    s_person (&f, S_HOLDER, "per-holder", NULL);
    assert_int_equal (s_check (&f), 4);
    const char *expected [] = { "request form missing", "terms of use (CGU) missing",
                                "identity document missing", "face-to-face report missing" };
    for (int i = 0; i < 4; i++) {
        assert_int_equal (f.defects [i].kind, S_MISSING);
        assert_string_equal (f.defects [i].detail, expected [i]);
    }
}

static void
test_mc_needs_designation_signed_by_mc_and_rl (void **state)
{
    (void) state;
    s_fixture_t f;
    s_person (&f, S_MC, "per-mc", "per-rl");
    s_add (&f, S_FORM, &s_mc, NULL);
    s_add (&f, S_CGU, &s_mc, &s_ae);
    s_add (&f, S_ID, &s_mc, NULL);
    //  The MC signs their own face-to-face report with the AE.
    s_add (&f, S_F2F, &s_mc, &s_ae);
    s_assert_one (&f, S_DESIGNATION, S_MISSING, "MC designation missing");
    enrollment_document_t *designation = s_add (&f, S_DESIGNATION, &s_mc, NULL);
    s_assert_one (&f, S_DESIGNATION, S_UNSIGNED,
                  "MC designation not signed by the RL who designated them");
    designation->signers = (enrollment_signer_t []) { s_rl };
    designation->signer_count = 1;
    s_assert_one (&f, S_DESIGNATION, S_UNSIGNED, "MC designation not signed by the MC");
    designation->signers = (enrollment_signer_t []) { s_rl, s_mc };
    designation->signer_count = 2;
    assert_int_equal (s_check (&f), 0);
    //  Another RL than the one who designated them does not do.
    designation->signers = (enrollment_signer_t []) {
        { "per-rl2", ENROLLMENT_SIGNER_PERSON, S_RL }, s_mc };
    s_assert_one (&f, S_DESIGNATION, S_UNSIGNED,
                  "MC designation not signed by the RL who designated them");
}

static void
test_designation_not_required_of_others (void **state)
{
    (void) state;
    s_fixture_t f;
    s_complete_holder (&f);
    f.dossier.person_role = S_RL;
    f.dossier.person_id = "per-rl";
    for (size_t i = 0; i < f.count; i++)
        for (size_t j = 0; j < f.documents [i].signer_count; j++)
            if (f.signers [i][j].kind == ENROLLMENT_SIGNER_PERSON && f.signers [i][j].person_role == S_HOLDER)
                f.signers [i][j] = s_rl;
    //  The RL's own face-to-face report: signed by the RL and the AE.
    f.signers [3][0] = s_rl;
    assert_int_equal (s_check (&f), 0);
}

static void
test_signatures_each_named (void **state)
{
    (void) state;
    s_fixture_t f;
    s_complete_holder (&f);
    f.documents [0].signer_count = 0;
    s_assert_one (&f, S_FORM, S_UNSIGNED, "request form not signed by the holder");
    s_complete_holder (&f);
    f.documents [1].signer_count = 0;
    s_assert_one (&f, S_CGU, S_UNSIGNED,
                  "terms of use (CGU) not signed by the holder nor by an AE, RL or MC");
    s_complete_holder (&f);
    f.signers [2][0] = s_ae;
    s_assert_one (&f, S_ID, S_UNSIGNED, "identity document not signed by its bearer");
    s_complete_holder (&f);
    f.documents [3].signer_count = 1;    //  the MC only
    s_assert_one (&f, S_F2F, S_UNSIGNED, "face-to-face report not signed by an AE");
    s_complete_holder (&f);
    f.signers [3][0] = s_holder;         //  the holder does not replace the MC
    s_assert_one (&f, S_F2F, S_UNSIGNED, "face-to-face report not signed by an MC or RL");
    f.signers [3][0] = s_rl;
    assert_int_equal (s_check (&f), 0);
}

static void
test_identity_document_expiry (void **state)
{
    (void) state;
    s_fixture_t f;
    s_complete_holder (&f);
    f.documents [2].expires_unix = 0;            //  a document without expiry
    assert_int_equal (s_check (&f), 0);
    f.documents [2].expires_unix = S_NOW;        //  expires now: out of date
    s_assert_one (&f, S_ID, S_OUT_OF_DATE, "identity document expired on 2024-05-30");
    //  Expired and unsigned: both said.
    f.documents [2].signer_count = 0;
    assert_int_equal (s_check (&f), 2);
    assert_int_equal (f.defects [0].kind, S_OUT_OF_DATE);
    assert_int_equal (f.defects [1].kind, S_UNSIGNED);
    //  A newer, valid copy satisfies the requirement.
    enrollment_document_t *renewed = s_add (&f, S_ID, &s_holder, NULL);
    renewed->expires_unix = S_NOW + S_DAY;
    assert_int_equal (s_check (&f), 0);
    //  Withdrawn, it no longer counts: the newest remaining one is reported.
    renewed->withdrawn = true;
    assert_int_equal (s_check (&f), 2);
    //  Withdrawing every copy makes it missing.
    f.documents [2].withdrawn = true;
    s_assert_one (&f, S_ID, S_MISSING, "identity document missing");
}

static void
test_face_to_face_not_required_at_one_star (void **state)
{
    (void) state;
    s_fixture_t f;
    s_complete_holder (&f);
    f.count = 3;
    f.dossier.document_count = 3;
    s_assert_one (&f, S_F2F, S_MISSING, "face-to-face report missing");
    f.dossier.level = 3;
    assert_int_equal (s_check (&f), 1);
    f.dossier.level = 1;
    assert_int_equal (s_check (&f), 0);
}

static void
test_company_needs_recent_kbis (void **state)
{
    (void) state;
    s_fixture_t f;
    s_person (&f, 0, NULL, NULL);
    f.dossier.organisation = true;
    f.dossier.organisation_kind = S_COMPANY;
    s_assert_one (&f, S_KBIS, S_MISSING, "K-bis extract missing");
    enrollment_document_t *kbis = s_add (&f, S_KBIS, NULL, NULL);
    kbis->issued_unix = S_REGISTERED - 30 * S_DAY;
    assert_int_equal (s_check (&f), 0);
    //  2024-02-10 00:00: three months and fourteen hours before the
    //  registration (2024-05-10 14:00).
    kbis->issued_unix = INT64_C (1707523200);
    s_assert_one (&f, S_KBIS, S_OUT_OF_DATE,
                  "K-bis extract dated 2024-02-10 is older than 3 months at registration (2024-05-10)");
    //  The next day is less than three months old.
    kbis->issued_unix += S_DAY;
    assert_int_equal (s_check (&f), 0);
    //  A person's documents do not count for the organisation.
    kbis->type = S_FORM;
    s_assert_one (&f, S_KBIS, S_MISSING, "K-bis extract missing");
}

static void
test_administration_needs_notice_and_delegation (void **state)
{
    (void) state;
    s_fixture_t f;
    s_person (&f, 0, NULL, NULL);
    f.dossier.organisation = true;
    f.dossier.organisation_kind = S_ADMIN;
    assert_int_equal (s_check (&f), 2);
    assert_string_equal (f.defects [0].detail, "SIRENE notice missing");
    assert_string_equal (f.defects [1].detail, "delegation document missing");
    s_add (&f, S_SIRENE, NULL, NULL);
    s_assert_one (&f, S_DELEGATION, S_MISSING, "delegation document missing");
    s_add (&f, S_DELEGATION, NULL, NULL);
    assert_int_equal (s_check (&f), 0);
    //  A K-bis is not asked of an administration.
    f.documents [0].type = S_KBIS;
    s_assert_one (&f, S_SIRENE, S_MISSING, "SIRENE notice missing");
}

static void
test_months_earlier_clamps_to_month_end (void **state)
{
    (void) state;
    //  2024-05-31 10:00 -> 2024-02-29 10:00 (leap year)
    assert_int_equal (enrollment_months_earlier (INT64_C (1717149600), 3), INT64_C (1709200800));
    //  2023-05-31 10:00 -> 2023-02-28 10:00
    assert_int_equal (enrollment_months_earlier (INT64_C (1685527200), 3), INT64_C (1677578400));
    //  2024-01-15 00:00 -> 2023-10-15 00:00 (across the year)
    assert_int_equal (enrollment_months_earlier (INT64_C (1705276800), 3), INT64_C (1697328000));
    assert_true (enrollment_kbis_out_of_date (INT64_C (1697328000), INT64_C (1705276800)));
    assert_false (enrollment_kbis_out_of_date (INT64_C (1697328001), INT64_C (1705276800)));
}

static void
test_documents_fit_their_dossier (void **state)
{
    (void) state;
    char why [160];
    assert_true (enrollment_document_fits (true, S_COMPANY, 0, S_KBIS, why, sizeof why));
    assert_false (enrollment_document_fits (true, S_ADMIN, 0, S_KBIS, why, sizeof why));
    assert_non_null (strstr (why, "K-bis extract is for a company"));
    assert_true (enrollment_document_fits (true, S_ADMIN, 0, S_DELEGATION, why, sizeof why));
    assert_false (enrollment_document_fits (true, S_COMPANY, 0, S_SIRENE, why, sizeof why));
    assert_false (enrollment_document_fits (true, S_COMPANY, 0, S_FORM, why, sizeof why));
    assert_string_equal (why, "a request form belongs in a person's dossier");
    assert_false (enrollment_document_fits (false, 0, S_HOLDER, S_KBIS, why, sizeof why));
    assert_true (enrollment_document_fits (false, 0, S_HOLDER, S_ID, why, sizeof why));
    assert_false (enrollment_document_fits (false, 0, S_HOLDER, S_DESIGNATION, why, sizeof why));
    assert_true (enrollment_document_fits (false, 0, S_MC, S_DESIGNATION, why, sizeof why));
    assert_false (enrollment_document_fits (false, 0, S_HOLDER, 0, why, sizeof why));
    assert_false (enrollment_document_fits (false, 0, S_HOLDER, 9, why, sizeof why));
}

static void
test_summary_groups_and_truncates (void **state)
{
    (void) state;
    enrollment_defect_line_t lines [] = {
        { "Jean DUPONT", "request form missing" },
        { "Jean DUPONT", "identity document expired on 2024-01-01" },
        { "ACME SA", "K-bis extract missing" },
    };
    char out [256];
    enrollment_defects_summary (lines, 3, out, sizeof out);
    assert_string_equal (out, "3 defects: Jean DUPONT: request form missing, identity document"
                              " expired on 2024-01-01; ACME SA: K-bis extract missing");
    enrollment_defects_summary (lines, 1, out, sizeof out);
    assert_string_equal (out, "1 defect: Jean DUPONT: request form missing");
    //  Too many for the line: the first ones, then how many more.
    enrollment_defect_line_t many [20];
    for (int i = 0; i < 20; i++)
        many [i] = (enrollment_defect_line_t) { i % 2 ? "Marie-Hélène DE LA TOUR D'AUVERGNE" : "Jean DUPONT",
                                                "terms of use (CGU) not signed by the holder" };
    enrollment_defects_summary (many, 20, out, sizeof out);
    assert_true (strlen (out) < sizeof out);
    assert_non_null (strstr (out, "20 defects: Jean DUPONT: terms of use"));
    const char *more = strstr (out, "; and ");
    assert_non_null (more);
    assert_non_null (strstr (more, " more (see CheckBatch)"));
    //  What is listed plus what is counted is everything.
    int listed = 0;
    for (const char *p = out; (p = strstr (p, "not signed")); p++)
        listed++;
    int rest = 0;
    assert_int_equal (sscanf (more, "; and %d more", &rest), 1);
    assert_int_equal (listed + rest, 20);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_complete_holder_dossier),
        cmocka_unit_test (test_empty_holder_dossier_lists_every_document),
        cmocka_unit_test (test_mc_needs_designation_signed_by_mc_and_rl),
        cmocka_unit_test (test_designation_not_required_of_others),
        cmocka_unit_test (test_signatures_each_named),
        cmocka_unit_test (test_identity_document_expiry),
        cmocka_unit_test (test_face_to_face_not_required_at_one_star),
        cmocka_unit_test (test_company_needs_recent_kbis),
        cmocka_unit_test (test_administration_needs_notice_and_delegation),
        cmocka_unit_test (test_months_earlier_clamps_to_month_end),
        cmocka_unit_test (test_documents_fit_their_dossier),
        cmocka_unit_test (test_summary_groups_and_truncates),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
