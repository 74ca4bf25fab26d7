/*  Unit tests for tsr_envelope: every frame a service receives goes through
    tsr_envelope_decode first, so the tests walk each bound it enforces and
    assert the exact status and reason a caller would get back.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tessera/bus.h"
#include "tessera/envelope.h"

#define S_ERR_SIZE  256

typedef struct {
    tsr_status_t status;
    char err [S_ERR_SIZE];
} s_refusal_t;

//  A NUL-terminated run of count copies of c, in a buffer of buffer_size.
static char *
s_repeat (char *buffer, size_t buffer_size, char c, size_t count)
{
    assert_true (count < buffer_size);
    memset (buffer, c, count);
    buffer [count] = '\0';
    return buffer;
}

//  A request that passes every bound; tests break one field at a time.
static tsr_envelope_t
s_valid_request (void)
{
    tsr_envelope_t envelope = TESSERA__V1__ENVELOPE__INIT;
    envelope.request_id = "req-1";
    envelope.method = "Ping";
    return envelope;
}

//  Encodes envelope, decodes it, and returns the decoded envelope (or NULL
//  with the refusal filled in).
static tsr_envelope_t *
s_round_trip (const tsr_envelope_t *envelope, s_refusal_t *refusal)
{
    size_t size = 0;
    uint8_t *data = tsr_envelope_encode (envelope, &size);
    assert_non_null (data);
    memset (refusal, 0, sizeof *refusal);
    refusal->status = TESSERA__V1__STATUS__STATUS_UNSPECIFIED;
    tsr_envelope_t *decoded = tsr_envelope_decode (data, size, &refusal->status,
                                                   refusal->err, sizeof refusal->err);
    free (data);
    return decoded;
}

//  Asserts that envelope is refused as malformed with exactly reason.
static void
s_assert_refused (const tsr_envelope_t *envelope, const char *reason)
{
    s_refusal_t refusal;
    tsr_envelope_t *decoded = s_round_trip (envelope, &refusal);
    if (decoded)
        tsr_envelope_free (&decoded);
    assert_null (decoded);
    assert_int_equal (refusal.status, TESSERA__V1__STATUS__STATUS_MALFORMED);
    assert_string_equal (refusal.err, reason);
}

//  Asserts that envelope decodes, and frees the result.
static void
s_assert_accepted (const tsr_envelope_t *envelope)
{
    s_refusal_t refusal;
    tsr_envelope_t *decoded = s_round_trip (envelope, &refusal);
    if (!decoded)
        fail_msg ("refused: %s", refusal.err);
    assert_int_equal (refusal.status, TESSERA__V1__STATUS__STATUS_OK);
    tsr_envelope_free (&decoded);
    assert_null (decoded);
}

//  Decodes raw bytes and asserts the refusal.
static void
s_assert_bytes_refused (const uint8_t *data, size_t size, tsr_status_t status,
                        const char *reason)
{
    tsr_status_t got = TESSERA__V1__STATUS__STATUS_UNSPECIFIED;
    char err [S_ERR_SIZE] = "";
    tsr_envelope_t *decoded = tsr_envelope_decode (data, size, &got, err, sizeof err);
    if (decoded)
        tsr_envelope_free (&decoded);
    assert_null (decoded);
    assert_int_equal (got, status);
    assert_string_equal (err, reason);
}

static void
test_round_trip_every_field (void **state)
{
    (void) state;
    //  Payload bytes include NUL and high bytes: it is binary, not text.
    uint8_t payload [] = { 0x00, 0x01, 0xff, 0x80, 'p', 'a', 'y', 0x00 };
    tsr_envelope_t envelope = TESSERA__V1__ENVELOPE__INIT;
    envelope.message_id = "0123456789abcdef0123456789abcdef";
    envelope.request_id = "Req.1_a:b-C";
    envelope.method = "IssueCertificate_v2";
    envelope.trace_id = "trace:42";
    envelope.payload.data = payload;
    envelope.payload.len = sizeof payload;
    envelope.status = TESSERA__V1__STATUS__STATUS_CONFLICT;
    envelope.status_message = "anything, even with spaces and \xc3\xa9";
    envelope.sent_at_unix_ms = INT64_C (1735689600123);
    envelope.is_reply = 0;

    s_refusal_t refusal;
    tsr_envelope_t *decoded = s_round_trip (&envelope, &refusal);
    if (!decoded)
        fail_msg ("refused: %s", refusal.err);
    assert_int_equal (refusal.status, TESSERA__V1__STATUS__STATUS_OK);
    assert_string_equal (decoded->message_id, envelope.message_id);
    assert_string_equal (decoded->request_id, envelope.request_id);
    assert_string_equal (decoded->method, envelope.method);
    assert_string_equal (decoded->trace_id, envelope.trace_id);
    assert_int_equal (decoded->payload.len, sizeof payload);
    assert_memory_equal (decoded->payload.data, payload, sizeof payload);
    assert_int_equal (decoded->status, TESSERA__V1__STATUS__STATUS_CONFLICT);
    assert_string_equal (decoded->status_message, envelope.status_message);
    assert_true (decoded->sent_at_unix_ms == INT64_C (1735689600123));
    assert_false (decoded->is_reply);
    tsr_envelope_free (&decoded);
    assert_null (decoded);
}

static void
test_round_trip_reply (void **state)
{
    (void) state;
    //  A reply is encoded with the same codec; the generated unpacker reads
    //  it back whole (tsr_envelope_decode is for requests and refuses it).
    tsr_envelope_t envelope = s_valid_request ();
    envelope.is_reply = 1;
    envelope.status = TESSERA__V1__STATUS__STATUS_INTERNAL;
    envelope.status_message = "see the log under the trace id";
    envelope.sent_at_unix_ms = -1;
    size_t size = 0;
    uint8_t *data = tsr_envelope_encode (&envelope, &size);
    assert_non_null (data);
    assert_true (size > 0);
    tsr_envelope_t *decoded = tessera__v1__envelope__unpack (NULL, size, data);
    free (data);
    assert_non_null (decoded);
    assert_true (decoded->is_reply);
    assert_int_equal (decoded->status, TESSERA__V1__STATUS__STATUS_INTERNAL);
    assert_string_equal (decoded->status_message, "see the log under the trace id");
    assert_true (decoded->sent_at_unix_ms == -1);
    assert_string_equal (decoded->request_id, "req-1");
    assert_string_equal (decoded->method, "Ping");
    tsr_envelope_free (&decoded);
}

static void
test_encode_empty (void **state)
{
    (void) state;
    //  An all-default envelope packs to zero bytes, but still a buffer.
    tsr_envelope_t envelope = TESSERA__V1__ENVELOPE__INIT;
    size_t size = 99;
    uint8_t *data = tsr_envelope_encode (&envelope, &size);
    assert_non_null (data);
    assert_int_equal (size, 0);
    free (data);
}

static void
test_free_null (void **state)
{
    (void) state;
    tsr_envelope_t *envelope = NULL;
    tsr_envelope_free (&envelope);
    tsr_envelope_free (NULL);
    assert_null (envelope);
}

static void
test_refuses_non_protobuf (void **state)
{
    (void) state;
    const char *reason = "not a tessera.v1.Envelope";
    tsr_status_t malformed = TESSERA__V1__STATUS__STATUS_MALFORMED;
    //  An unterminated varint tag.
    const uint8_t garbage [] = { 0xff, 0xff, 0xff, 0xff };
    s_assert_bytes_refused (garbage, sizeof garbage, malformed, reason);
    //  Plain text.
    const char *text = "GET / HTTP/1.1\r\n\r\n";
    s_assert_bytes_refused ((const uint8_t *) text, strlen (text), malformed, reason);
    //  request_id (field 2) sent as a varint instead of a string.
    const uint8_t wrong_type [] = { 0x10, 0x01 };
    s_assert_bytes_refused (wrong_type, sizeof wrong_type, malformed, reason);
    //  A length prefix running past the end of the frame.
    const uint8_t overrun [] = { 0x12, 0x10, 'a', 'b' };
    s_assert_bytes_refused (overrun, sizeof overrun, malformed, reason);

    //  A valid request cut short in its payload.
    tsr_envelope_t envelope = s_valid_request ();
    uint8_t payload [32];
    memset (payload, 0x5a, sizeof payload);
    envelope.payload.data = payload;
    envelope.payload.len = sizeof payload;
    size_t size = 0;
    uint8_t *data = tsr_envelope_encode (&envelope, &size);
    assert_non_null (data);
    s_assert_bytes_refused (data, size - 1, malformed, reason);
    free (data);
}

static void
test_empty_frame (void **state)
{
    (void) state;
    //  Zero bytes is a valid all-default protobuf: it fails on request_id.
    const uint8_t nothing [1] = { 0 };
    s_assert_bytes_refused (nothing, 0, TESSERA__V1__STATUS__STATUS_MALFORMED,
                            "request_id must be 1 to 128 characters of [A-Za-z0-9._:-]");
    s_assert_bytes_refused (NULL, 0, TESSERA__V1__STATUS__STATUS_MALFORMED,
                            "request_id must be 1 to 128 characters of [A-Za-z0-9._:-]");
}

static void
test_unknown_fields_tolerated (void **state)
{
    (void) state;
    //  Fields are added to the public API over time: an older decoder must
    //  accept a frame carrying a field number it does not know.
    tsr_envelope_t envelope = s_valid_request ();
    size_t size = 0;
    uint8_t *data = tsr_envelope_encode (&envelope, &size);
    assert_non_null (data);
    uint8_t *longer = malloc (size + 3);
    assert_non_null (longer);
    memcpy (longer, data, size);
    longer [size] = 0xa0;       //  field 100, varint: tag 800 = 0xa0 0x06
    longer [size + 1] = 0x06;
    longer [size + 2] = 0x07;
    tsr_status_t status = TESSERA__V1__STATUS__STATUS_UNSPECIFIED;
    char err [S_ERR_SIZE] = "";
    tsr_envelope_t *decoded = tsr_envelope_decode (longer, size + 3, &status, err, sizeof err);
    free (data);
    free (longer);
    assert_non_null (decoded);
    assert_int_equal (status, TESSERA__V1__STATUS__STATUS_OK);
    assert_string_equal (decoded->method, "Ping");
    tsr_envelope_free (&decoded);
}

static void
test_size_bound (void **state)
{
    (void) state;
    //  Build a request whose packed size is exactly TSR_ENVELOPE_MAX_BYTES.
    tsr_envelope_t envelope = s_valid_request ();
    uint8_t *payload = calloc (1, TSR_ENVELOPE_MAX_BYTES);
    assert_non_null (payload);
    envelope.payload.data = payload;
    envelope.payload.len = TSR_ENVELOPE_MAX_BYTES - 100;
    size_t packed = tessera__v1__envelope__get_packed_size (&envelope);
    envelope.payload.len += TSR_ENVELOPE_MAX_BYTES - packed;
    assert_int_equal (tessera__v1__envelope__get_packed_size (&envelope),
                      TSR_ENVELOPE_MAX_BYTES);
    s_assert_accepted (&envelope);

    //  One byte more is refused before any parsing.
    envelope.payload.len++;
    size_t size = 0;
    uint8_t *data = tsr_envelope_encode (&envelope, &size);
    assert_non_null (data);
    assert_int_equal (size, TSR_ENVELOPE_MAX_BYTES + 1);
    char reason [64];
    snprintf (reason, sizeof reason, "message larger than %d bytes", TSR_ENVELOPE_MAX_BYTES);
    s_assert_bytes_refused (data, size, TESSERA__V1__STATUS__STATUS_RESOURCE_EXHAUSTED,
                            reason);
    free (data);
    free (payload);
}

static void
test_request_id_bounds (void **state)
{
    (void) state;
    const char *reason = "request_id must be 1 to 128 characters of [A-Za-z0-9._:-]";
    char id [TSR_REQUEST_ID_MAX + 2];
    tsr_envelope_t envelope = s_valid_request ();

    envelope.request_id = "";
    s_assert_refused (&envelope, reason);
    envelope.request_id = s_repeat (id, sizeof id, 'a', TSR_REQUEST_ID_MAX + 1);
    s_assert_refused (&envelope, reason);
    envelope.request_id = s_repeat (id, sizeof id, 'a', TSR_REQUEST_ID_MAX);
    s_assert_accepted (&envelope);
    envelope.request_id = "a";
    s_assert_accepted (&envelope);
    envelope.request_id = "AZaz09._:-";
    s_assert_accepted (&envelope);

    const char *bad [] = { "has space", "slash/", "plus+", "eq=", "at@", "new\nline",
                           "caf\xc3\xa9", "quote\"", "pct%" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        envelope.request_id = (char *) bad [i];
        s_assert_refused (&envelope, reason);
    }
}

static void
test_method_bounds (void **state)
{
    (void) state;
    const char *reason =
        "method must be 1 to 64 characters of [A-Za-z0-9_], starting with a letter";
    char method [TSR_METHOD_MAX + 2];
    tsr_envelope_t envelope = s_valid_request ();

    envelope.method = "";
    s_assert_refused (&envelope, reason);
    envelope.method = s_repeat (method, sizeof method, 'M', TSR_METHOD_MAX + 1);
    s_assert_refused (&envelope, reason);
    envelope.method = s_repeat (method, sizeof method, 'M', TSR_METHOD_MAX);
    s_assert_accepted (&envelope);
    envelope.method = "p";
    s_assert_accepted (&envelope);
    envelope.method = "List_Events2";
    s_assert_accepted (&envelope);

    //  Characters a request id may hold but a method may not, and a first
    //  character that is not a letter.
    const char *bad [] = { "1Ping", "_Ping", "Pi.ng", "Pi-ng", "Pi:ng", "Pi ng", "Ping\n",
                           "P\xc3\xa9" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        envelope.method = (char *) bad [i];
        s_assert_refused (&envelope, reason);
    }
}

static void
test_trace_id_bounds (void **state)
{
    (void) state;
    const char *reason = "trace_id must be at most 64 characters of [A-Za-z0-9._:-]";
    char trace [TSR_TRACE_ID_MAX + 2];
    tsr_envelope_t envelope = s_valid_request ();

    //  Optional: a request without one is accepted.
    envelope.trace_id = "";
    s_assert_accepted (&envelope);
    envelope.trace_id = s_repeat (trace, sizeof trace, 'f', TSR_TRACE_ID_MAX);
    s_assert_accepted (&envelope);
    envelope.trace_id = s_repeat (trace, sizeof trace, 'f', TSR_TRACE_ID_MAX + 1);
    s_assert_refused (&envelope, reason);
    envelope.trace_id = "trace id";
    s_assert_refused (&envelope, reason);
    envelope.trace_id = "trace/1";
    s_assert_refused (&envelope, reason);
}

static void
test_message_id_bounds (void **state)
{
    (void) state;
    const char *reason = "message_id must be at most 128 characters of [A-Za-z0-9._:-]";
    char id [TSR_REQUEST_ID_MAX + 2];
    tsr_envelope_t envelope = s_valid_request ();

    envelope.message_id = "";
    s_assert_accepted (&envelope);
    envelope.message_id = s_repeat (id, sizeof id, '0', TSR_REQUEST_ID_MAX);
    s_assert_accepted (&envelope);
    envelope.message_id = s_repeat (id, sizeof id, '0', TSR_REQUEST_ID_MAX + 1);
    s_assert_refused (&envelope, reason);
    envelope.message_id = "msg#1";
    s_assert_refused (&envelope, reason);
}

static void
test_reply_refused (void **state)
{
    (void) state;
    tsr_envelope_t envelope = s_valid_request ();
    envelope.is_reply = 1;
    s_assert_refused (&envelope, "a reply was sent as a request");
}

static void
test_first_problem_reported (void **state)
{
    (void) state;
    //  Several bounds broken at once: the reason names the first checked,
    //  request_id, then method, then trace_id, then message_id, then is_reply.
    tsr_envelope_t envelope = s_valid_request ();
    envelope.request_id = "";
    envelope.method = "9";
    envelope.trace_id = "bad trace";
    envelope.message_id = "bad message";
    envelope.is_reply = 1;
    s_assert_refused (&envelope, "request_id must be 1 to 128 characters of [A-Za-z0-9._:-]");
    envelope.request_id = "r";
    s_assert_refused (&envelope,
        "method must be 1 to 64 characters of [A-Za-z0-9_], starting with a letter");
    envelope.method = "Ping";
    s_assert_refused (&envelope, "trace_id must be at most 64 characters of [A-Za-z0-9._:-]");
    envelope.trace_id = "t";
    s_assert_refused (&envelope,
        "message_id must be at most 128 characters of [A-Za-z0-9._:-]");
    envelope.message_id = "m";
    s_assert_refused (&envelope, "a reply was sent as a request");
    envelope.is_reply = 0;
    s_assert_accepted (&envelope);
}

static void
test_err_truncated (void **state)
{
    (void) state;
    //  A short err buffer gets a truncated, terminated reason.
    const uint8_t garbage [] = { 0xff, 0xff, 0xff };
    tsr_status_t status = TESSERA__V1__STATUS__STATUS_UNSPECIFIED;
    char err [8];
    memset (err, 'x', sizeof err);
    assert_null (tsr_envelope_decode (garbage, sizeof garbage, &status, err, sizeof err));
    assert_string_equal (err, "not a t");
    assert_int_equal (status, TESSERA__V1__STATUS__STATUS_MALFORMED);
}

static void
test_id_valid (void **state)
{
    (void) state;
    char text [TSR_REQUEST_ID_MAX + 2];
    assert_false (tsr_id_valid (NULL, 10));
    assert_false (tsr_id_valid ("", 10));
    assert_false (tsr_id_valid ("a", 0));
    assert_true (tsr_id_valid ("a", 1));
    assert_false (tsr_id_valid ("ab", 1));
    assert_true (tsr_id_valid (s_repeat (text, sizeof text, 'z', 128), 128));
    assert_false (tsr_id_valid (s_repeat (text, sizeof text, 'z', 129), 128));
    assert_true (tsr_id_valid ("abcdefghijklmnopqrstuvwxyz", 64));
    assert_true (tsr_id_valid ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 64));
    assert_true (tsr_id_valid ("0123456789", 64));
    assert_true (tsr_id_valid ("._:-", 64));
    assert_true (tsr_id_valid ("-", 64));

    //  Each character next to an allowed range in ASCII, and a few others.
    const char *bad [] = { " ", "/", ";", "@", "[", "`", "{", "~", "+", ",", "!", "#",
                           "\t", "\n", "\x7f", "\x80", "\xff", "a b", "id\r" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        if (tsr_id_valid (bad [i], 64))
            fail_msg ("accepted bad id #%zu", i);
}

static void
test_random_id (void **state)
{
    (void) state;
    char first [TSR_ID_HEX_SIZE], second [TSR_ID_HEX_SIZE];
    memset (first, 'X', sizeof first);
    memset (second, 'X', sizeof second);
    tsr_random_id (first);
    tsr_random_id (second);
    assert_int_equal (strlen (first), 32);
    assert_int_equal (strlen (second), 32);
    for (size_t i = 0; i < 32; i++) {
        char c = first [i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            fail_msg ("not lower-case hex: %s", first);
    }
    assert_string_not_equal (first, second);
    //  Fit for a request id or a message id.
    assert_true (tsr_id_valid (first, TSR_REQUEST_ID_MAX));
}

static void
test_now_ms (void **state)
{
    (void) state;
    int64_t before = (int64_t) time (NULL) * 1000;
    int64_t now = tsr_now_ms ();
    int64_t after = ((int64_t) time (NULL) + 1) * 1000;
    assert_true (now >= before && now <= after);
}

static void
test_status_name (void **state)
{
    (void) state;
    assert_string_equal (tsr_status_name (TESSERA__V1__STATUS__STATUS_UNSPECIFIED),
                         "UNSPECIFIED");
    assert_string_equal (tsr_status_name (TESSERA__V1__STATUS__STATUS_OK), "OK");
    assert_string_equal (tsr_status_name (TESSERA__V1__STATUS__STATUS_MALFORMED), "MALFORMED");
    assert_string_equal (tsr_status_name (TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT),
                         "INVALID_ARGUMENT");
    assert_string_equal (tsr_status_name (TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED),
                         "PERMISSION_DENIED");
    assert_string_equal (tsr_status_name (TESSERA__V1__STATUS__STATUS_RESOURCE_EXHAUSTED),
                         "RESOURCE_EXHAUSTED");
    assert_string_equal (tsr_status_name (TESSERA__V1__STATUS__STATUS_INTERNAL), "INTERNAL");
    //  Every declared value has a name of its own.
    for (int value = 0; value <= TESSERA__V1__STATUS__STATUS_INTERNAL; value++) {
        const char *name = tsr_status_name ((tsr_status_t) value);
        assert_string_not_equal (name, "UNKNOWN");
        assert_null (strstr (name, "STATUS_"));
    }
    assert_string_equal (tsr_status_name ((tsr_status_t) (TESSERA__V1__STATUS__STATUS_INTERNAL + 1)),
                         "UNKNOWN");
    assert_string_equal (tsr_status_name ((tsr_status_t) 9999), "UNKNOWN");
    assert_string_equal (tsr_status_name ((tsr_status_t) -1), "UNKNOWN");
}

//  tsr_message_pack: an empty message still gets a buffer (size 0); a
//  filled one unpacks back to the same fields.
static void
test_message_pack (void **state)
{
    (void) state;
    Tessera__V1__Envelope empty = TESSERA__V1__ENVELOPE__INIT;
    size_t size = 99;
    uint8_t *packed = tsr_message_pack (&empty.base, &size);
    assert_non_null (packed);
    assert_int_equal (size, 0);
    free (packed);
    Tessera__V1__Envelope envelope = TESSERA__V1__ENVELOPE__INIT;
    envelope.method = "Ping";
    envelope.request_id = "0123456789abcdef0123456789abcdef";
    packed = tsr_message_pack (&envelope.base, &size);
    assert_non_null (packed);
    assert_int_equal (size, tessera__v1__envelope__get_packed_size (&envelope));
    Tessera__V1__Envelope *back = tessera__v1__envelope__unpack (NULL, size, packed);
    assert_non_null (back);
    assert_string_equal (back->method, "Ping");
    assert_string_equal (back->request_id, envelope.request_id);
    tessera__v1__envelope__free_unpacked (back, NULL);
    free (packed);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_round_trip_every_field),
        cmocka_unit_test (test_message_pack),
        cmocka_unit_test (test_round_trip_reply),
        cmocka_unit_test (test_encode_empty),
        cmocka_unit_test (test_free_null),
        cmocka_unit_test (test_refuses_non_protobuf),
        cmocka_unit_test (test_empty_frame),
        cmocka_unit_test (test_unknown_fields_tolerated),
        cmocka_unit_test (test_size_bound),
        cmocka_unit_test (test_request_id_bounds),
        cmocka_unit_test (test_method_bounds),
        cmocka_unit_test (test_trace_id_bounds),
        cmocka_unit_test (test_message_id_bounds),
        cmocka_unit_test (test_reply_refused),
        cmocka_unit_test (test_first_problem_reported),
        cmocka_unit_test (test_err_truncated),
        cmocka_unit_test (test_id_valid),
        cmocka_unit_test (test_random_id),
        cmocka_unit_test (test_now_ms),
        cmocka_unit_test (test_status_name),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
