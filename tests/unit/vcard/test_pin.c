/*  Unit tests for vc_pin: three tries, 63 CX counting down, 69 83 once
    blocked (and a blocked value is never compared, so even the right one
    fails), a right value restores the counter, and the 6-to-8-characters
    FF-padded format.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "vc_apdu.h"
#include "vc_pin.h"

static const uint8_t s_pin [VC_PIN_LEN] = { '1', '2', '3', '4', '5', '6', 0xFF, 0xFF };
static const uint8_t s_wrong [VC_PIN_LEN] = { '6', '5', '4', '3', '2', '1', 0xFF, 0xFF };

static void
test_counter_counts_down_and_blocks (void **state)
{
    (void) state;
    vc_pin_t pin = { 0 };
    vc_pin_set (&pin, s_pin);
    assert_int_equal (pin.tries_left, VC_PIN_TRIES);
    vc_pin_result_t result = vc_pin_check (&pin, s_wrong);
    assert_int_equal (result, VC_PIN_MISMATCH);
    assert_int_equal (vc_pin_sw (&pin, result), 0x63C2);
    result = vc_pin_check (&pin, s_wrong);
    assert_int_equal (vc_pin_sw (&pin, result), 0x63C1);
    result = vc_pin_check (&pin, s_wrong);
    assert_int_equal (vc_pin_sw (&pin, result), 0x63C0);
    assert_true (vc_pin_blocked (&pin));
    //  Blocked: the right value no longer opens it.
    result = vc_pin_check (&pin, s_pin);
    assert_int_equal (result, VC_PIN_BLOCKED);
    assert_int_equal (vc_pin_sw (&pin, result), VC_SW_AUTH_BLOCKED);
    assert_int_equal (pin.tries_left, 0);
    //  A reset (by the PUK) gives all tries back.
    vc_pin_set (&pin, s_pin);
    assert_false (vc_pin_blocked (&pin));
    assert_int_equal (vc_pin_check (&pin, s_pin), VC_PIN_MATCH);
}

static void
test_right_value_restores_counter (void **state)
{
    (void) state;
    vc_pin_t pin = { 0 };
    vc_pin_set (&pin, s_pin);
    assert_int_equal (vc_pin_check (&pin, s_wrong), VC_PIN_MISMATCH);
    assert_int_equal (vc_pin_check (&pin, s_wrong), VC_PIN_MISMATCH);
    assert_int_equal (pin.tries_left, 1);
    vc_pin_result_t result = vc_pin_check (&pin, s_pin);
    assert_int_equal (result, VC_PIN_MATCH);
    assert_int_equal (vc_pin_sw (&pin, result), VC_SW_OK);
    assert_int_equal (pin.tries_left, VC_PIN_TRIES);
}

static void
test_format (void **state)
{
    (void) state;
    const uint8_t six [8] = { '1', '2', '3', '4', '5', '6', 0xFF, 0xFF };
    const uint8_t eight [8] = { '1', '2', '3', '4', '5', '6', '7', '8' };
    const uint8_t five [8] = { '1', '2', '3', '4', '5', 0xFF, 0xFF, 0xFF };
    const uint8_t hole [8] = { '1', '2', '3', '4', '5', '6', 0xFF, '8' };
    const uint8_t letters [8] = { 'a', 'b', 'c', 'd', 'e', 'f', 0xFF, 0xFF };
    const uint8_t zero_pad [8] = { '1', '2', '3', '4', '5', '6', 0x00, 0x00 };
    assert_true (vc_pin_format_ok (six, true));
    assert_true (vc_pin_format_ok (eight, true));
    assert_false (vc_pin_format_ok (five, true));
    assert_false (vc_pin_format_ok (hole, true));
    assert_false (vc_pin_format_ok (letters, true));
    assert_true (vc_pin_format_ok (letters, false));
    assert_false (vc_pin_format_ok (zero_pad, true));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_counter_counts_down_and_blocks),
        cmocka_unit_test (test_right_value_restores_counter),
        cmocka_unit_test (test_format),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
