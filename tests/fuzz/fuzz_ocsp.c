/*  Fuzz target: the publisher's OCSP responder (publisher_ocsp), which
    answers requests from anyone on the network, as a POST body and as the
    GET form's base64 path.

    The signer is a fixed test CA and responder (below, made with openssl
    for this target only), so the seeds in corpus/ocsp/ name its issuer.
    The status lookup is a stub keyed on the serial's last hex digit: 0-3
    good, 4-7 revoked (that reason), 8-9 on hold, a-e unknown, f the store
    down. Every input must give a well-formed OCSPResponse whose status is
    the outcome said, and a successful one must verify against the CA.
*/
#include "publisher_ocsp.h"

#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char s_ca_pem [] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBijCCATGgAwIBAgIUGj3gTpRGnkqZT6vlwoO+juWsWWMwCgYIKoZIzj0EAwIw\n"
    "EjEQMA4GA1UEAwwHRnV6eiBDQTAgFw0yNjExMjYwMDU1MzJaGA8yMTI2MTEwMjAw\n"
    "NTUzMlowEjEQMA4GA1UEAwwHRnV6eiBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
    "A0IABANAdkvObEc9/8jsm4AVukFj3TwnzNExB1y4z/ajk7koG7ug9S1tPZZuw4Mn\n"
    "05xnsd1bWNPfdMxSiryjA3WVVvyjYzBhMB0GA1UdDgQWBBQPSTgNBTrWcJpA3PRZ\n"
    "Bq2PhTjw1jAfBgNVHSMEGDAWgBQPSTgNBTrWcJpA3PRZBq2PhTjw1jAPBgNVHRMB\n"
    "Af8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAKBggqhkjOPQQDAgNHADBEAiB5fwSm\n"
    "eRUiFKUzCdWavBndAFSCkcHPt/Rl5NfF3v5RZAIgecBpxCbe+KARlypPefrKADGN\n"
    "b36QRXPPIIqGVMS7cnc=\n"
    "-----END CERTIFICATE-----\n";

static const char s_responder_pem [] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBeTCCAR+gAwIBAgIBAjAKBggqhkjOPQQDAjASMRAwDgYDVQQDDAdGdXp6IENB\n"
    "MCAXDTI2MTEyNjAwNTUzMloYDzIxMjYxMTAyMDA1NTMyWjAUMRIwEAYDVQQDDAlG\n"
    "dXp6IE9DU1AwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQJYC/ADNAqEBWXqeOM\n"
    "+6yecWGXEUdz3Au4C7J4vAjmIaspJfulmgk16QlfCMktswv5DoykOgA7WX/WcVbn\n"
    "oIDgo2IwYDATBgNVHSUEDDAKBggrBgEFBQcDCTAJBgNVHRMEAjAAMB0GA1UdDgQW\n"
    "BBRYmBwAoVShcKCG1x5ksyk1D07PhzAfBgNVHSMEGDAWgBQPSTgNBTrWcJpA3PRZ\n"
    "Bq2PhTjw1jAKBggqhkjOPQQDAgNIADBFAiEA2kA4SK2L7Q8vastO01hUEKlZrYjv\n"
    "2ZPot568crEfmxICICG2CNJZkJOVgfB+VvYAMi47FYIpHCTrksItgYwTLtPg\n"
    "-----END CERTIFICATE-----\n";

//  A test key for this target only.
static const char s_responder_key_pem [] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguWcMtYCm6W0dN0y3\n"
    "gqGbOJwd++WTYARv9wozXsOsp8yhRANCAAQJYC/ADNAqEBWXqeOM+6yecWGXEUdz\n"
    "3Au4C7J4vAjmIaspJfulmgk16QlfCMktswv5DoykOgA7WX/WcVbnoIDg\n"
    "-----END PRIVATE KEY-----\n";

static publisher_ocsp_signer_t s_signer;
static X509_STORE *s_store;

static void *
s_pem (const char *text, int key)
{
    BIO *bio = BIO_new_mem_buf (text, -1);
    void *object = !bio ? NULL : key ? (void *) PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL)
                                     : (void *) PEM_read_bio_X509 (bio, NULL, NULL, NULL);
    BIO_free (bio);
    if (!object)
        __builtin_trap ();
    return object;
}

static void
s_setup (void)
{
    if (s_store)
        return;
    s_signer.issuer = s_pem (s_ca_pem, 0);
    s_signer.responder = s_pem (s_responder_pem, 0);
    s_signer.key = s_pem (s_responder_key_pem, 1);
    s_signer.issuer_sha256 = "fuzz";
    s_store = X509_STORE_new ();
    if (!s_store || !X509_STORE_add_cert (s_store, s_signer.issuer))
        __builtin_trap ();
}

static int
s_lookup (void *arg, const char *issuer_sha256, const char *serial_hex,
          publisher_cert_status_t *status)
{
    (void) arg;
    (void) issuer_sha256;
    size_t length = strlen (serial_hex);
    char last = length ? serial_hex [length - 1] : '0';
    status->rfc_reason = -1;
    status->revoked_at = 1700000000;
    if (last == 'f')
        return -1;
    if (last <= '3')
        status->state = PUBLISHER_CERT_GOOD;
    else
    if (last <= '7') {
        status->state = PUBLISHER_CERT_REVOKED;
        status->rfc_reason = last - '0';
    }
    else
    if (last <= '9')
        status->state = PUBLISHER_CERT_ON_HOLD;
    else
        status->state = PUBLISHER_CERT_UNKNOWN;
    return 0;
}

//  The answer must decode, say its outcome, and verify when successful.
static void
s_check (const publisher_ocsp_answer_t *answer)
{
    if (!answer->der)
        __builtin_trap ();
    const unsigned char *cursor = answer->der;
    OCSP_RESPONSE *response = d2i_OCSP_RESPONSE (NULL, &cursor, (long) answer->size);
    if (!response || cursor != answer->der + answer->size
    ||  OCSP_response_status (response) != (int) answer->outcome)
        __builtin_trap ();
    if (answer->outcome == PUBLISHER_OCSP_SUCCESSFUL) {
        OCSP_BASICRESP *basic = OCSP_response_get1_basic (response);
        if (!basic || OCSP_basic_verify (basic, NULL, s_store, 0) != 1
        ||  OCSP_resp_count (basic) != (int) (answer->good + answer->revoked + answer->unknown))
            __builtin_trap ();
        OCSP_BASICRESP_free (basic);
    }
    OCSP_RESPONSE_free (response);
}

static void
s_respond (const uint8_t *data, size_t size)
{
    publisher_ocsp_answer_t answer;
    publisher_ocsp_respond (&s_signer, s_lookup, NULL, data, size, 1800000000, 3600, &answer);
    s_check (&answer);
    publisher_ocsp_answer_release (&answer);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_setup ();
    s_respond (data, size);
    //  The same bytes as the GET form's path.
    char *text = malloc (size + 1);
    if (!text)
        return 0;
    memcpy (text, data, size);
    text [size] = 0;
    uint8_t *der = NULL;
    size_t der_size = 0;
    if (publisher_ocsp_decode_get (text, &der, &der_size) == 0) {
        if (!der || der_size == 0 || der_size > PUBLISHER_OCSP_REQUEST_MAX)
            __builtin_trap ();
        s_respond (der, der_size);
    }
    free (der);
    free (text);
    return 0;
}
