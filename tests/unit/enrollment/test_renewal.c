/*  Unit tests for enrollment_renewal_dossier_defect: when the dossier of a
    renewed or replaced request is still valid without new documents (an
    identity document not expired; at ** and *** a face-to-face report
    younger than the 3-year holder lifetime; at * no report needed).
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "enrollment_renewal.h"

static void
test_valid_dossiers (void **state)
{
    (void) state;
    char why [128];
    enrollment_renewal_dossier_defect (2, true, 0, why, sizeof why);
    assert_string_equal (why, "");
    enrollment_renewal_dossier_defect (3, true, ENROLLMENT_FACE_TO_FACE_MAX_DAYS - 1, why,
                                       sizeof why);
    assert_string_equal (why, "");
    //  Level *: no face-to-face report required, however old or absent.
    enrollment_renewal_dossier_defect (1, true, -1, why, sizeof why);
    assert_string_equal (why, "");
    enrollment_renewal_dossier_defect (1, true, 5000, why, sizeof why);
    assert_string_equal (why, "");
}

static void
test_expired_identity_document (void **state)
{
    (void) state;
    char why [128];
    for (int level = 1; level <= 3; level++) {
        enrollment_renewal_dossier_defect (level, false, 10, why, sizeof why);
        assert_string_equal (why, "its identity document has expired");
    }
}

static void
test_face_to_face_report (void **state)
{
    (void) state;
    char why [128];
    enrollment_renewal_dossier_defect (2, true, -1, why, sizeof why);
    assert_string_equal (why, "it holds no face-to-face report");
    //  Exactly 3 years (1095 days) old is too old.
    enrollment_renewal_dossier_defect (2, true, ENROLLMENT_FACE_TO_FACE_MAX_DAYS, why, sizeof why);
    assert_string_equal (why, "its face-to-face report is 1095 days old (1095 at most)");
    enrollment_renewal_dossier_defect (3, true, 2000, why, sizeof why);
    assert_non_null (strstr (why, "2000 days old"));
}

static void
test_message_bounded (void **state)
{
    (void) state;
    char why [16];
    enrollment_renewal_dossier_defect (2, true, 123456789, why, sizeof why);
    assert_int_equal (strlen (why), sizeof why - 1);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_valid_dossiers),
        cmocka_unit_test (test_expired_identity_document),
        cmocka_unit_test (test_face_to_face_report),
        cmocka_unit_test (test_message_bounded),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
