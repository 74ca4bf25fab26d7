/*  Unit tests for publisher_ocsp: each answer RFC 6960 asks for, from
    requests OpenSSL builds, checked with OpenSSL's own client functions
    (OCSP_resp_find_status, OCSP_check_nonce, OCSP_basic_verify). The CA,
    the responder and the certificates are made here, in memory.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "publisher_ocsp.h"

#define S_NOW 1800000000
#define S_REVOKED_AT 1790000000

typedef struct {
    EVP_PKEY *ca_key, *responder_key, *other_key;
    X509 *ca, *responder, *other_ca;
    X509_STORE *store;
    publisher_ocsp_signer_t signer;
    bool store_down;
} s_world_t;

static EVP_PKEY *
s_key (void)
{
    EVP_PKEY *key = EVP_EC_gen ("P-256");
    assert_non_null (key);
    return key;
}

static void
s_ext (X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx (&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *extension = X509V3_EXT_conf_nid (NULL, &ctx, nid, value);
    assert_non_null (extension);
    assert_true (X509_add_ext (cert, extension, -1));
    X509_EXTENSION_free (extension);
}

//  issuer NULL: self-signed. Valid from a day ago (so OpenSSL verifies
//  it today) to S_NOW - 1 day + days.
static X509 *
s_cert (const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, long serial,
        bool ca, bool responder, long days)
{
    X509 *cert = X509_new ();
    X509_NAME *name = X509_NAME_new ();
    assert_true (X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8,
                                             (const unsigned char *) cn, -1, -1, 0));
    assert_true (X509_set_version (cert, 2));
    assert_true (ASN1_INTEGER_set (X509_get_serialNumber (cert), serial));
    assert_true (X509_set_subject_name (cert, name));
    assert_true (X509_set_issuer_name (cert, issuer ? X509_get_subject_name (issuer) : name));
    assert_non_null (ASN1_TIME_set (X509_getm_notBefore (cert), time (NULL) - 86400));
    assert_non_null (ASN1_TIME_set (X509_getm_notAfter (cert), S_NOW - 86400 + days * 86400));
    assert_true (X509_set_pubkey (cert, key));
    if (ca) {
        s_ext (cert, cert, NID_basic_constraints, "critical,CA:TRUE");
        s_ext (cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    if (responder)
        s_ext (cert, issuer, NID_ext_key_usage, "OCSPSigning");
    assert_true (X509_sign (cert, issuer_key ? issuer_key : key, EVP_sha256 ()) > 0);
    X509_NAME_free (name);
    return cert;
}

static int
s_lookup (void *arg, const char *issuer_sha256, const char *serial_hex,
          publisher_cert_status_t *status)
{
    s_world_t *world = arg;
    assert_string_equal (issuer_sha256, "issuer-digest");
    if (world->store_down)
        return -1;
    status->rfc_reason = -1;
    status->revoked_at = 0;
    status->state = PUBLISHER_CERT_UNKNOWN;
    if (strcmp (serial_hex, "01") == 0)
        status->state = PUBLISHER_CERT_GOOD;
    else
    if (strcmp (serial_hex, "02") == 0) {
        status->state = PUBLISHER_CERT_REVOKED;
        status->rfc_reason = 1;                     //  keyCompromise
        status->revoked_at = S_REVOKED_AT;
    }
    else
    if (strcmp (serial_hex, "03") == 0) {
        status->state = PUBLISHER_CERT_ON_HOLD;
        status->rfc_reason = 6;
        status->revoked_at = S_REVOKED_AT;
    }
    else
    if (strcmp (serial_hex, "04") == 0) {
        status->state = PUBLISHER_CERT_REVOKED;     //  unspecified: no reason written
        status->rfc_reason = 0;
        status->revoked_at = S_REVOKED_AT;
    }
    return 0;
}

static int
s_setup (void **state)
{
    s_world_t *world = calloc (1, sizeof *world);
    world->ca_key = s_key ();
    world->responder_key = s_key ();
    world->other_key = s_key ();
    world->ca = s_cert ("Test Issuing CA", world->ca_key, NULL, NULL, 100, true, false, 3650);
    world->responder = s_cert ("Test OCSP", world->responder_key, world->ca, world->ca_key, 101,
                               false, true, 90);
    world->other_ca = s_cert ("Other CA", world->other_key, NULL, NULL, 200, true, false, 3650);
    world->store = X509_STORE_new ();
    assert_true (X509_STORE_add_cert (world->store, world->ca));
    world->signer = (publisher_ocsp_signer_t) {
        .issuer = world->ca, .issuer_sha256 = "issuer-digest",
        .responder = world->responder, .key = world->responder_key,
    };
    *state = world;
    return 0;
}

static int
s_teardown (void **state)
{
    s_world_t *world = *state;
    X509_STORE_free (world->store);
    X509_free (world->ca);
    X509_free (world->responder);
    X509_free (world->other_ca);
    EVP_PKEY_free (world->ca_key);
    EVP_PKEY_free (world->responder_key);
    EVP_PKEY_free (world->other_key);
    free (world);
    return 0;
}

static OCSP_CERTID *
s_id (X509 *issuer, long serial, const EVP_MD *digest)
{
    ASN1_INTEGER *number = ASN1_INTEGER_new ();
    ASN1_INTEGER_set (number, serial);
    OCSP_CERTID *id = OCSP_cert_id_new (digest, X509_get_subject_name (issuer),
                                        X509_get0_pubkey_bitstr (issuer), number);
    ASN1_INTEGER_free (number);
    assert_non_null (id);
    return id;
}

//  A request for serials of issuer; nonce_size 0: none.
static uint8_t *
s_request (X509 *issuer, const long *serials, int count, int nonce_size, size_t *size,
           OCSP_REQUEST **keep)
{
    OCSP_REQUEST *request = OCSP_REQUEST_new ();
    for (int i = 0; i < count; i++)
        assert_non_null (OCSP_request_add0_id (request, s_id (issuer, serials [i], EVP_sha1 ())));
    if (nonce_size)
        assert_true (OCSP_request_add1_nonce (request, NULL, nonce_size));
    unsigned char *der = NULL;
    int length = i2d_OCSP_REQUEST (request, &der);
    assert_true (length > 0);
    *size = (size_t) length;
    if (keep)
        *keep = request;
    else
        OCSP_REQUEST_free (request);
    return der;
}

static void
s_answer (s_world_t *world, const uint8_t *der, size_t size, publisher_ocsp_answer_t *answer)
{
    publisher_ocsp_respond (&world->signer, s_lookup, world, der, size, S_NOW, 3600, answer);
    assert_non_null (answer->der);
}

static OCSP_BASICRESP *
s_basic (s_world_t *world, const publisher_ocsp_answer_t *answer)
{
    const unsigned char *cursor = answer->der;
    OCSP_RESPONSE *response = d2i_OCSP_RESPONSE (NULL, &cursor, (long) answer->size);
    assert_non_null (response);
    assert_int_equal (OCSP_response_status (response), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    OCSP_BASICRESP *basic = OCSP_response_get1_basic (response);
    OCSP_RESPONSE_free (response);
    assert_non_null (basic);
    assert_int_equal (OCSP_basic_verify (basic, NULL, world->store, 0), 1);
    return basic;
}

static void
s_expect_error (s_world_t *world, const uint8_t *der, size_t size, publisher_ocsp_outcome_t outcome)
{
    publisher_ocsp_answer_t answer;
    publisher_ocsp_respond (&world->signer, s_lookup, world, der, size, S_NOW, 3600, &answer);
    const uint8_t expected [] = { 0x30, 0x03, 0x0a, 0x01, (uint8_t) outcome };
    assert_int_equal (answer.outcome, outcome);
    assert_int_equal (answer.size, sizeof expected);
    assert_memory_equal (answer.der, expected, sizeof expected);
    publisher_ocsp_answer_release (&answer);
}

static void
test_good_revoked_hold_unknown (void **state)
{
    s_world_t *world = *state;
    const long serials [] = { 1, 2, 3, 4, 5 };
    size_t size;
    uint8_t *der = s_request (world->ca, serials, 5, 0, &size, NULL);
    publisher_ocsp_answer_t answer;
    s_answer (world, der, size, &answer);
    assert_int_equal (answer.outcome, PUBLISHER_OCSP_SUCCESSFUL);
    assert_int_equal (answer.good, 1);
    assert_int_equal (answer.revoked, 3);
    assert_int_equal (answer.unknown, 1);
    assert_int_equal (answer.this_update, S_NOW);
    assert_int_equal (answer.next_update, S_NOW + 3600);
    assert_false (answer.nonce);
    OCSP_BASICRESP *basic = s_basic (world, &answer);
    const int expected_status [] = { V_OCSP_CERTSTATUS_GOOD, V_OCSP_CERTSTATUS_REVOKED,
                                     V_OCSP_CERTSTATUS_REVOKED, V_OCSP_CERTSTATUS_REVOKED,
                                     V_OCSP_CERTSTATUS_UNKNOWN };
    const int expected_reason [] = { -1, OCSP_REVOKED_STATUS_KEYCOMPROMISE,
                                     OCSP_REVOKED_STATUS_CERTIFICATEHOLD,
                                     OCSP_REVOKED_STATUS_NOSTATUS, -1 };
    for (int i = 0; i < 5; i++) {
        OCSP_CERTID *id = s_id (world->ca, serials [i], EVP_sha1 ());
        int status = -1, reason = -1;
        ASN1_GENERALIZEDTIME *revoked_at = NULL, *this_update = NULL, *next_update = NULL;
        assert_int_equal (OCSP_resp_find_status (basic, id, &status, &reason, &revoked_at,
                                                 &this_update, &next_update), 1);
        assert_int_equal (status, expected_status [i]);
        if (status == V_OCSP_CERTSTATUS_REVOKED) {
            assert_int_equal (reason, expected_reason [i]);
            ASN1_TIME *when = ASN1_TIME_set (NULL, S_REVOKED_AT);
            assert_int_equal (ASN1_TIME_compare (revoked_at, when), 0);
            ASN1_TIME_free (when);
        }
        ASN1_TIME *expected_this = ASN1_TIME_set (NULL, S_NOW);
        ASN1_TIME *expected_next = ASN1_TIME_set (NULL, S_NOW + 3600);
        assert_int_equal (ASN1_TIME_compare (this_update, expected_this), 0);
        assert_int_equal (ASN1_TIME_compare (next_update, expected_next), 0);
        ASN1_TIME_free (expected_this);
        ASN1_TIME_free (expected_next);
        OCSP_CERTID_free (id);
    }
    OCSP_BASICRESP_free (basic);
    publisher_ocsp_answer_release (&answer);
    OPENSSL_free (der);
}

static void
test_nonce_is_echoed_and_bounded (void **state)
{
    s_world_t *world = *state;
    const long serials [] = { 1 };
    for (int nonce = 1; nonce <= 33; nonce += 16) {
        size_t size;
        OCSP_REQUEST *request = NULL;
        uint8_t *der = s_request (world->ca, serials, 1, nonce, &size, &request);
        publisher_ocsp_answer_t answer;
        s_answer (world, der, size, &answer);
        if (nonce <= PUBLISHER_OCSP_NONCE_MAX) {
            assert_true (answer.nonce);
            OCSP_BASICRESP *basic = s_basic (world, &answer);
            assert_int_equal (OCSP_check_nonce (request, basic), 1);
            OCSP_BASICRESP_free (basic);
        }
        else
            assert_int_equal (answer.outcome, PUBLISHER_OCSP_MALFORMED);
        publisher_ocsp_answer_release (&answer);
        OCSP_REQUEST_free (request);
        OPENSSL_free (der);
    }
}

static void
test_malformed_requests (void **state)
{
    s_world_t *world = *state;
    const long serials [] = { 1, 2 };
    size_t size;
    uint8_t *der = s_request (world->ca, serials, 2, 16, &size, NULL);
    s_expect_error (world, (const uint8_t *) "garbage", 7, PUBLISHER_OCSP_MALFORMED);
    s_expect_error (world, der, 0, PUBLISHER_OCSP_MALFORMED);
    s_expect_error (world, NULL, 0, PUBLISHER_OCSP_MALFORMED);
    for (size_t cut = 1; cut < size; cut += 7)
        s_expect_error (world, der, size - cut, PUBLISHER_OCSP_MALFORMED);
    uint8_t *longer = calloc (1, size + 2);
    memcpy (longer, der, size);
    s_expect_error (world, longer, size + 2, PUBLISHER_OCSP_MALFORMED);
    uint8_t *huge = calloc (1, PUBLISHER_OCSP_REQUEST_MAX + 1);
    memcpy (huge, der, size);
    s_expect_error (world, huge, PUBLISHER_OCSP_REQUEST_MAX + 1, PUBLISHER_OCSP_MALFORMED);
    free (huge);
    free (longer);
    OPENSSL_free (der);
    //  No certificate at all, and one too many.
    der = s_request (world->ca, serials, 0, 0, &size, NULL);
    s_expect_error (world, der, size, PUBLISHER_OCSP_MALFORMED);
    OPENSSL_free (der);
    long many [PUBLISHER_OCSP_CERTS_MAX + 1];
    for (int i = 0; i <= PUBLISHER_OCSP_CERTS_MAX; i++)
        many [i] = 1;
    der = s_request (world->ca, many, PUBLISHER_OCSP_CERTS_MAX + 1, 0, &size, NULL);
    s_expect_error (world, der, size, PUBLISHER_OCSP_MALFORMED);
    OPENSSL_free (der);
    der = s_request (world->ca, many, PUBLISHER_OCSP_CERTS_MAX, 0, &size, NULL);
    publisher_ocsp_answer_t answer;
    s_answer (world, der, size, &answer);
    assert_int_equal (answer.outcome, PUBLISHER_OCSP_SUCCESSFUL);
    assert_int_equal (answer.good, PUBLISHER_OCSP_CERTS_MAX);
    publisher_ocsp_answer_release (&answer);
    OPENSSL_free (der);
}

static void
test_other_issuer_is_unauthorized (void **state)
{
    s_world_t *world = *state;
    const long serials [] = { 1 };
    size_t size;
    uint8_t *der = s_request (world->other_ca, serials, 1, 0, &size, NULL);
    s_expect_error (world, der, size, PUBLISHER_OCSP_UNAUTHORIZED);
    OPENSSL_free (der);
    //  One of ours and one of theirs: not authoritative for the request.
    OCSP_REQUEST *request = OCSP_REQUEST_new ();
    OCSP_request_add0_id (request, s_id (world->ca, 1, EVP_sha1 ()));
    OCSP_request_add0_id (request, s_id (world->other_ca, 1, EVP_sha1 ()));
    der = NULL;
    int length = i2d_OCSP_REQUEST (request, &der);
    s_expect_error (world, der, (size_t) length, PUBLISHER_OCSP_UNAUTHORIZED);
    OPENSSL_free (der);
    OCSP_REQUEST_free (request);
}

static void
test_sha256_cert_ids_are_answered (void **state)
{
    s_world_t *world = *state;
    OCSP_REQUEST *request = OCSP_REQUEST_new ();
    OCSP_request_add0_id (request, s_id (world->ca, 2, EVP_sha256 ()));
    unsigned char *der = NULL;
    int length = i2d_OCSP_REQUEST (request, &der);
    publisher_ocsp_answer_t answer;
    s_answer (world, der, (size_t) length, &answer);
    assert_int_equal (answer.outcome, PUBLISHER_OCSP_SUCCESSFUL);
    assert_int_equal (answer.revoked, 1);
    OCSP_BASICRESP *basic = s_basic (world, &answer);
    OCSP_CERTID *id = s_id (world->ca, 2, EVP_sha256 ());
    int status = -1;
    assert_int_equal (OCSP_resp_find_status (basic, id, &status, NULL, NULL, NULL, NULL), 1);
    assert_int_equal (status, V_OCSP_CERTSTATUS_REVOKED);
    OCSP_CERTID_free (id);
    OCSP_BASICRESP_free (basic);
    publisher_ocsp_answer_release (&answer);
    OPENSSL_free (der);
    OCSP_REQUEST_free (request);
}

static void
test_try_later_without_signer_or_store (void **state)
{
    s_world_t *world = *state;
    const long serials [] = { 1 };
    size_t size;
    uint8_t *der = s_request (world->ca, serials, 1, 0, &size, NULL);
    publisher_ocsp_answer_t answer;
    publisher_ocsp_respond (NULL, s_lookup, world, der, size, S_NOW, 3600, &answer);
    assert_int_equal (answer.outcome, PUBLISHER_OCSP_TRY_LATER);
    publisher_ocsp_answer_release (&answer);
    world->store_down = true;
    s_expect_error (world, der, size, PUBLISHER_OCSP_TRY_LATER);
    world->store_down = false;
    //  Malformed wins over not ready: the client must change its request.
    publisher_ocsp_respond (NULL, s_lookup, world, der, size - 1, S_NOW, 3600, &answer);
    assert_int_equal (answer.outcome, PUBLISHER_OCSP_MALFORMED);
    publisher_ocsp_answer_release (&answer);
    OPENSSL_free (der);
}

static void
test_next_update_stops_at_the_responder_not_after (void **state)
{
    s_world_t *world = *state;
    //  A responder certificate that ends 1 day after S_NOW - 1 day: at S_NOW.
    X509 *short_lived = s_cert ("Short OCSP", world->responder_key, world->ca, world->ca_key, 102,
                                false, true, 2);
    publisher_ocsp_signer_t signer = world->signer;
    signer.responder = short_lived;
    const long serials [] = { 1 };
    size_t size;
    uint8_t *der = s_request (world->ca, serials, 1, 0, &size, NULL);
    publisher_ocsp_answer_t answer;
    publisher_ocsp_respond (&signer, s_lookup, world, der, size, S_NOW, 7 * 86400, &answer);
    assert_int_equal (answer.outcome, PUBLISHER_OCSP_SUCCESSFUL);
    assert_int_equal (answer.next_update, S_NOW + 86400);
    publisher_ocsp_answer_release (&answer);
    OPENSSL_free (der);
    X509_free (short_lived);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_good_revoked_hold_unknown),
        cmocka_unit_test (test_nonce_is_echoed_and_bounded),
        cmocka_unit_test (test_malformed_requests),
        cmocka_unit_test (test_other_issuer_is_unauthorized),
        cmocka_unit_test (test_sha256_cert_ids_are_answered),
        cmocka_unit_test (test_try_later_without_signer_or_store),
        cmocka_unit_test (test_next_update_stops_at_the_responder_not_after),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
