/*  Unit tests for tsr_audit_hash: the hash that chains audit rows. The
    canonical form in audit.h is a format other tools rely on to verify a
    chain, so besides the properties (every field counts, fields can not
    slide into each other) the tests rebuild it byte for byte and compare.
    tsr_audit_append and tsr_audit_verify need PostgreSQL: the integration
    tests cover them.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/audit.h"

#define S_DOMAIN        "tessera-audit-v1"
#define S_BIG_FIELD     70000   //  a length that needs three bytes

//  The entry the property tests start from; each test changes one thing.
static tsr_audit_entry_t
s_entry (void)
{
    tsr_audit_entry_t entry = {
        .seq = 42,
        .at_unix_us = INT64_C (1735689600123456),
        .actor = "ops/alice",
        .action = "ca.key_activated",
        .subject = "serial:01AB",
        .trace_id = "0123456789abcdef",
        .details = "{\"operators\":2}"
    };
    return entry;
}

static void
s_prev (uint8_t prev [TSR_AUDIT_HASH_SIZE])
{
    for (int i = 0; i < TSR_AUDIT_HASH_SIZE; i++)
        prev [i] = (uint8_t) i;
}

static void
s_hex (const uint8_t hash [TSR_AUDIT_HASH_SIZE], char hex [2 * TSR_AUDIT_HASH_SIZE + 1])
{
    for (int i = 0; i < TSR_AUDIT_HASH_SIZE; i++)
        snprintf (hex + 2 * i, 3, "%02x", hash [i]);
}

static void
s_assert_hash_hex (const uint8_t hash [TSR_AUDIT_HASH_SIZE], const char *expected)
{
    char hex [2 * TSR_AUDIT_HASH_SIZE + 1];
    s_hex (hash, hex);
    assert_string_equal (hex, expected);
}

static void
s_assert_differs (const uint8_t a [TSR_AUDIT_HASH_SIZE], const uint8_t b [TSR_AUDIT_HASH_SIZE],
                  const char *what)
{
    if (memcmp (a, b, TSR_AUDIT_HASH_SIZE) == 0)
        fail_msg ("changing %s did not change the hash", what);
}

//  Appends bytes to a growing canonical buffer (the test's own encoder).
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} s_buffer_t;

static void
s_put (s_buffer_t *buffer, const void *bytes, size_t len)
{
    if (buffer->len + len > buffer->cap) {
        size_t cap = buffer->cap ? buffer->cap : 256;
        while (cap < buffer->len + len)
            cap *= 2;
        buffer->data = realloc (buffer->data, cap);
        assert_non_null (buffer->data);
        buffer->cap = cap;
    }
    if (len)
        memcpy (buffer->data + buffer->len, bytes, len);
    buffer->len += len;
}

static void
s_put_u64_be (s_buffer_t *buffer, uint64_t value)
{
    uint8_t bytes [8];
    for (int i = 0; i < 8; i++)
        bytes [i] = (uint8_t) (value >> (56 - 8 * i));
    s_put (buffer, bytes, sizeof bytes);
}

static void
s_put_field (s_buffer_t *buffer, const char *text)
{
    uint32_t len = (uint32_t) strlen (text);
    uint8_t len_be [4] = {
        (uint8_t) (len >> 24), (uint8_t) (len >> 16), (uint8_t) (len >> 8), (uint8_t) len
    };
    s_put (buffer, len_be, sizeof len_be);
    s_put (buffer, text, len);
}

//  SHA-256 over the canonical form as audit.h documents it, built here
//  independently of audit.c.
static void
s_reference_hash (const tsr_audit_entry_t *entry, const uint8_t prev [TSR_AUDIT_HASH_SIZE],
                  uint8_t hash [TSR_AUDIT_HASH_SIZE])
{
    s_buffer_t buffer = { NULL, 0, 0 };
    s_put (&buffer, S_DOMAIN, strlen (S_DOMAIN));
    s_put (&buffer, "\0", 1);
    s_put_u64_be (&buffer, (uint64_t) entry->seq);
    s_put_u64_be (&buffer, (uint64_t) entry->at_unix_us);
    s_put_field (&buffer, entry->actor);
    s_put_field (&buffer, entry->action);
    s_put_field (&buffer, entry->subject);
    s_put_field (&buffer, entry->trace_id);
    s_put_field (&buffer, entry->details);
    s_put (&buffer, prev, TSR_AUDIT_HASH_SIZE);
    unsigned int hash_len = 0;
    assert_int_equal (EVP_Digest (buffer.data, buffer.len, hash, &hash_len, EVP_sha256 (), NULL),
                      1);
    assert_int_equal (hash_len, TSR_AUDIT_HASH_SIZE);
    free (buffer.data);
}

static void
test_deterministic (void **state)
{
    (void) state;
    tsr_audit_entry_t entry = s_entry ();
    uint8_t prev [TSR_AUDIT_HASH_SIZE], first [TSR_AUDIT_HASH_SIZE];
    uint8_t second [TSR_AUDIT_HASH_SIZE], third [TSR_AUDIT_HASH_SIZE];
    s_prev (prev);
    memset (first, 0, sizeof first);
    memset (second, 0xaa, sizeof second);
    tsr_audit_hash (&entry, prev, first);
    tsr_audit_hash (&entry, prev, second);
    assert_memory_equal (first, second, TSR_AUDIT_HASH_SIZE);

    //  Only the content counts, not where the strings live.
    char actor [] = "ops/alice", action [] = "ca.key_activated", subject [] = "serial:01AB";
    char trace_id [] = "0123456789abcdef", details [] = "{\"operators\":2}";
    tsr_audit_entry_t copy = {
        .seq = entry.seq, .at_unix_us = entry.at_unix_us, .actor = actor,
        .action = action, .subject = subject, .trace_id = trace_id, .details = details
    };
    tsr_audit_hash (&copy, prev, third);
    assert_memory_equal (first, third, TSR_AUDIT_HASH_SIZE);

    //  And the inputs are left as they were.
    uint8_t expected_prev [TSR_AUDIT_HASH_SIZE];
    s_prev (expected_prev);
    assert_memory_equal (prev, expected_prev, TSR_AUDIT_HASH_SIZE);
    assert_string_equal (entry.actor, "ops/alice");
}

static void
test_every_field_counts (void **state)
{
    (void) state;
    uint8_t prev [TSR_AUDIT_HASH_SIZE], base [TSR_AUDIT_HASH_SIZE], changed [TSR_AUDIT_HASH_SIZE];
    s_prev (prev);
    tsr_audit_entry_t entry = s_entry ();
    tsr_audit_hash (&entry, prev, base);

    entry = s_entry ();
    entry.seq = 43;
    tsr_audit_hash (&entry, prev, changed);
    s_assert_differs (base, changed, "seq");

    //  A high byte of seq, so the whole 8 bytes are covered.
    entry = s_entry ();
    entry.seq = 42 + (INT64_C (1) << 56);
    tsr_audit_hash (&entry, prev, changed);
    s_assert_differs (base, changed, "seq's high byte");

    entry = s_entry ();
    entry.at_unix_us += 1;
    tsr_audit_hash (&entry, prev, changed);
    s_assert_differs (base, changed, "at_unix_us");

    entry = s_entry ();
    entry.at_unix_us ^= INT64_C (1) << 62;
    tsr_audit_hash (&entry, prev, changed);
    s_assert_differs (base, changed, "at_unix_us's high byte");

    entry = s_entry ();
    entry.actor = "ops/alicf";
    tsr_audit_hash (&entry, prev, changed);
    s_assert_differs (base, changed, "actor");

    entry = s_entry ();
    entry.action = "ca.key_deactivated";
    tsr_audit_hash (&entry, prev, changed);
    s_assert_differs (base, changed, "action");

    entry = s_entry ();
    entry.subject = "serial:01AC";
    tsr_audit_hash (&entry, prev, changed);
    s_assert_differs (base, changed, "subject");

    entry = s_entry ();
    entry.trace_id = "0123456789abcdee";
    tsr_audit_hash (&entry, prev, changed);
    s_assert_differs (base, changed, "trace_id");

    entry = s_entry ();
    entry.details = "{\"operators\":3}";
    tsr_audit_hash (&entry, prev, changed);
    s_assert_differs (base, changed, "details");

    //  A field cut short by one byte.
    entry = s_entry ();
    entry.details = "{\"operators\":2";
    tsr_audit_hash (&entry, prev, changed);
    s_assert_differs (base, changed, "details' length");

    //  Every byte of the previous hash, one bit at a time.
    entry = s_entry ();
    for (int i = 0; i < TSR_AUDIT_HASH_SIZE; i++) {
        uint8_t other [TSR_AUDIT_HASH_SIZE];
        s_prev (other);
        other [i] ^= 0x01;
        tsr_audit_hash (&entry, other, changed);
        char what [32];
        snprintf (what, sizeof what, "prev_hash byte %d", i);
        s_assert_differs (base, changed, what);
    }
}

static void
test_length_prefix (void **state)
{
    (void) state;
    //  Without length prefixes these pairs would concatenate to the same
    //  bytes; with them, moving a boundary changes the hash.
    uint8_t prev [TSR_AUDIT_HASH_SIZE] = { 0 };
    uint8_t a [TSR_AUDIT_HASH_SIZE], b [TSR_AUDIT_HASH_SIZE];
    tsr_audit_entry_t entry = s_entry ();

    entry.actor = "ab";
    entry.action = "c";
    tsr_audit_hash (&entry, prev, a);
    entry.actor = "a";
    entry.action = "bc";
    tsr_audit_hash (&entry, prev, b);
    s_assert_differs (a, b, "the actor/action boundary");

    entry = s_entry ();
    entry.subject = "serial:01";
    entry.trace_id = "AB";
    tsr_audit_hash (&entry, prev, a);
    entry.subject = "serial:01AB";
    entry.trace_id = "";
    tsr_audit_hash (&entry, prev, b);
    s_assert_differs (a, b, "the subject/trace_id boundary");

    entry = s_entry ();
    entry.trace_id = "x";
    entry.details = "";
    tsr_audit_hash (&entry, prev, a);
    entry.trace_id = "";
    entry.details = "x";
    tsr_audit_hash (&entry, prev, b);
    s_assert_differs (a, b, "the trace_id/details boundary");

    //  The same bytes again with the boundary moved, where the bytes that
    //  cross it look like a length prefix.
    entry = s_entry ();
    entry.actor = "a";
    entry.action = "\x01\x01\x01\x01" "b";
    tsr_audit_hash (&entry, prev, a);
    entry.actor = "a\x01\x01\x01\x01";
    entry.action = "b";
    tsr_audit_hash (&entry, prev, b);
    s_assert_differs (a, b, "a prefix-looking boundary");
}

static void
test_null_is_empty (void **state)
{
    (void) state;
    //  A NULL text field is hashed as the empty string, so a row whose
    //  column reads back as "" verifies either way.
    uint8_t prev [TSR_AUDIT_HASH_SIZE] = { 0 };
    uint8_t with_null [TSR_AUDIT_HASH_SIZE], with_empty [TSR_AUDIT_HASH_SIZE];
    tsr_audit_entry_t entry = { .seq = 1, .at_unix_us = 5 };
    tsr_audit_hash (&entry, prev, with_null);
    entry.actor = entry.action = entry.subject = entry.trace_id = entry.details = "";
    tsr_audit_hash (&entry, prev, with_empty);
    assert_memory_equal (with_null, with_empty, TSR_AUDIT_HASH_SIZE);
}

static void
test_matches_documented_canonical_form (void **state)
{
    (void) state;
    uint8_t prev [TSR_AUDIT_HASH_SIZE], expected [TSR_AUDIT_HASH_SIZE];
    uint8_t hash [TSR_AUDIT_HASH_SIZE];

    //  A typical row with a non-zero previous hash.
    tsr_audit_entry_t entry = s_entry ();
    s_prev (prev);
    s_reference_hash (&entry, prev, expected);
    tsr_audit_hash (&entry, prev, hash);
    assert_memory_equal (hash, expected, TSR_AUDIT_HASH_SIZE);

    //  The first row: 32 zero bytes before it, empty fields.
    tsr_audit_entry_t first = { .seq = 1, .at_unix_us = 0, .actor = "", .action = "",
                                .subject = "", .trace_id = "", .details = "" };
    memset (prev, 0, sizeof prev);
    s_reference_hash (&first, prev, expected);
    tsr_audit_hash (&first, prev, hash);
    assert_memory_equal (hash, expected, TSR_AUDIT_HASH_SIZE);

    //  Negative numbers (two's complement, big-endian) and a field whose
    //  length needs three of the four prefix bytes.
    char *big = malloc (S_BIG_FIELD + 1);
    assert_non_null (big);
    memset (big, 'x', S_BIG_FIELD);
    big [S_BIG_FIELD] = '\0';
    tsr_audit_entry_t odd = { .seq = -1, .at_unix_us = -2, .actor = big, .action = "",
                              .subject = "", .trace_id = "", .details = "" };
    memset (prev, 0xff, sizeof prev);
    s_reference_hash (&odd, prev, expected);
    tsr_audit_hash (&odd, prev, hash);
    assert_memory_equal (hash, expected, TSR_AUDIT_HASH_SIZE);
    free (big);
}

static void
test_known_answers (void **state)
{
    (void) state;
    //  Digests computed outside C (a short script over the documented form),
    //  so a change to the format shows even if both encoders drift together.
    uint8_t prev [TSR_AUDIT_HASH_SIZE], hash [TSR_AUDIT_HASH_SIZE];
    tsr_audit_entry_t entry = s_entry ();
    s_prev (prev);
    tsr_audit_hash (&entry, prev, hash);
    s_assert_hash_hex (hash, "391bf87622ba4dddd30c9fbbf077d31c455d212e1754ba32cf655f89ff10a004");

    tsr_audit_entry_t first = { .seq = 1, .at_unix_us = 0, .actor = "", .action = "",
                                .subject = "", .trace_id = "", .details = "" };
    memset (prev, 0, sizeof prev);
    tsr_audit_hash (&first, prev, hash);
    s_assert_hash_hex (hash, "337126c12fda99a70132b178e907da5d924a0178e9ec7f4fbd58d384a15e9f55");

    char *big = malloc (S_BIG_FIELD + 1);
    assert_non_null (big);
    memset (big, 'x', S_BIG_FIELD);
    big [S_BIG_FIELD] = '\0';
    tsr_audit_entry_t odd = { .seq = -1, .at_unix_us = -2, .actor = big, .action = "",
                              .subject = "", .trace_id = "", .details = "" };
    memset (prev, 0xff, sizeof prev);
    tsr_audit_hash (&odd, prev, hash);
    s_assert_hash_hex (hash, "4d431a8fae44e726d50caa38090d614f810834d089b4ce4a61387e55dc0130a0");
    free (big);
}

static void
test_chain_links (void **state)
{
    (void) state;
    //  Three rows chained: changing the first row changes every later hash,
    //  which is what lets verify name the first broken row.
    tsr_audit_entry_t rows [3] = { s_entry (), s_entry (), s_entry () };
    rows [0].seq = 1;
    rows [1].seq = 2;
    rows [2].seq = 3;
    uint8_t hashes [3][TSR_AUDIT_HASH_SIZE], tampered [3][TSR_AUDIT_HASH_SIZE];
    uint8_t zero [TSR_AUDIT_HASH_SIZE] = { 0 };
    for (int i = 0; i < 3; i++)
        tsr_audit_hash (&rows [i], i ? hashes [i - 1] : zero, hashes [i]);
    rows [0].details = "{\"operators\":1}";
    for (int i = 0; i < 3; i++) {
        tsr_audit_hash (&rows [i], i ? tampered [i - 1] : zero, tampered [i]);
        s_assert_differs (hashes [i], tampered [i], "an earlier row");
    }
    //  Every row's hash is distinct from its neighbours'.
    s_assert_differs (hashes [0], hashes [1], "seq 1 to 2");
    s_assert_differs (hashes [1], hashes [2], "seq 2 to 3");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_deterministic),
        cmocka_unit_test (test_every_field_counts),
        cmocka_unit_test (test_length_prefix),
        cmocka_unit_test (test_null_is_empty),
        cmocka_unit_test (test_matches_documented_canonical_form),
        cmocka_unit_test (test_known_answers),
        cmocka_unit_test (test_chain_links),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
