/*  Unit tests for mail_smime: the message is CRLF throughout, its
    multipart/signed verifies with OpenSSL's own S/MIME reader against the
    CA, and one changed byte of the signed text makes verification fail.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mail_smime.h"

typedef struct {
    EVP_PKEY *ca_key, *key;
    X509 *ca, *cert;
} s_pki_t;

static X509 *
s_certificate (EVP_PKEY *key, EVP_PKEY *issuer_key, X509 *issuer, const char *cn, bool ca)
{
    X509 *cert = X509_new ();
    X509_set_version (cert, 2);
    ASN1_INTEGER_set (X509_get_serialNumber (cert), ca ? 1 : 2);
    X509_NAME_add_entry_by_txt (X509_get_subject_name (cert), "CN", MBSTRING_UTF8,
                                (const unsigned char *) cn, -1, -1, 0);
    X509_set_issuer_name (cert, issuer ? X509_get_subject_name (issuer)
                                       : X509_get_subject_name (cert));
    X509_gmtime_adj (X509_getm_notBefore (cert), -60);
    X509_gmtime_adj (X509_getm_notAfter (cert), 86400);
    X509_set_pubkey (cert, key);
    X509V3_CTX context;
    X509V3_set_ctx (&context, issuer ? issuer : cert, cert, NULL, NULL, 0);
    X509_EXTENSION *extension = X509V3_EXT_conf_nid (NULL, &context, NID_basic_constraints,
                                                     ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext (cert, extension, -1);
    X509_EXTENSION_free (extension);
    if (!ca) {
        extension = X509V3_EXT_conf_nid (NULL, &context, NID_ext_key_usage, "emailProtection");
        X509_add_ext (cert, extension, -1);
        X509_EXTENSION_free (extension);
    }
    X509_sign (cert, issuer_key, EVP_sha256 ());
    return cert;
}

static int
s_setup (void **state)
{
    s_pki_t *pki = calloc (1, sizeof *pki);
    pki->ca_key = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    pki->key = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    pki->ca = s_certificate (pki->ca_key, pki->ca_key, NULL, "Test CA", true);
    pki->cert = s_certificate (pki->key, pki->ca_key, pki->ca, "tessera mail", false);
    *state = pki;
    return pki->ca && pki->cert ? 0 : -1;
}

static int
s_teardown (void **state)
{
    s_pki_t *pki = *state;
    EVP_PKEY_free (pki->ca_key);
    EVP_PKEY_free (pki->key);
    X509_free (pki->ca);
    X509_free (pki->cert);
    free (pki);
    return 0;
}

static char *
s_build (s_pki_t *pki, const char *body, size_t *size)
{
    mail_message_t message = {
        .from_name = "tessera", .from_address = "noreply@tessera.example",
        .to_name = "Élodie Dupré", .to_address = "elodie@example.fr",
        .subject = "Votre code PIN est en route", .message_id = "<abc@tessera.example>",
        .date_unix = 1900000000, .language = "fr", .body = body,
    };
    STACK_OF (X509) *chain = sk_X509_new_null ();
    sk_X509_push (chain, pki->ca);
    char *out = NULL, err [160] = "";
    int rc = mail_smime_build (&message, pki->key, pki->cert, chain, &out, size, err, sizeof err);
    sk_X509_free (chain);
    if (rc)
        fail_msg ("build: %s", err);
    return out;
}

//  1 when the message verifies against the CA, 0 when it does not.
static int
s_verify (s_pki_t *pki, const char *message, size_t size, char **content)
{
    BIO *in = BIO_new_mem_buf (message, (int) size), *data = NULL;
    CMS_ContentInfo *cms = SMIME_read_CMS (in, &data);
    X509_STORE *store = X509_STORE_new ();
    X509_STORE_add_cert (store, pki->ca);
    BIO *out = BIO_new (BIO_s_mem ());
    int ok = cms && CMS_verify (cms, NULL, store, data, out, 0) == 1;
    if (ok && content) {
        char *text = NULL;
        long len = BIO_get_mem_data (out, &text);
        *content = strndup (text, (size_t) len);
    }
    ERR_clear_error ();
    BIO_free (out);
    X509_STORE_free (store);
    CMS_ContentInfo_free (cms);
    BIO_free (data);
    BIO_free (in);
    return ok;
}

static void
test_message_is_crlf_and_verifies (void **state)
{
    s_pki_t *pki = *state;
    size_t size = 0;
    char *message = s_build (pki, "Bonjour,\n\nVotre code arrive.\n", &size);
    assert_int_equal (strlen (message), size);
    for (size_t i = 0; i < size; i++)
        if (message [i] == '\n')
            assert_true (i > 0 && message [i - 1] == '\r');
    assert_non_null (strstr (message, "Content-Type: multipart/signed; "
                                      "protocol=\"application/pkcs7-signature\";"));
    assert_non_null (strstr (message, "Message-ID: <abc@tessera.example>\r\n"));
    assert_non_null (strstr (message, "Date: Sun, 17 Mar 2030 17:46:40 +0000\r\n"));
    char *content = NULL;
    assert_int_equal (s_verify (pki, message, size, &content), 1);
    //  What was signed is the MIME entity, headers and base64 body.
    assert_non_null (strstr (content, "Content-Type: text/plain; charset=UTF-8\r\n"));
    free (content);
    OPENSSL_cleanse (message, size);
    free (message);
}

static void
test_a_changed_byte_fails_verification (void **state)
{
    s_pki_t *pki = *state;
    size_t size = 0;
    char *message = s_build (pki, "Le code est 12345678.\n", &size);
    char *body = strstr (message, "Content-Language: fr\r\n\r\n") + 24;
    *body = *body == 'A' ? 'B' : 'A';
    assert_int_equal (s_verify (pki, message, size, NULL), 0);
    free (message);
}

static void
test_an_injected_header_value_is_refused (void **state)
{
    s_pki_t *pki = *state;
    mail_message_t message = {
        .from_name = "tessera", .from_address = "noreply@tessera.example",
        .to_name = "Eve\r\nBcc: evil@example.org", .to_address = "eve@example.fr",
        .subject = "ok", .message_id = "<a@b>", .date_unix = 0, .language = "fr", .body = "x",
    };
    char *out = NULL, err [160] = "";
    size_t size = 0;
    assert_int_equal (mail_smime_build (&message, pki->key, pki->cert, NULL, &out, &size, err,
                                        sizeof err), -1);
    assert_null (out);
    assert_non_null (strstr (err, "recipient"));
    message.to_name = "Eve";
    message.subject = "Hi\nBcc: evil@example.org";
    assert_int_equal (mail_smime_build (&message, pki->key, pki->cert, NULL, &out, &size, err,
                                        sizeof err), -1);
    assert_non_null (strstr (err, "subject"));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_message_is_crlf_and_verifies),
        cmocka_unit_test (test_a_changed_byte_fails_verification),
        cmocka_unit_test (test_an_injected_header_value_is_refused),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
