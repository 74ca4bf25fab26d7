/*  Unit tests for enrollment_operators_check: the input rules of the
    operator methods (names, e-mail addresses, languages, CURVE public keys,
    operator ids, service names), the roles of an AddOperatorRequest
    against the incompatible pairs of each RGS level, and the NUL check of
    encoded requests.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "enrollment_operators.h"

#define S_WHY_SIZE 256

//  Names: 1..128 code points, no control, no separator, no bidi mark, no
//  space at either end; "" only where allowed.
static void
test_text_valid (void **state)
{
    (void) state;
    const char *good [] = {
        "Odile Opérateur", "O'Brien; DROP TABLE operators", "李小龙", "a", "Ŝ-ŝ (backup)",
    };
    for (size_t i = 0; i < sizeof good / sizeof good [0]; i++)
        if (!enrollment_operator_text_valid (good [i], 128, false))
            fail_msg ("refused: %s", good [i]);
    const char *bad [] = {
        "", "Alice\nAdmin", "Alice\tAdmin", "Alice\r", "\x1b[31mred", "Alice\x7f",
        "Alice\xc2\x85",                    //  U+0085, a C1 control
        "Alice\xe2\x80\xae" "eciR",         //  U+202E, right-to-left override
        "Alice\xe2\x81\xa6",                //  U+2066, left-to-right isolate
        "Alice\xe2\x80\xa8",                //  U+2028, line separator
        "Alice\xe2\x80\x8f",                //  U+200F, right-to-left mark
        " Alice", "Alice ", " ",
        "Alice\xff",                        //  not UTF-8
        "\xc3\x28",                         //  truncated sequence
        "\xc0\xaf",                         //  overlong '/'
        "\xed\xa0\x80",                     //  a surrogate
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        if (enrollment_operator_text_valid (bad [i], 128, false))
            fail_msg ("accepted bad name %zu", i);
    assert_true (enrollment_operator_text_valid ("", 256, true));
    assert_true (enrollment_operator_text_valid (NULL, 256, true));
    assert_false (enrollment_operator_text_valid (NULL, 256, false));
    assert_false (enrollment_operator_text_valid ("a\nb", 256, true));
}

//  The limit counts code points, not bytes: 128 "é" (256 bytes) pass, 129
//  of anything do not.
static void
test_text_limit_code_points (void **state)
{
    (void) state;
    char text [1024];
    memset (text, 'a', 128);
    text [128] = 0;
    assert_true (enrollment_operator_text_valid (text, 128, false));
    text [128] = 'a';
    text [129] = 0;
    assert_false (enrollment_operator_text_valid (text, 128, false));
    for (int i = 0; i < 128; i++)
        memcpy (text + 2 * i, "\xc3\xa9", 2);
    text [256] = 0;
    assert_true (enrollment_operator_text_valid (text, 128, false));
    memcpy (text + 256, "\xc3\xa9", 3);
    assert_false (enrollment_operator_text_valid (text, 128, false));
}

static void
test_email_valid (void **state)
{
    (void) state;
    const char *good [] = {
        "", "odile@example.fr", "o.d+ile_x-y@mail.example.co.uk", "a@b.fr", "O1@EXAMPLE.FR",
    };
    for (size_t i = 0; i < sizeof good / sizeof good [0]; i++)
        if (!enrollment_operator_email_valid (good [i]))
            fail_msg ("refused: %s", good [i]);
    const char *bad [] = {
        "odile", "@example.fr", "odile@", "odile@localhost", "odile@@example.fr",
        "odile@example..fr", ".odile@example.fr", "odile.@example.fr", "od..ile@example.fr",
        "odile@-example.fr", "odile@example-.fr", "odile @example.fr", "odile@exa mple.fr",
        "odile@example.fr\n", "\"odile\"@example.fr", "odile@[127.0.0.1]", "odilé@example.fr",
        "odile@example.fr.", "o<d>ile@example.fr", "a@b@c.fr",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        if (enrollment_operator_email_valid (bad [i]))
            fail_msg ("accepted: %s", bad [i]);
    //  128 characters pass, 129 do not.
    char email [256];
    memset (email, 'a', 128 - strlen ("@example.fr"));
    snprintf (email + 128 - strlen ("@example.fr"), 64, "@example.fr");
    assert_int_equal (strlen (email), 128);
    assert_true (enrollment_operator_email_valid (email));
    memset (email, 'a', 129 - strlen ("@example.fr"));
    snprintf (email + 129 - strlen ("@example.fr"), 64, "@example.fr");
    assert_false (enrollment_operator_email_valid (email));
}

static void
test_language (void **state)
{
    (void) state;
    assert_string_equal (enrollment_operator_language (""), "fr");
    assert_string_equal (enrollment_operator_language (NULL), "fr");
    assert_string_equal (enrollment_operator_language ("fr"), "fr");
    assert_string_equal (enrollment_operator_language ("en"), "en");
    assert_null (enrollment_operator_language ("de"));
    assert_null (enrollment_operator_language ("FR"));
    assert_null (enrollment_operator_language ("fr "));
}

//  Keys: 40 Z85 digits whose groups of 5 fit 32 bits.
static void
test_public_key (void **state)
{
    (void) state;
    //  A key as zcert writes it, and the extremes of the alphabet.
    assert_true (enrollment_operator_key_valid ("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"));
    assert_true (enrollment_operator_key_valid ("0000000000000000000000000000000000000000"));
    //  "%nSc0" is 0xFFFFFFFF, the largest group; "%nSc1" is one more.
    assert_true (enrollment_operator_key_valid ("%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0"));
    assert_false (enrollment_operator_key_valid ("%nSc1%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0"));
    assert_false (enrollment_operator_key_valid ("########################################"));
    assert_false (enrollment_operator_key_valid (NULL));
    assert_false (enrollment_operator_key_valid (""));
    char key [64];
    memset (key, 'a', 39);
    key [39] = 0;
    assert_false (enrollment_operator_key_valid (key));
    key [39] = 'a';
    key [40] = 0;
    assert_true (enrollment_operator_key_valid (key));
    key [40] = 'a';
    key [41] = 0;
    assert_false (enrollment_operator_key_valid (key));
    //  Characters outside the alphabet, anywhere.
    const char *outside = "~\"',;\\_| `\n";
    for (const char *c = outside; *c; c++) {
        memset (key, 'a', 40);
        key [40] = 0;
        key [17] = *c;
        if (enrollment_operator_key_valid (key))
            fail_msg ("accepted a key holding 0x%02x", (unsigned char) *c);
    }
}

static void
test_operator_id_and_service (void **state)
{
    (void) state;
    assert_true (enrollment_operator_id_valid ("op-0123456789abcdef"));
    assert_false (enrollment_operator_id_valid ("op-0123456789ABCDEF"));
    assert_false (enrollment_operator_id_valid ("op-0123456789abcde"));
    assert_false (enrollment_operator_id_valid ("op-0123456789abcdef0"));
    assert_false (enrollment_operator_id_valid ("xx-0123456789abcdef"));
    assert_false (enrollment_operator_id_valid ("op-'; DROP TABLE x;"));
    assert_false (enrollment_operator_id_valid (NULL));
    char id [ENROLLMENT_OPERATOR_ID_SIZE], other [ENROLLMENT_OPERATOR_ID_SIZE];
    enrollment_operator_id_new (id);
    enrollment_operator_id_new (other);
    assert_true (enrollment_operator_id_valid (id));
    assert_string_not_equal (id, other);

    const char *known [] = { "", "validation", "perso", "mail", "revocation", "publisher", "ca",
                             "portal" };
    for (size_t i = 0; i < sizeof known / sizeof known [0]; i++)
        assert_true (enrollment_operator_service_valid (known [i]));
    assert_true (enrollment_operator_service_valid (NULL));
    assert_false (enrollment_operator_service_valid ("enrollment"));
    assert_false (enrollment_operator_service_valid ("CA"));
    assert_false (enrollment_operator_service_valid ("ca "));
}

static void
test_role_bit (void **state)
{
    (void) state;
    assert_int_equal (enrollment_operator_role_bit (0), 0);
    assert_int_equal (enrollment_operator_role_bit (14), 0);
    assert_int_equal (enrollment_operator_role_bit (-1), 0);
    assert_int_equal (enrollment_operator_role_bit (20), 0);     //  the service bit is not a role
    assert_int_equal (enrollment_operator_role_bit (3), TSR_ROLE_ENTRY);
    assert_int_equal (enrollment_operator_role_bit (12), TSR_ROLE_CUSTODIAN);
    assert_int_equal (enrollment_operator_role_bit (13), TSR_ROLE_RECOVERY_OFFICER);
}

static enrollment_operator_roles_t
s_check (int level, uint32_t *mask, char *why, int first, int second)
{
    int roles [] = { first, second };
    return enrollment_operator_roles_check (roles, second ? 2 : 1, level, mask, why, S_WHY_SIZE);
}

//  The pairs refused at ** (and ***), in both orders; at * only the
//  controller's rule holds.
static void
test_roles_incompatible_pairs (void **state)
{
    (void) state;
    const int pairs [][2] = {
        { 10, 9 },      //  security-officer, system-engineer
        { 11, 3 },      //  controller, entry
        { 11, 12 },     //  controller, custodian
        { 10, 3 },      //  security-officer, entry
        { 9, 4 },       //  system-engineer, validation
        { 12, 3 },      //  custodian, entry
        { 12, 1 },      //  custodian, agent
    };
    char why [S_WHY_SIZE];
    uint32_t mask;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs [0]; i++)
        for (int level = 2; level <= 3; level++) {
            why [0] = 0;
            assert_int_equal (s_check (level, &mask, why, pairs [i][0], pairs [i][1]),
                              ENROLLMENT_OPERATOR_ROLES_INCOMPATIBLE);
            assert_true (strlen (why) > 0);
            assert_int_equal (s_check (level, &mask, why, pairs [i][1], pairs [i][0]),
                              ENROLLMENT_OPERATOR_ROLES_INCOMPATIBLE);
        }
    //  At level 1, only "a controller holds no other role".
    assert_int_equal (s_check (1, &mask, why, 10, 9), ENROLLMENT_OPERATOR_ROLES_OK);
    assert_int_equal (s_check (1, &mask, why, 12, 3), ENROLLMENT_OPERATOR_ROLES_OK);
    assert_int_equal (s_check (1, &mask, why, 11, 3), ENROLLMENT_OPERATOR_ROLES_INCOMPATIBLE);
    assert_string_equal (why, "a controller holds no other role");
    //  A recovery officer holds no operator role, at every level; a
    //  security officer or a custodian may be one.
    for (int level = 1; level <= 3; level++)
        for (int role = 1; role <= 8; role++) {
            why [0] = 0;
            assert_int_equal (s_check (level, &mask, why, 13, role),
                              ENROLLMENT_OPERATOR_ROLES_INCOMPATIBLE);
            assert_string_equal (why, "a recovery officer holds no operator role");
            assert_int_equal (s_check (level, &mask, why, role, 13),
                              ENROLLMENT_OPERATOR_ROLES_INCOMPATIBLE);
        }
    assert_int_equal (s_check (2, &mask, why, 13, 10), ENROLLMENT_OPERATOR_ROLES_OK);
    assert_int_equal (mask, TSR_ROLE_RECOVERY_OFFICER | TSR_ROLE_SECURITY_OFFICER);
    assert_int_equal (s_check (2, &mask, why, 13, 11), ENROLLMENT_OPERATOR_ROLES_INCOMPATIBLE);
}

static void
test_roles_compatible_and_invalid (void **state)
{
    (void) state;
    char why [S_WHY_SIZE];
    uint32_t mask = 0;
    int operator_roles [] = { 1, 2, 3, 5, 6, 7, 8 };    //  every operator role but validation
    assert_int_equal (enrollment_operator_roles_check (operator_roles, 7, 2, &mask, why, sizeof why),
                      ENROLLMENT_OPERATOR_ROLES_OK);
    assert_int_equal (mask, TSR_ROLES_OPERATOR & ~TSR_ROLE_VALIDATION);
    assert_int_equal (s_check (2, &mask, why, 10, 12), ENROLLMENT_OPERATOR_ROLES_OK);
    assert_int_equal (mask, TSR_ROLE_SECURITY_OFFICER | TSR_ROLE_CUSTODIAN);
    assert_int_equal (enrollment_operator_roles_check (NULL, 0, 2, &mask, why, sizeof why),
                      ENROLLMENT_OPERATOR_ROLES_OK);
    assert_int_equal (mask, 0);
    assert_int_equal (s_check (2, &mask, why, 3, 14), ENROLLMENT_OPERATOR_ROLES_INVALID);
    assert_non_null (strstr (why, "14"));
    assert_int_equal (s_check (2, &mask, why, 0, 0), ENROLLMENT_OPERATOR_ROLES_INVALID);
    assert_int_equal (s_check (2, &mask, why, -4, 0), ENROLLMENT_OPERATOR_ROLES_INVALID);
    assert_int_equal (s_check (2, &mask, why, 3, 3), ENROLLMENT_OPERATOR_ROLES_INVALID);
    assert_string_equal (why, "role entry is listed twice");
}

//  A NUL inside a string field is refused (protobuf-c would cut the string
//  there); zero bytes elsewhere (varints, packed enums, unknown fields) are
//  not text.
static void
test_strings_clean (void **state)
{
    (void) state;
    const ProtobufCMessageDescriptor *add = &tessera__v1__add_operator_request__descriptor;
    //  name "ab\0cd" (field 1, length-delimited)
    const uint8_t nul_name [] = { 0x0A, 0x05, 'a', 'b', 0x00, 'c', 'd' };
    assert_false (tsr_payload_strings_clean (add, nul_name, sizeof nul_name));
    //  service_name (field 6) ending in NUL
    const uint8_t nul_service [] = { 0x32, 0x03, 'c', 'a', 0x00 };
    assert_false (tsr_payload_strings_clean (add, nul_service, sizeof nul_service));
    //  name "abcd", roles [0, 3] packed (field 5)
    const uint8_t clean [] = { 0x0A, 0x04, 'a', 'b', 'c', 'd', 0x2A, 0x02, 0x00, 0x03 };
    assert_true (tsr_payload_strings_clean (add, clean, sizeof clean));
    Tessera__V1__AddOperatorRequest *request = tessera__v1__add_operator_request__unpack (
        NULL, sizeof clean, clean);
    assert_non_null (request);
    assert_string_equal (request->name, "abcd");
    tessera__v1__add_operator_request__free_unpacked (request, NULL);
    //  An unknown field 99 holding a NUL is no text of ours.
    const uint8_t unknown [] = { 0x9A, 0x06, 0x02, 0x00, 0x00 };
    assert_true (tsr_payload_strings_clean (add, unknown, sizeof unknown));
    //  Fixed-width fields and an empty message.
    const uint8_t fixed [] = { 0x79, 0, 0, 0, 0, 0, 0, 0, 0, 0x7D, 0, 0, 0, 0 };
    assert_true (tsr_payload_strings_clean (add, fixed, sizeof fixed));
    assert_true (tsr_payload_strings_clean (add, NULL, 0));
    //  Cut short: a length past the end, a varint without its end, a group.
    const uint8_t short_length [] = { 0x0A, 0x09, 'a' };
    assert_false (tsr_payload_strings_clean (add, short_length, sizeof short_length));
    const uint8_t short_varint [] = { 0x08, 0x80 };
    assert_false (tsr_payload_strings_clean (add, short_varint, sizeof short_varint));
    const uint8_t group [] = { 0x0B, 0x0C };
    assert_false (tsr_payload_strings_clean (add, group, sizeof group));
    const uint8_t short_fixed [] = { 0x79, 0, 0 };
    assert_false (tsr_payload_strings_clean (add, short_fixed, sizeof short_fixed));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_text_valid),
        cmocka_unit_test (test_text_limit_code_points),
        cmocka_unit_test (test_email_valid),
        cmocka_unit_test (test_language),
        cmocka_unit_test (test_public_key),
        cmocka_unit_test (test_operator_id_and_service),
        cmocka_unit_test (test_role_bit),
        cmocka_unit_test (test_roles_incompatible_pairs),
        cmocka_unit_test (test_roles_compatible_and_invalid),
        cmocka_unit_test (test_strings_clean),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
