/*  Unit tests for perso_tlv: BER-TLV as PIV cards send it, and what a
    malformed or truncated answer must never make us do (read past its end).
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "perso_tlv.h"

static void
test_reads_one_two_and_three_byte_tags_and_long_lengths (void **state)
{
    (void) state;
    uint8_t data [300] = { 0x53, 0x82, 0x01, 0x05, 0x70, 0x81, 0xFF };
    //  53 82 01 05 { 70 81 FF <255 bytes> 71 01 00 ... } (truncated body: 261 bytes)
    perso_tlv_t item;
    perso_tlv_reader_t reader = perso_tlv_reader (data, 4 + 0x105);
    assert_int_equal (perso_tlv_next (&reader, &item), 1);
    assert_int_equal (item.tag, 0x53);
    assert_int_equal (item.length, 0x105);
    assert_int_equal (perso_tlv_next (&reader, &item), 0);
    const uint8_t key [] = { 0x7F, 0x49, 0x03, 0x86, 0x01, 0x04 };
    assert_int_equal (perso_tlv_single (key, sizeof key, 0x7F49, &item), 1);
    assert_int_equal (item.length, 3);
    const uint8_t object [] = { 0x5F, 0xC1, 0x02, 0x00 };
    assert_int_equal (perso_tlv_single (object, sizeof object, 0x5FC102, &item), 1);
    assert_int_equal (item.length, 0);
}

static void
test_refuses_lengths_past_the_end_and_truncated_headers (void **state)
{
    (void) state;
    perso_tlv_t item;
    const uint8_t too_long [] = { 0x53, 0x05, 0x01, 0x02 };
    assert_int_equal (perso_tlv_single (too_long, sizeof too_long, 0x53, &item), -1);
    const uint8_t cut_length [] = { 0x53, 0x82, 0x01 };
    assert_int_equal (perso_tlv_single (cut_length, sizeof cut_length, 0x53, &item), -1);
    const uint8_t cut_tag [] = { 0x5F, 0xC1 };
    assert_int_equal (perso_tlv_single (cut_tag, sizeof cut_tag, 0x5FC1, &item), -1);
    const uint8_t four_byte_tag [] = { 0x5F, 0xC1, 0x81, 0x01, 0x00 };
    assert_int_equal (perso_tlv_single (four_byte_tag, sizeof four_byte_tag, 0, &item), -1);
    const uint8_t huge_length [] = { 0x53, 0x84, 0xFF, 0xFF, 0xFF, 0xFF };
    assert_int_equal (perso_tlv_single (huge_length, sizeof huge_length, 0x53, &item), -1);
    const uint8_t trailing [] = { 0x53, 0x00, 0x00 };
    assert_int_equal (perso_tlv_single (trailing, sizeof trailing, 0x53, &item), -1);
    const uint8_t other [] = { 0x54, 0x00 };
    assert_int_equal (perso_tlv_single (other, sizeof other, 0x53, &item), 0);
    assert_int_equal (perso_tlv_single (NULL, 0, 0x53, &item), 0);
}

static void
test_find_reports_a_malformed_sibling (void **state)
{
    (void) state;
    perso_tlv_t item;
    const uint8_t chuid [] = { 0x30, 0x01, 0xAA, 0x34, 0x02, 0xBB, 0xCC, 0xFE, 0x00 };
    assert_int_equal (perso_tlv_find (chuid, sizeof chuid, 0x34, &item), 1);
    assert_int_equal (item.length, 2);
    assert_int_equal (item.value [0], 0xBB);
    assert_int_equal (perso_tlv_find (chuid, sizeof chuid, 0x35, &item), 0);
    const uint8_t broken [] = { 0x34, 0x01, 0x01, 0xFE, 0x09 };
    assert_int_equal (perso_tlv_find (broken, sizeof broken, 0x34, &item), -1);
}

static void
test_writes_headers_in_the_shortest_form (void **state)
{
    (void) state;
    uint8_t header [6];
    assert_int_equal (perso_tlv_header (0x53, 0x7F, header), 2);
    assert_int_equal (perso_tlv_header (0x53, 0x80, header), 3);
    assert_int_equal (header [1], 0x81);
    assert_int_equal (perso_tlv_header (0x5FC105, 0x100, header), 6);
    assert_memory_equal (header, "\x5F\xC1\x05\x82\x01\x00", 6);
    assert_int_equal (perso_tlv_header (0x53, 70000, header), 0);
    perso_buf_t buf;
    perso_buf_init (&buf);
    uint8_t big [1000];
    memset (big, 0xAB, sizeof big);
    perso_buf_tlv (&buf, 0x70, big, sizeof big);
    perso_buf_tlv (&buf, 0xFE, NULL, 0);
    assert_false (buf.failed);
    assert_int_equal (buf.size, 4 + sizeof big + 2);
    perso_tlv_t item;
    assert_int_equal (perso_tlv_find (buf.data, buf.size, 0x70, &item), 1);
    assert_int_equal (item.length, sizeof big);
    perso_buf_free (&buf);
    perso_buf_tlv (&buf, 0x53, big, 70000);     //  too long: marked failed, nothing read
    assert_true (buf.failed);
    perso_buf_free (&buf);
}

//  Every prefix of a well-formed answer parses or is refused; none reads
//  past what it was given (ASan watches).
static void
test_every_truncation_is_refused_or_shorter (void **state)
{
    (void) state;
    const uint8_t answer [] = { 0x7C, 0x0A, 0x82, 0x08, 1, 2, 3, 4, 5, 6, 7, 8 };
    for (size_t size = 0; size < sizeof answer; size++) {
        uint8_t *copy = malloc (size ? size : 1);
        memcpy (copy, answer, size);
        perso_tlv_t outer, inner;
        int rc = perso_tlv_single (copy, size, 0x7C, &outer);
        if (rc == 1)
            rc = perso_tlv_single (outer.value, outer.length, 0x82, &inner);
        assert_true (rc <= 0);
        free (copy);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_reads_one_two_and_three_byte_tags_and_long_lengths),
        cmocka_unit_test (test_refuses_lengths_past_the_end_and_truncated_headers),
        cmocka_unit_test (test_find_reports_a_malformed_sibling),
        cmocka_unit_test (test_writes_headers_in_the_shortest_form),
        cmocka_unit_test (test_every_truncation_is_refused_or_shorter),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
