/*  Unit tests for vc_tlv and vc_buf: BER-TLV reading stays inside its
    buffer whatever the bytes (tags of 1 to 3 bytes, lengths in short, 81
    and 82 forms; longer forms, indefinite lengths and values running past
    the end refused), and the writer encodes tags and lengths the way the
    reader reads them.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "vc_buf.h"
#include "vc_tlv.h"

static void
test_short_and_long_lengths (void **state)
{
    (void) state;
    const uint8_t one [] = { 0x53, 0x02, 0xAA, 0xBB };
    vc_tlv_t tlv;
    assert_int_equal (vc_tlv_single (one, sizeof one, &tlv), 0);
    assert_int_equal (tlv.tag, 0x53);
    assert_int_equal (tlv.len, 2);
    assert_ptr_equal (tlv.value, one + 2);
    assert_int_equal (tlv.total, 4);

    uint8_t long81 [3 + 200] = { 0x53, 0x81, 200 };
    assert_int_equal (vc_tlv_single (long81, sizeof long81, &tlv), 0);
    assert_int_equal (tlv.len, 200);

    uint8_t *long82 = calloc (1, 4 + 300);
    long82 [0] = 0x53;
    long82 [1] = 0x82;
    long82 [2] = 0x01;
    long82 [3] = 0x2C;
    assert_int_equal (vc_tlv_single (long82, 4 + 300, &tlv), 0);
    assert_int_equal (tlv.len, 300);
    //  One byte short: the value would run past the end.
    assert_int_equal (vc_tlv_single (long82, 4 + 299, &tlv), -1);
    free (long82);
}

static void
test_multibyte_tags (void **state)
{
    (void) state;
    const uint8_t cert_id [] = { 0x5C, 0x03, 0x5F, 0xC1, 0x05 };
    const uint8_t pubkey [] = { 0x7F, 0x49, 0x03, 0x86, 0x01, 0x04 };
    const uint8_t three [] = { 0x5F, 0xC1, 0x05, 0x00 };
    const uint8_t four [] = { 0x5F, 0xC1, 0x85, 0x05, 0x00 };
    vc_tlv_t tlv;
    assert_int_equal (vc_tlv_single (cert_id, sizeof cert_id, &tlv), 0);
    assert_int_equal (tlv.tag, 0x5C);
    assert_int_equal (vc_tlv_single (pubkey, sizeof pubkey, &tlv), 0);
    assert_int_equal (tlv.tag, 0x7F49);
    assert_int_equal (vc_tlv_check (tlv.value, tlv.len), 0);
    assert_int_equal (vc_tlv_single (three, sizeof three, &tlv), 0);
    assert_int_equal (tlv.tag, 0x5FC105);
    assert_int_equal (tlv.len, 0);
    //  A fourth tag byte is more than any PIV host sends.
    assert_int_equal (vc_tlv_single (four, sizeof four, &tlv), -1);
}

static void
test_malformed (void **state)
{
    (void) state;
    vc_tlv_t tlv;
    size_t pos = 0;
    const uint8_t indefinite [] = { 0x53, 0x80, 0x00, 0x00 };
    const uint8_t form83 [] = { 0x53, 0x83, 0x00, 0x00, 0x01, 0xAA };
    const uint8_t cut_tag [] = { 0x5F };
    const uint8_t cut_tag2 [] = { 0x5F, 0xC1 };
    const uint8_t no_len [] = { 0x53 };
    const uint8_t cut81 [] = { 0x53, 0x81 };
    const uint8_t cut82 [] = { 0x53, 0x82, 0x01 };
    const uint8_t trailing [] = { 0x53, 0x00, 0x00 };
    assert_int_equal (vc_tlv_single (indefinite, sizeof indefinite, &tlv), -1);
    assert_int_equal (vc_tlv_single (form83, sizeof form83, &tlv), -1);
    assert_int_equal (vc_tlv_single (cut_tag, sizeof cut_tag, &tlv), -1);
    assert_int_equal (vc_tlv_single (cut_tag2, sizeof cut_tag2, &tlv), -1);
    assert_int_equal (vc_tlv_single (no_len, sizeof no_len, &tlv), -1);
    assert_int_equal (vc_tlv_single (cut81, sizeof cut81, &tlv), -1);
    assert_int_equal (vc_tlv_single (cut82, sizeof cut82, &tlv), -1);
    assert_int_equal (vc_tlv_single (trailing, sizeof trailing, &tlv), -1);
    assert_int_equal (vc_tlv_check (trailing, sizeof trailing), -1);
    assert_int_equal (vc_tlv_next (NULL, 0, &pos, &tlv), -1);
    assert_int_equal (vc_tlv_next (trailing, 0, &pos, &tlv), -1);
    assert_int_equal (vc_tlv_check (NULL, 0), 0);
}

//  Every prefix of a valid template, and every one-byte change of it, is
//  read without leaving the buffer (the sanitizer build checks the reads).
static void
test_every_prefix_and_mutation (void **state)
{
    (void) state;
    const uint8_t template [] = {
        0x7C, 0x82, 0x00, 0x09, 0x82, 0x00, 0x81, 0x81, 0x04, 0x01, 0x02, 0x03, 0x04, 0x85
    };
    size_t len = sizeof template - 1;
    for (size_t cut = 0; cut <= len; cut++) {
        uint8_t *copy = malloc (cut ? cut : 1);
        memcpy (copy, template, cut);
        vc_tlv_t tlv;
        int rc = vc_tlv_single (copy, cut, &tlv);
        assert_int_equal (rc, cut == len ? 0 : -1);
        free (copy);
    }
    for (size_t at = 0; at < len; at++) {
        for (int value = 0; value < 256; value++) {
            uint8_t *copy = malloc (len);
            memcpy (copy, template, len);
            copy [at] = (uint8_t) value;
            vc_tlv_t tlv, inner;
            if (vc_tlv_single (copy, len, &tlv) == 0) {
                assert_true (tlv.value + tlv.len <= copy + len);
                (void) vc_tlv_find (tlv.value, tlv.len, 0x81, &inner);
            }
            free (copy);
        }
    }
}

static void
test_find (void **state)
{
    (void) state;
    const uint8_t siblings [] = { 0x80, 0x00, 0x81, 0x02, 0x11, 0x22, 0x82, 0x00 };
    vc_tlv_t tlv;
    assert_int_equal (vc_tlv_find (siblings, sizeof siblings, 0x81, &tlv), 0);
    assert_int_equal (tlv.len, 2);
    assert_int_equal (tlv.value [1], 0x22);
    assert_int_equal (vc_tlv_find (siblings, sizeof siblings, 0x85, &tlv), -1);
    //  A malformed sibling before the one sought makes the whole list bad.
    const uint8_t broken [] = { 0x80, 0x05, 0x81, 0x00 };
    assert_int_equal (vc_tlv_find (broken, sizeof broken, 0x81, &tlv), -1);
}

static void
test_writer_round_trip (void **state)
{
    (void) state;
    const size_t lengths [] = { 0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x1234 };
    const uint32_t tags [] = { 0x53, 0x7F49, 0x5FC105 };
    for (size_t t = 0; t < 3; t++) {
        for (size_t l = 0; l < sizeof lengths / sizeof lengths [0]; l++) {
            vc_buf_t buf;
            vc_buf_init (&buf, 8192);
            uint8_t *value = calloc (1, lengths [l] + 1);
            vc_buf_put_tl (&buf, tags [t], lengths [l]);
            vc_buf_put (&buf, value, lengths [l]);
            assert_false (buf.failed);
            vc_tlv_t tlv;
            assert_int_equal (vc_tlv_single (buf.data, buf.len, &tlv), 0);
            assert_int_equal (tlv.tag, tags [t]);
            assert_int_equal (tlv.len, lengths [l]);
            free (value);
            vc_buf_reset (&buf);
        }
    }
}

static void
test_buf_limit (void **state)
{
    (void) state;
    vc_buf_t buf;
    vc_buf_init (&buf, 10);
    const uint8_t bytes [8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    vc_buf_put (&buf, bytes, 8);
    assert_false (buf.failed);
    vc_buf_consume (&buf, 3);
    assert_int_equal (buf.len, 5);
    assert_int_equal (buf.data [0], 4);
    vc_buf_put (&buf, bytes, 5);
    assert_false (buf.failed);
    vc_buf_put_u8 (&buf, 9);
    assert_true (buf.failed);
    vc_buf_put_u8 (&buf, 9);
    assert_int_equal (buf.len, 10);
    vc_buf_reset (&buf);
    assert_false (buf.failed);
    assert_int_equal (buf.len, 0);
    vc_buf_put_tl (&buf, 0x53, 0x10000);
    assert_true (buf.failed);
    vc_buf_reset (&buf);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_short_and_long_lengths),
        cmocka_unit_test (test_multibyte_tags),
        cmocka_unit_test (test_malformed),
        cmocka_unit_test (test_every_prefix_and_mutation),
        cmocka_unit_test (test_find),
        cmocka_unit_test (test_writer_round_trip),
        cmocka_unit_test (test_buf_limit),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
