/*  Unit tests for tsr_peer: the configuration a peer is made from (its
    errors name the variable to fix), a call nobody answers (UNAVAILABLE,
    naming the peer and the method, after the configured attempts), and
    the reading of a reply envelope (a refusal's status and message passed
    on, a payload decoded, one that does not decode told apart).
    Calls between real services are in tests/integration.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/peer.h"
#include "tessera/v1/ca.pb-c.h"

#define S_ERR_SIZE 512

typedef struct {
    char dir [64];              //  the keyring: ca.cert, the ca's public certificate
    char config_path [96];
    zcert_t *self_cert;         //  the calling service's
} s_fixture_t;

static int
s_setup (void **state)
{
    s_fixture_t *fixture = calloc (1, sizeof *fixture);
    assert_non_null (fixture);
    snprintf (fixture->dir, sizeof fixture->dir, "/tmp/tsr_peer_test_XXXXXX");
    assert_non_null (mkdtemp (fixture->dir));
    zcert_t *server = zcert_new ();
    assert_non_null (server);
    char path [128];
    snprintf (path, sizeof path, "%s/ca.cert", fixture->dir);
    assert_int_equal (zcert_save_public (server, path), 0);
    zcert_destroy (&server);
    fixture->self_cert = zcert_new ();
    assert_non_null (fixture->self_cert);
    snprintf (fixture->config_path, sizeof fixture->config_path, "%s/tessera.conf",
              fixture->dir);
    *state = fixture;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *fixture = *state;
    char path [128];
    snprintf (path, sizeof path, "%s/ca.cert", fixture->dir);
    unlink (path);
    unlink (fixture->config_path);
    rmdir (fixture->dir);
    zcert_destroy (&fixture->self_cert);
    free (fixture);
    return 0;
}

//  A config holding only the lines given (the environment's TSR_CA_* and
//  TSR_KEYRING_DIR unset).
static tsr_config_t *
s_config (s_fixture_t *fixture, const char *lines)
{
    static const char *keys [] = { "TSR_CONFIG_FILE", "TSR_KEYRING_DIR", "TSR_CA_ENDPOINT",
                                   "TSR_CA_CERT", "TSR_CA_TIMEOUT_MS" };
    for (size_t i = 0; i < sizeof keys / sizeof keys [0]; i++)
        unsetenv (keys [i]);
    FILE *file = fopen (fixture->config_path, "w");
    assert_non_null (file);
    assert_true (fputs (lines, file) >= 0);
    assert_int_equal (fclose (file), 0);
    char err [S_ERR_SIZE] = "";
    tsr_config_t *config = tsr_config_new (err, sizeof err);
    assert_non_null (config);
    if (tsr_config_load_file (config, fixture->config_path, err, sizeof err))
        fail_msg ("config: %s", err);
    return config;
}

//  Each configuration error says which variable to fix.
static void
test_configuration_errors (void **state)
{
    s_fixture_t *fixture = *state;
    struct {
        bool keyring;           //  the fixture's keyring first
        const char *lines;
        const char *err_part;
    } cases [] = {
        //  The default certificate path is the keyring's ca.cert.
        { false, "TSR_KEYRING_DIR=/nonexistent\n", "TSR_CA_CERT" },
        { true, "TSR_CA_CERT=/nonexistent/ca.cert\n", "/nonexistent/ca.cert" },
        { true, "TSR_CA_TIMEOUT_MS=50\n", "TSR_CA_TIMEOUT_MS" },
        { true, "TSR_CA_TIMEOUT_MS=ten\n", "TSR_CA_TIMEOUT_MS" },
        { true, "TSR_CA_TIMEOUT_MS=600001\n", "TSR_CA_TIMEOUT_MS" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char lines [256];
        snprintf (lines, sizeof lines, "%s%s%s%s", cases [i].keyring ? "TSR_KEYRING_DIR=" : "",
                  cases [i].keyring ? fixture->dir : "", cases [i].keyring ? "\n" : "",
                  cases [i].lines);
        tsr_config_t *config = s_config (fixture, lines);
        char err [S_ERR_SIZE] = "";
        tsr_peer_t *peer = tsr_peer_new_configured (config, "ca", fixture->self_cert, 1000, 0,
                                                    err, sizeof err);
        if (peer)
            fail_msg ("case %zu: a peer was made", i);
        if (!strstr (err, cases [i].err_part))
            fail_msg ("case %zu: err \"%s\" does not say %s", i, err, cases [i].err_part);
        tsr_config_destroy (&config);
    }
}

//  A peer configured from the keyring, whose service does not answer: the
//  call is UNAVAILABLE, says who did not answer what, and takes about the
//  configured timeout per attempt (two attempts here).
static void
test_unanswered_call (void **state)
{
    s_fixture_t *fixture = *state;
    char lines [256];
    snprintf (lines, sizeof lines,
              "TSR_KEYRING_DIR=%s\nTSR_CA_ENDPOINT=tcp://127.0.0.1:9\nTSR_CA_TIMEOUT_MS=200\n",
              fixture->dir);
    tsr_config_t *config = s_config (fixture, lines);
    char err [S_ERR_SIZE] = "";
    tsr_peer_t *peer = tsr_peer_new_configured (config, "ca", fixture->self_cert, 5000, 1,
                                                err, sizeof err);
    if (!peer)
        fail_msg ("no peer: %s", err);
    Tessera__V1__GetCertificateRequest request = TESSERA__V1__GET_CERTIFICATE_REQUEST__INIT;
    request.serial_hex = "0102";
    ProtobufCMessage *reply = (ProtobufCMessage *) 1;
    char message [256] = "";
    int64_t started = zclock_mono ();
    tsr_status_t status = tsr_peer_call (peer, "GetCertificate", &request.base,
                                         &tessera__v1__certificate_record__descriptor,
                                         NULL, NULL, &reply, message, sizeof message);
    int64_t elapsed = zclock_mono () - started;
    assert_int_equal (status, TESSERA__V1__STATUS__STATUS_UNAVAILABLE);
    assert_null (reply);
    assert_string_equal (message, "ca did not answer GetCertificate");
    //  Two attempts of 200 ms, not the 5 000 ms default: the configuration
    //  was read. Generous bounds: this checks the setting, not the timing.
    assert_true (elapsed >= 350);
    assert_true (elapsed < 4000);
    tsr_peer_destroy (&peer);
    assert_null (peer);
    tsr_peer_destroy (&peer);       //  NULL is fine
    tsr_config_destroy (&config);
}

//  A reply envelope: a refusal's status and message as sent; a payload
//  decoded; one that does not decode is OK with no reply.
static void
test_unpack_reply (void **state)
{
    (void) state;
    tsr_envelope_t envelope = TESSERA__V1__ENVELOPE__INIT;
    ProtobufCMessage *reply = (ProtobufCMessage *) 1;
    char message [128] = "";
    envelope.status = TESSERA__V1__STATUS__STATUS_NOT_FOUND;
    envelope.status_message = "no certificate with serial 0102";
    assert_int_equal (tsr_peer_unpack_reply (&envelope,
                                             &tessera__v1__certificate_record__descriptor,
                                             &reply, message, sizeof message),
                      TESSERA__V1__STATUS__STATUS_NOT_FOUND);
    assert_null (reply);
    assert_string_equal (message, "no certificate with serial 0102");
    envelope.status_message = NULL;
    message [0] = 'x';
    assert_int_equal (tsr_peer_unpack_reply (&envelope,
                                             &tessera__v1__certificate_record__descriptor,
                                             &reply, message, sizeof message),
                      TESSERA__V1__STATUS__STATUS_NOT_FOUND);
    assert_string_equal (message, "");

    Tessera__V1__GetCertificateRequest sent = TESSERA__V1__GET_CERTIFICATE_REQUEST__INIT;
    sent.serial_hex = "0a0b";
    uint8_t payload [64];
    size_t size = tessera__v1__get_certificate_request__pack (&sent, payload);
    envelope.status = TESSERA__V1__STATUS__STATUS_OK;
    envelope.payload.data = payload;
    envelope.payload.len = size;
    assert_int_equal (tsr_peer_unpack_reply (&envelope,
                                             &tessera__v1__get_certificate_request__descriptor,
                                             &reply, message, sizeof message),
                      TESSERA__V1__STATUS__STATUS_OK);
    assert_non_null (reply);
    assert_string_equal (((Tessera__V1__GetCertificateRequest *) reply)->serial_hex, "0a0b");
    protobuf_c_message_free_unpacked (reply, NULL);

    //  A field 1 of wire type 2 whose length runs past the end.
    static uint8_t broken [] = { 0x0a, 0x10, 'x' };
    envelope.payload.data = broken;
    envelope.payload.len = sizeof broken;
    assert_int_equal (tsr_peer_unpack_reply (&envelope,
                                             &tessera__v1__get_certificate_request__descriptor,
                                             &reply, message, sizeof message),
                      TESSERA__V1__STATUS__STATUS_OK);
    assert_null (reply);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_configuration_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unanswered_call, s_setup, s_teardown),
        cmocka_unit_test (test_unpack_reply),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
