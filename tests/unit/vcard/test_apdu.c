/*  Unit tests for vc_apdu_parse: the four ISO 7816-4 cases in short and
    extended form come out with the right Lc, data and Ne; every length that
    does not add up is refused with 67 00, and no parse reads past the end.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "vc_apdu.h"

static void
test_short_cases (void **state)
{
    (void) state;
    vc_apdu_t apdu;
    const uint8_t case1 [] = { 0x00, 0x20, 0x00, 0x80 };
    assert_int_equal (vc_apdu_parse (case1, sizeof case1, &apdu), VC_SW_OK);
    assert_int_equal (apdu.ins, 0x20);
    assert_int_equal (apdu.lc, 0);
    assert_int_equal (apdu.ne, 0);
    assert_null (apdu.data);

    const uint8_t case2 [] = { 0x00, 0xC0, 0x00, 0x00, 0x00 };
    assert_int_equal (vc_apdu_parse (case2, sizeof case2, &apdu), VC_SW_OK);
    assert_int_equal (apdu.ne, 256);
    const uint8_t case2_10 [] = { 0x00, 0xC0, 0x00, 0x00, 0x10 };
    assert_int_equal (vc_apdu_parse (case2_10, sizeof case2_10, &apdu), VC_SW_OK);
    assert_int_equal (apdu.ne, 0x10);

    const uint8_t case3 [] = { 0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08 };
    assert_int_equal (vc_apdu_parse (case3, sizeof case3, &apdu), VC_SW_OK);
    assert_int_equal (apdu.lc, 5);
    assert_ptr_equal (apdu.data, case3 + 5);
    assert_int_equal (apdu.ne, 0);
    assert_false (apdu.extended);

    const uint8_t case4 [] = { 0x00, 0xCB, 0x3F, 0xFF, 0x03, 0x5C, 0x01, 0x7E, 0x00 };
    assert_int_equal (vc_apdu_parse (case4, sizeof case4, &apdu), VC_SW_OK);
    assert_int_equal (apdu.lc, 3);
    assert_int_equal (apdu.ne, 256);
}

static void
test_extended_cases (void **state)
{
    (void) state;
    vc_apdu_t apdu;
    const uint8_t case2e [] = { 0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x00 };
    assert_int_equal (vc_apdu_parse (case2e, sizeof case2e, &apdu), VC_SW_OK);
    assert_true (apdu.extended);
    assert_int_equal (apdu.ne, 65536);

    uint8_t case4e [7 + 300 + 2] = { 0x00, 0xDB, 0x3F, 0xFF, 0x00, 0x01, 0x2C };
    case4e [7 + 300] = 0x01;
    case4e [7 + 300 + 1] = 0x00;
    assert_int_equal (vc_apdu_parse (case4e, sizeof case4e, &apdu), VC_SW_OK);
    assert_int_equal (apdu.lc, 300);
    assert_int_equal (apdu.ne, 256);
    assert_int_equal (vc_apdu_parse (case4e, sizeof case4e - 2, &apdu), VC_SW_OK);
    assert_int_equal (apdu.ne, 0);
    assert_int_equal (vc_apdu_parse (case4e, sizeof case4e - 1, &apdu), VC_SW_WRONG_LENGTH);
}

static void
test_bad_lengths (void **state)
{
    (void) state;
    vc_apdu_t apdu;
    const uint8_t header [] = { 0x00, 0xA4, 0x04 };
    assert_int_equal (vc_apdu_parse (header, sizeof header, &apdu), VC_SW_WRONG_LENGTH);
    assert_int_equal (vc_apdu_parse (NULL, 0, &apdu), VC_SW_WRONG_LENGTH);
    //  Lc says 5, four bytes follow; then five plus two.
    const uint8_t short_data [] = { 0x00, 0xA4, 0x04, 0x00, 0x05, 1, 2, 3, 4 };
    assert_int_equal (vc_apdu_parse (short_data, sizeof short_data, &apdu), VC_SW_WRONG_LENGTH);
    const uint8_t long_data [] = { 0x00, 0xA4, 0x04, 0x00, 0x05, 1, 2, 3, 4, 5, 6, 7 };
    assert_int_equal (vc_apdu_parse (long_data, sizeof long_data, &apdu), VC_SW_WRONG_LENGTH);
    //  00 then a lone byte: neither short nor extended.
    const uint8_t six [] = { 0x00, 0xA4, 0x04, 0x00, 0x00, 0x01 };
    assert_int_equal (vc_apdu_parse (six, sizeof six, &apdu), VC_SW_WRONG_LENGTH);
    //  Extended Lc of zero, and over the card's limit.
    const uint8_t zero_lc [] = { 0x00, 0xDB, 0x3F, 0xFF, 0x00, 0x00, 0x00, 0x00 };
    assert_int_equal (vc_apdu_parse (zero_lc, sizeof zero_lc, &apdu), VC_SW_WRONG_LENGTH);
    size_t big = 7 + VC_APDU_DATA_MAX + 1;
    uint8_t *huge = calloc (1, big);
    huge [5] = (uint8_t) ((VC_APDU_DATA_MAX + 1) >> 8);
    huge [6] = (uint8_t) (VC_APDU_DATA_MAX + 1);
    assert_int_equal (vc_apdu_parse (huge, big, &apdu), VC_SW_WRONG_LENGTH);
    free (huge);
}

//  Every size from 0 to 300 over the same bytes parses or is refused,
//  and a parsed command's data stays inside the input.
static void
test_every_size (void **state)
{
    (void) state;
    for (size_t size = 0; size <= 300; size++) {
        for (int b4 = 0; b4 < 256; b4 += 17) {
            uint8_t *raw = malloc (size ? size : 1);
            memset (raw, 0x01, size);
            if (size > 4)
                raw [4] = (uint8_t) b4;
            vc_apdu_t apdu;
            if (vc_apdu_parse (raw, size, &apdu) == VC_SW_OK && apdu.lc)
                assert_true (apdu.data + apdu.lc <= raw + size);
            free (raw);
        }
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_short_cases),
        cmocka_unit_test (test_extended_cases),
        cmocka_unit_test (test_bad_lengths),
        cmocka_unit_test (test_every_size),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
