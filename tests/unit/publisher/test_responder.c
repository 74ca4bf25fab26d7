/*  Unit tests for publisher_responder without the ca: the key file (made
    0600 in a 0700 folder, refused when others may read it), a certificate
    file written here by a test CA, and when a certificate is due.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "publisher_responder.h"

#define S_DAY 86400

typedef struct {
    char folder [256];
    char key_path [300];
    char cert_path [300];
    EVP_PKEY *ca_key;
    X509 *ca;
} s_world_t;

static X509 *
s_cert (EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int64_t not_before, int64_t not_after,
        bool responder)
{
    X509 *cert = X509_new ();
    X509_NAME *name = X509_NAME_new ();
    X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8,
                                (const unsigned char *) (issuer ? "OCSP" : "Test CA"), -1, -1, 0);
    X509_set_version (cert, 2);
    ASN1_INTEGER_set (X509_get_serialNumber (cert), (long) (not_after % 100000));
    X509_set_subject_name (cert, name);
    X509_set_issuer_name (cert, issuer ? X509_get_subject_name (issuer) : name);
    ASN1_TIME_set (X509_getm_notBefore (cert), (time_t) not_before);
    ASN1_TIME_set (X509_getm_notAfter (cert), (time_t) not_after);
    X509_set_pubkey (cert, key);
    X509V3_CTX ctx;
    X509V3_set_ctx (&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
    X509_EXTENSION *extension = X509V3_EXT_conf_nid (NULL, &ctx, responder ? NID_ext_key_usage
                                                     : NID_basic_constraints,
                                                     responder ? "OCSPSigning" : "critical,CA:TRUE");
    X509_add_ext (cert, extension, -1);
    X509_EXTENSION_free (extension);
    assert_true (X509_sign (cert, issuer_key ? issuer_key : key, EVP_sha256 ()) > 0);
    X509_NAME_free (name);
    return cert;
}

static EVP_PKEY *
s_read_key (const char *path)
{
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    EVP_PKEY *key = PEM_read_PrivateKey (file, NULL, NULL, NULL);
    fclose (file);
    assert_non_null (key);
    return key;
}

static void
s_write_cert (const char *path, X509 *cert)
{
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    assert_true (PEM_write_X509 (file, cert));
    fclose (file);
}

static int
s_setup (void **state)
{
    s_world_t *world = calloc (1, sizeof *world);
    char parent [64] = "/tmp/tessera-responder-XXXXXX";
    assert_non_null (mkdtemp (parent));
    snprintf (world->folder, sizeof world->folder, "%s/ocsp", parent);     //  made by the responder
    snprintf (world->key_path, sizeof world->key_path, "%s/ocsp-responder.key", world->folder);
    snprintf (world->cert_path, sizeof world->cert_path, "%s/ocsp-responder.pem", world->folder);
    world->ca_key = EVP_EC_gen ("P-256");
    int64_t now = (int64_t) time (NULL);
    world->ca = s_cert (world->ca_key, NULL, NULL, now - S_DAY, now + 3650 * S_DAY, false);
    *state = world;
    return 0;
}

static int
s_teardown (void **state)
{
    s_world_t *world = *state;
    unlink (world->key_path);
    unlink (world->cert_path);
    rmdir (world->folder);
    *strrchr (world->folder, '/') = 0;
    rmdir (world->folder);
    X509_free (world->ca);
    EVP_PKEY_free (world->ca_key);
    free (world);
    return 0;
}

static publisher_responder_t *
s_new (s_world_t *world, long renew_days, char *err, size_t err_size)
{
    publisher_responder_config_t config = {
        .directory = world->folder, .common_name = "Test OCSP", .level = 2,
        .validity_days = 0, .renew_days = renew_days,
    };
    return publisher_responder_new (&config, err, err_size);
}

static void
test_key_file_is_made_private_and_kept (void **state)
{
    s_world_t *world = *state;
    char err [512] = "", why [128];
    publisher_responder_t *responder = s_new (world, 0, err, sizeof err);
    assert_non_null (responder);
    struct stat info;
    assert_int_equal (stat (world->key_path, &info), 0);
    assert_int_equal (info.st_mode & 0777, 0600);
    assert_int_equal (stat (world->folder, &info), 0);
    assert_int_equal (info.st_mode & 0777, 0700);
    //  Nothing to ask for before the issuer is known; then a certificate.
    assert_false (publisher_responder_due (responder, time (NULL), why, sizeof why));
    assert_int_equal (publisher_responder_set_issuer (responder, world->ca, "sha"), 0);
    assert_true (publisher_responder_due (responder, time (NULL), why, sizeof why));
    assert_non_null (strstr (why, "no certificate"));
    publisher_signer_ref_t ref;
    assert_int_equal (publisher_responder_acquire (responder, &ref), -1);
    publisher_responder_info_t info_out;
    assert_int_equal (publisher_responder_info (responder, &info_out), -1);
    publisher_responder_destroy (&responder);
    assert_null (responder);

    //  The same key is read back.
    EVP_PKEY *first = s_read_key (world->key_path);
    responder = s_new (world, 0, err, sizeof err);
    assert_non_null (responder);
    EVP_PKEY *again = s_read_key (world->key_path);
    assert_int_equal (EVP_PKEY_eq (first, again), 1);
    EVP_PKEY_free (first);
    EVP_PKEY_free (again);
    publisher_responder_destroy (&responder);

    //  Readable by others: refused, with what to do.
    assert_int_equal (chmod (world->key_path, 0644), 0);
    assert_null (s_new (world, 0, err, sizeof err));
    assert_non_null (strstr (err, "chmod 600"));
    assert_int_equal (chmod (world->key_path, 0600), 0);
}

static void
test_certificate_due_times (void **state)
{
    s_world_t *world = *state;
    char err [512] = "", why [128];
    int64_t now = (int64_t) time (NULL);
    publisher_responder_t *responder = s_new (world, 0, err, sizeof err);
    assert_non_null (responder);
    publisher_responder_destroy (&responder);
    EVP_PKEY *key = s_read_key (world->key_path);

    //  90 days from yesterday: renewed at two thirds (day 60).
    X509 *cert = s_cert (key, world->ca, world->ca_key, now - S_DAY, now + 89 * S_DAY, true);
    s_write_cert (world->cert_path, cert);
    X509_free (cert);
    responder = s_new (world, 0, err, sizeof err);
    publisher_responder_set_issuer (responder, world->ca, "sha");
    assert_false (publisher_responder_due (responder, now, why, sizeof why));
    publisher_responder_info_t info;
    assert_int_equal (publisher_responder_info (responder, &info), 0);
    assert_int_equal (info.renew_after, now - S_DAY + 60 * S_DAY);
    assert_int_equal (info.not_after, now + 89 * S_DAY);
    assert_int_equal (strlen (info.sha256), 64);
    assert_true (publisher_responder_due (responder, now + 60 * S_DAY, why, sizeof why));
    assert_non_null (strstr (why, "renewal"));
    publisher_signer_ref_t ref;
    assert_int_equal (publisher_responder_acquire (responder, &ref), 0);
    assert_ptr_equal (ref.signer.issuer, world->ca);
    assert_string_equal (ref.signer.issuer_sha256, "sha");
    assert_int_equal (EVP_PKEY_eq (ref.signer.key, key), 1);
    publisher_responder_release (&ref);
    publisher_responder_destroy (&responder);

    //  renew_days before notAfter, never before half the lifetime.
    responder = s_new (world, 30, err, sizeof err);
    publisher_responder_info (responder, &info);
    assert_int_equal (info.renew_after, now + 59 * S_DAY);
    publisher_responder_destroy (&responder);
    responder = s_new (world, 365, err, sizeof err);
    publisher_responder_info (responder, &info);
    assert_int_equal (info.renew_after, now - S_DAY + 45 * S_DAY);
    publisher_responder_destroy (&responder);

    //  From another CA: due at once.
    EVP_PKEY *other_key = EVP_EC_gen ("P-256");
    X509 *other_ca = s_cert (other_key, NULL, NULL, now - S_DAY, now + 100 * S_DAY, false);
    responder = s_new (world, 0, err, sizeof err);
    publisher_responder_set_issuer (responder, other_ca, "other");
    assert_true (publisher_responder_due (responder, now, why, sizeof why));
    assert_non_null (strstr (why, "issuing CA"));
    publisher_responder_destroy (&responder);

    //  A certificate for another key (a crash during renewal) is dropped.
    cert = s_cert (other_key, world->ca, world->ca_key, now - S_DAY, now + 89 * S_DAY, true);
    s_write_cert (world->cert_path, cert);
    X509_free (cert);
    responder = s_new (world, 0, err, sizeof err);
    assert_int_equal (publisher_responder_info (responder, &info), -1);
    publisher_responder_destroy (&responder);
    X509_free (other_ca);
    EVP_PKEY_free (other_key);
    EVP_PKEY_free (key);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_key_file_is_made_private_and_kept),
        cmocka_unit_test (test_certificate_due_times),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
