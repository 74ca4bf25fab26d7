/*  Unit tests for enrollment_on_validation_event: validation's decisions
    applied from its events. Without a database: other event types and
    payloads that do not decode are passed over (0) without touching it.

    With TSR_TEST_DSN (the enrollment service's runtime DSN) and
    TSR_TEST_VALIDATE, TSR_TEST_REJECT (two submitted card requests) and
    TSR_TEST_DECIDER (an operator id), the apply function is called as the
    event consumer calls it, inside a transaction, twice per event:
    tests/integration/test_enrollment.py sets these up and checks the
    result through the bus. Without them those tests are skipped.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enrollment.h"
#include "tessera/v1/validation.pb-c.h"

#define S_DECIDED_AT INT64_C (1767225600)     //  2026-01-01
#define S_REASON "pièce d'identité illisible"

static tsr_db_t *s_db;

static Tessera__V1__Event
s_event (const char *type, uint8_t *payload, size_t size)
{
    Tessera__V1__Event event = TESSERA__V1__EVENT__INIT;
    event.service = "validation";
    event.seq = 7;
    event.type = (char *) type;
    event.trace_id = "trace-decisions";
    event.occurred_at_unix_ms = 1700000000000;
    event.payload.data = payload;
    event.payload.len = size;
    return event;
}

//  Applies one event in its own transaction, as the consumer does.
static int
s_apply (const Tessera__V1__Event *event)
{
    assert_int_equal (tsr_db_begin (s_db), 0);
    int rc = enrollment_on_validation_event (NULL, s_db, event);
    if (rc == 0)
        assert_int_equal (tsr_db_commit (s_db), 0);
    else
        tsr_db_rollback (s_db);
    return rc;
}

static int
s_validated (const char *card_request_id)
{
    Tessera__V1__RequestValidated decision = TESSERA__V1__REQUEST_VALIDATED__INIT;
    decision.card_request_id = (char *) card_request_id;
    decision.decided_by_operator_id = getenv ("TSR_TEST_DECIDER");
    decision.decided_at_unix = S_DECIDED_AT;
    uint8_t payload [512];
    assert_true (tessera__v1__request_validated__get_packed_size (&decision) < sizeof payload);
    size_t size = tessera__v1__request_validated__pack (&decision, payload);
    Tessera__V1__Event event = s_event ("request.validated", payload, size);
    return s_apply (&event);
}

static int
s_rejected (const char *card_request_id)
{
    Tessera__V1__RequestRejected decision = TESSERA__V1__REQUEST_REJECTED__INIT;
    decision.card_request_id = (char *) card_request_id;
    decision.decided_by_operator_id = getenv ("TSR_TEST_DECIDER");
    decision.decided_at_unix = S_DECIDED_AT;
    decision.reason = S_REASON;
    uint8_t payload [512];
    size_t size = tessera__v1__request_rejected__pack (&decision, payload);
    Tessera__V1__Event event = s_event ("request.rejected", payload, size);
    return s_apply (&event);
}

//  One text value of a query with one parameter.
static void
s_value (const char *sql, const char *param, char *out, size_t size)
{
    const char *values [] = { param };
    PGresult *res = tsr_db_query (s_db, sql, 1, values);
    assert_non_null (res);
    assert_int_equal (PQntuples (res), 1);
    snprintf (out, size, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
}

static void
test_other_event_types_are_passed_over (void **state)
{
    (void) state;
    const char *types [] = { "request.created", "batch.submitted", "account.created", "" };
    for (size_t i = 0; i < sizeof types / sizeof types [0]; i++) {
        Tessera__V1__Event event = s_event (types [i], NULL, 0);
        //  No database: it must not be touched.
        assert_int_equal (enrollment_on_validation_event (NULL, NULL, &event), 0);
    }
}

static void
test_undecodable_payload_is_passed_over (void **state)
{
    (void) state;
    uint8_t garbage [] = { 0xff, 0xff, 0xff, 0x01 };
    Tessera__V1__Event validated = s_event ("request.validated", garbage, sizeof garbage);
    Tessera__V1__Event rejected = s_event ("request.rejected", garbage, sizeof garbage);
    assert_int_equal (enrollment_on_validation_event (NULL, NULL, &validated), 0);
    assert_int_equal (enrollment_on_validation_event (NULL, NULL, &rejected), 0);
}

static void
s_need_db (void)
{
    if (!s_db || !getenv ("TSR_TEST_VALIDATE") || !getenv ("TSR_TEST_REJECT") || !getenv ("TSR_TEST_DECIDER"))
        skip ();
}

static void
test_validation_applied_once (void **state)
{
    (void) state;
    s_need_db ();
    const char *id = getenv ("TSR_TEST_VALIDATE");
    char value [64];
    assert_int_equal (s_validated (id), 0);
    assert_int_equal (s_validated (id), 0);          //  again: nothing more
    s_value ("SELECT state FROM card_requests WHERE card_request_id = $1", id, value, sizeof value);
    assert_string_equal (value, "3");
    s_value ("SELECT count(*) FROM outbox WHERE type = 'card_request.changed' AND subject = $1", id,
             value, sizeof value);
    assert_string_equal (value, "1");
    //  A late, contradicting rejection changes nothing.
    assert_int_equal (s_rejected (id), 0);
    s_value ("SELECT state || ' ' || rejection_reason FROM card_requests WHERE card_request_id = $1",
             id, value, sizeof value);
    assert_string_equal (value, "3 ");
}

static void
test_rejection_applied_once (void **state)
{
    (void) state;
    s_need_db ();
    const char *id = getenv ("TSR_TEST_REJECT");
    char value [128];
    assert_int_equal (s_rejected (id), 0);
    assert_int_equal (s_rejected (id), 0);
    s_value ("SELECT state || ' ' || rejection_reason FROM card_requests WHERE card_request_id = $1",
             id, value, sizeof value);
    assert_string_equal (value, "4 " S_REASON);
    s_value ("SELECT count(*) FROM audit_log WHERE action = 'enrollment.card_request_rejected'"
             " AND subject = $1", id, value, sizeof value);
    assert_string_equal (value, "1");
    //  A late validation does not bring it back.
    assert_int_equal (s_validated (id), 0);
    s_value ("SELECT state FROM card_requests WHERE card_request_id = $1", id, value, sizeof value);
    assert_string_equal (value, "4");
}

static void
test_unknown_requests_are_passed_over (void **state)
{
    (void) state;
    s_need_db ();
    assert_int_equal (s_validated ("req-0000000000000000"), 0);
    assert_int_equal (s_rejected ("not a card request id'; --"), 0);
}

int
main (void)
{
    const char *dsn = getenv ("TSR_TEST_DSN");
    if (dsn && *dsn) {
        char err [512];
        s_db = tsr_db_new (dsn, "enrollment", err, sizeof err);
        if (!s_db) {
            fprintf (stderr, "cannot connect: %s\n", err);
            return 1;
        }
    }
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_other_event_types_are_passed_over),
        cmocka_unit_test (test_undecodable_payload_is_passed_over),
        cmocka_unit_test (test_validation_applied_once),
        cmocka_unit_test (test_rejection_applied_once),
        cmocka_unit_test (test_unknown_requests_are_passed_over),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    tsr_db_destroy (&s_db);
    return failed;
}
