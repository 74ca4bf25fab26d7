/*  Unit tests for ca_keystore, on a real SoftHSM2 token and on real files.

    The group setup makes a temporary directory holding a softhsm2.conf (its
    token directory inside), points SOFTHSM2_CONF at it and initialises the
    token "tessera-test" with softhsm2-util. The tests then run in order, as
    a ceremony would: set the user PIN, generate keys, open them and sign,
    and open them again from a new store. Signatures are checked with the
    public keys generate returned, so a key that signs with anything else
    than the pair just made fails. A last check reads the token with the
    raw PKCS#11 API: the private keys must be sensitive and never
    extractable. Key generation times are printed.
*/
#define _XOPEN_SOURCE 700               //  nftw
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <ftw.h>
#include <p11-kit/pkcs11.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ca_keystore.h"

#define S_MODULE        "/usr/lib/softhsm/libsofthsm2.so"
#define S_TOKEN         "tessera-test"
#define S_SO_PIN        "12345678"
#define S_INITIAL_PIN   "87654321"
#define S_ERR_SIZE      256
#define S_PATH_SIZE     512

typedef struct {
    const char *label;
    ca_key_algorithm_t algorithm;
    const char *name;
} s_key_case_t;

//  RSA 4096 is left out: measured 0.4 to 4.2 s per key in each back end
//  (prime search varies), and 3072 runs the same code.
static const s_key_case_t s_cases [] = {
    { "root-p256", CA_KEY_EC_P256, "EC P-256" },
    { "root-p384", CA_KEY_EC_P384, "EC P-384" },
    { "root-rsa3072", CA_KEY_RSA_3072, "RSA 3072" },
};
#define S_CASES (sizeof s_cases / sizeof s_cases [0])

//  Shared by the tests, which run in order.
static char s_tmp [64];
static char s_key_dir [128];
static char s_user_pin [33];
static EVP_PKEY *s_token_public [S_CASES];
static EVP_PKEY *s_file_public [S_CASES];

static double
s_seconds_since (const struct timespec *start)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) (now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

static const EVP_MD *
s_digest_for (ca_key_algorithm_t algorithm)
{
    return algorithm == CA_KEY_EC_P384 ? EVP_sha384 () : EVP_sha256 ();
}

//  Signs a self-signed certificate and a message with private_key and
//  checks both with public_key; other_public must not verify them.
static void
s_assert_signs (EVP_PKEY *private_key, EVP_PKEY *public_key, EVP_PKEY *other_public,
                const EVP_MD *md)
{
    X509 *cert = X509_new ();
    assert_non_null (cert);
    assert_int_equal (X509_set_version (cert, 2), 1);
    assert_int_equal (ASN1_INTEGER_set (X509_get_serialNumber (cert), 1), 1);
    X509_NAME *name = X509_get_subject_name (cert);
    assert_int_equal (X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC,
                          (const unsigned char *) "tessera keystore test", -1, -1, 0), 1);
    assert_int_equal (X509_set_issuer_name (cert, name), 1);
    assert_non_null (X509_gmtime_adj (X509_getm_notBefore (cert), 0));
    assert_non_null (X509_gmtime_adj (X509_getm_notAfter (cert), 3600));
    assert_int_equal (X509_set_pubkey (cert, public_key), 1);
    assert_true (X509_sign (cert, private_key, md) > 0);
    assert_int_equal (X509_verify (cert, public_key), 1);
    assert_int_not_equal (X509_verify (cert, other_public), 1);
    X509_free (cert);

    static const unsigned char message [] = "to be signed by the CA";
    EVP_MD_CTX *sign_context = EVP_MD_CTX_new ();
    assert_non_null (sign_context);
    assert_int_equal (EVP_DigestSignInit (sign_context, NULL, md, NULL, private_key), 1);
    size_t signature_size = 0;
    assert_int_equal (EVP_DigestSign (sign_context, NULL, &signature_size,
                                      message, sizeof message), 1);
    unsigned char *signature = malloc (signature_size);
    assert_non_null (signature);
    assert_int_equal (EVP_DigestSign (sign_context, signature, &signature_size,
                                      message, sizeof message), 1);
    EVP_MD_CTX_free (sign_context);

    EVP_MD_CTX *verify_context = EVP_MD_CTX_new ();
    assert_non_null (verify_context);
    assert_int_equal (EVP_DigestVerifyInit (verify_context, NULL, md, NULL, public_key), 1);
    assert_int_equal (EVP_DigestVerify (verify_context, signature, signature_size,
                                        message, sizeof message), 1);
    EVP_MD_CTX_free (verify_context);
    free (signature);
}

//  generate gives back the public half only.
static void
s_assert_public_only (const EVP_PKEY *key)
{
    BIGNUM *private_part = NULL;
    assert_int_equal (EVP_PKEY_get_bn_param (key, OSSL_PKEY_PARAM_PRIV_KEY, &private_part), 0);
    assert_int_equal (EVP_PKEY_get_bn_param (key, OSSL_PKEY_PARAM_RSA_D, &private_part), 0);
    assert_null (private_part);
}

static int
s_remove_entry (const char *path, const struct stat *status, int type, struct FTW *ftw)
{
    (void) status;
    (void) type;
    (void) ftw;
    return remove (path);
}

static int
s_group_setup (void **state)
{
    (void) state;
    snprintf (s_tmp, sizeof s_tmp, "/tmp/tessera-keystore-XXXXXX");
    if (!mkdtemp (s_tmp))
        return -1;
    char path [S_PATH_SIZE];
    snprintf (path, sizeof path, "%s/tokens", s_tmp);
    if (mkdir (path, 0700) != 0)
        return -1;
    snprintf (path, sizeof path, "%s/softhsm2.conf", s_tmp);
    FILE *conf = fopen (path, "w");
    if (!conf)
        return -1;
    fprintf (conf, "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
                   "log.level = ERROR\n", s_tmp);
    if (fclose (conf) != 0 || setenv ("SOFTHSM2_CONF", path, 1) != 0)
        return -1;
    if (system ("softhsm2-util --init-token --free --label " S_TOKEN
                " --so-pin " S_SO_PIN " --pin " S_INITIAL_PIN " >/dev/null") != 0)
        return -1;
    snprintf (s_key_dir, sizeof s_key_dir, "%s/keys", s_tmp);

    unsigned char random [16];
    if (RAND_bytes (random, sizeof random) != 1)
        return -1;
    for (size_t i = 0; i < sizeof random; i++)
        snprintf (s_user_pin + 2 * i, 3, "%02x", random [i]);
    return 0;
}

static int
s_group_teardown (void **state)
{
    (void) state;
    for (size_t i = 0; i < S_CASES; i++) {
        EVP_PKEY_free (s_token_public [i]);
        EVP_PKEY_free (s_file_public [i]);
    }
    OPENSSL_cleanse (s_user_pin, sizeof s_user_pin);
    return nftw (s_tmp, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
test_arguments_refused (void **state)
{
    (void) state;
    char err [S_ERR_SIZE];
    char long_label [80];
    memset (long_label, 'a', 65);
    long_label [65] = '\0';

    ca_keystore_destroy (NULL);
    ca_keystore_t *store = NULL;
    ca_keystore_destroy (&store);
    assert_null (ca_keystore_new_pkcs11 (NULL, S_TOKEN, err, sizeof err));
    assert_null (ca_keystore_new_pkcs11 (S_MODULE, "", err, sizeof err));
    assert_null (ca_keystore_new_pkcs11 (S_MODULE, "a token label longer than 32 bytes",
                                         err, sizeof err));
    assert_null (ca_keystore_new_file (NULL, err, sizeof err));
    assert_null (ca_keystore_new_file ("", err, sizeof err));
    assert_int_equal (ca_keystore_set_secret (NULL, S_SO_PIN, "1234", err, sizeof err), -1);
    assert_null (ca_keystore_generate (NULL, "1234", "x", CA_KEY_EC_P256, err, sizeof err));
    assert_null (ca_keystore_open (NULL, "1234", "x", err, sizeof err));

    store = ca_keystore_new_pkcs11 (S_MODULE, S_TOKEN, err, sizeof err);
    assert_non_null (store);
    const char *bad_labels [] = { "", "../x", "a/b", "/etc/passwd", "a b", "x\n", long_label };
    for (size_t i = 0; i < sizeof bad_labels / sizeof bad_labels [0]; i++) {
        assert_null (ca_keystore_generate (store, "1234", bad_labels [i], CA_KEY_EC_P256,
                                           err, sizeof err));
        assert_non_null (strstr (err, "label must be"));
        assert_null (ca_keystore_open (store, "1234", bad_labels [i], err, sizeof err));
        assert_non_null (strstr (err, "label must be"));
    }
    assert_null (ca_keystore_generate (store, "", "x", CA_KEY_EC_P256, err, sizeof err));
    assert_null (ca_keystore_generate (store, NULL, "x", CA_KEY_EC_P256, err, sizeof err));
    assert_null (ca_keystore_generate (store, "1234", "x", (ca_key_algorithm_t) 99,
                                       err, sizeof err));
    assert_string_equal (err, "unknown key algorithm 99");
    assert_int_equal (ca_keystore_set_secret (store, NULL, "1234", err, sizeof err), -1);
    //  A NULL err is allowed.
    assert_null (ca_keystore_open (store, "1234", "../x", NULL, 0));
    ca_keystore_destroy (&store);
    assert_null (store);

    store = ca_keystore_new_pkcs11 (S_MODULE, "no-such-token", err, sizeof err);
    assert_non_null (store);
    assert_null (ca_keystore_generate (store, "1234", "x", CA_KEY_EC_P256, err, sizeof err));
    assert_string_equal (err, "no token labelled no-such-token");
    assert_null (ca_keystore_open (store, "1234", "x", err, sizeof err));
    assert_string_equal (err, "no token labelled no-such-token");
    ca_keystore_destroy (&store);

    store = ca_keystore_new_pkcs11 ("/nonexistent/module.so", S_TOKEN, err, sizeof err);
    assert_non_null (store);
    assert_null (ca_keystore_generate (store, "1234", "x", CA_KEY_EC_P256, err, sizeof err));
    assert_non_null (strstr (err, "cannot load PKCS#11 module /nonexistent/module.so"));
    assert_null (ca_keystore_open (store, "1234", "x", err, sizeof err));
    assert_non_null (strstr (err, "cannot load PKCS#11 module /nonexistent/module.so"));
    ca_keystore_destroy (&store);
}

static void
test_pkcs11_set_secret (void **state)
{
    (void) state;
    char err [S_ERR_SIZE];
    ca_keystore_t *store = ca_keystore_new_pkcs11 (S_MODULE, S_TOKEN, err, sizeof err);
    assert_non_null (store);
    assert_int_equal (ca_keystore_set_secret (store, "wrong-so-pin", s_user_pin,
                                              err, sizeof err), -1);
    assert_string_equal (err, "key store refused the security officer PIN");
    assert_int_equal (ca_keystore_set_secret (store, S_SO_PIN, s_user_pin, err, sizeof err), 0);
    //  The initial PIN no longer works.
    assert_null (ca_keystore_generate (store, S_INITIAL_PIN, "x", CA_KEY_EC_P256,
                                       err, sizeof err));
    assert_string_equal (err, "key store refused the secret");
    ca_keystore_destroy (&store);
}

static void
test_pkcs11_generate (void **state)
{
    (void) state;
    char err [S_ERR_SIZE];
    ca_keystore_t *store = ca_keystore_new_pkcs11 (S_MODULE, S_TOKEN, err, sizeof err);
    assert_non_null (store);
    for (size_t i = 0; i < S_CASES; i++) {
        struct timespec start;
        clock_gettime (CLOCK_MONOTONIC, &start);
        s_token_public [i] = ca_keystore_generate (store, s_user_pin, s_cases [i].label,
                                                   s_cases [i].algorithm, err, sizeof err);
        double seconds = s_seconds_since (&start);
        if (!s_token_public [i])
            fail_msg ("%s: %s", s_cases [i].name, err);
        print_message ("pkcs11 keygen %-8s %.3f s\n", s_cases [i].name, seconds);
        s_assert_public_only (s_token_public [i]);
        assert_int_equal (EVP_PKEY_get_bits (s_token_public [i]),
                          s_cases [i].algorithm == CA_KEY_EC_P256 ? 256
                          : s_cases [i].algorithm == CA_KEY_EC_P384 ? 384 : 3072);
    }
    assert_null (ca_keystore_generate (store, s_user_pin, s_cases [0].label, CA_KEY_EC_P256,
                                       err, sizeof err));
    assert_string_equal (err, "a key labelled root-p256 already exists");
    assert_null (ca_keystore_generate (store, "wrong-pin", "other", CA_KEY_EC_P256,
                                       err, sizeof err));
    assert_string_equal (err, "key store refused the secret");
    assert_null (strstr (err, "wrong-pin"));
    ca_keystore_destroy (&store);
}

static void
test_pkcs11_open_and_sign (void **state)
{
    (void) state;
    char err [S_ERR_SIZE];
    ca_keystore_t *store = ca_keystore_new_pkcs11 (S_MODULE, S_TOKEN, err, sizeof err);
    assert_non_null (store);
    //  Refused at the first login ...
    assert_null (ca_keystore_open (store, "wrong-pin", s_cases [0].label, err, sizeof err));
    assert_string_equal (err, "key store refused the secret");
    EVP_PKEY *keys [S_CASES];
    for (size_t i = 0; i < S_CASES; i++) {
        keys [i] = ca_keystore_open (store, s_user_pin, s_cases [i].label, err, sizeof err);
        if (!keys [i])
            fail_msg ("%s: %s", s_cases [i].name, err);
    }
    for (size_t i = 0; i < S_CASES; i++)
        s_assert_signs (keys [i], s_token_public [i], s_token_public [(i + 1) % S_CASES],
                        s_digest_for (s_cases [i].algorithm));
    //  ... and once logged in.
    assert_null (ca_keystore_open (store, "wrong-pin", s_cases [0].label, err, sizeof err));
    assert_string_equal (err, "key store refused the secret");
    assert_null (ca_keystore_open (store, s_user_pin, "no-such-key", err, sizeof err));
    assert_string_equal (err, "no key labelled no-such-key");
    //  The module belongs to libp11 now: no raw use until the store goes.
    assert_null (ca_keystore_generate (store, s_user_pin, "late", CA_KEY_EC_P256,
                                       err, sizeof err));
    assert_non_null (strstr (err, "are open in this key store"));
    assert_int_equal (ca_keystore_set_secret (store, S_SO_PIN, s_user_pin, err, sizeof err), -1);
    //  A second store must not load the module under the first one.
    ca_keystore_t *second = ca_keystore_new_pkcs11 (S_MODULE, S_TOKEN, err, sizeof err);
    assert_non_null (second);
    assert_null (ca_keystore_open (second, s_user_pin, s_cases [0].label, err, sizeof err));
    assert_non_null (strstr (err, "is in use by another key store in this process"));
    assert_null (ca_keystore_generate (second, s_user_pin, "late", CA_KEY_EC_P256,
                                       err, sizeof err));
    assert_non_null (strstr (err, "is in use by another key store in this process"));
    ca_keystore_destroy (&second);
    //  The keys still sign after those refusals.
    s_assert_signs (keys [0], s_token_public [0], s_token_public [1], EVP_sha256 ());
    for (size_t i = 0; i < S_CASES; i++)
        EVP_PKEY_free (keys [i]);
    ca_keystore_destroy (&store);
    assert_null (store);

    //  The keys persist across stores; the module loads again.
    store = ca_keystore_new_pkcs11 (S_MODULE, S_TOKEN, err, sizeof err);
    assert_non_null (store);
    EVP_PKEY *key = ca_keystore_open (store, s_user_pin, s_cases [2].label, err, sizeof err);
    if (!key)
        fail_msg ("reopen: %s", err);
    s_assert_signs (key, s_token_public [2], s_token_public [0], EVP_sha256 ());
    EVP_PKEY_free (key);
    ca_keystore_destroy (&store);

    //  The raw API works again once libp11 let go of the module, and a
    //  failed open hands nothing to libp11.
    store = ca_keystore_new_pkcs11 (S_MODULE, S_TOKEN, err, sizeof err);
    assert_non_null (store);
    assert_null (ca_keystore_open (store, s_user_pin, "no-such-key", err, sizeof err));
    assert_string_equal (err, "no key labelled no-such-key");
    assert_null (ca_keystore_generate (store, s_user_pin, s_cases [1].label, CA_KEY_EC_P384,
                                       err, sizeof err));
    assert_string_equal (err, "a key labelled root-p384 already exists");
    ca_keystore_destroy (&store);
}

//  Reads one attribute of a private key; returns the CKR_ code.
static CK_RV
s_get_attribute (CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key,
                 CK_ATTRIBUTE_TYPE type, void *value, CK_ULONG value_size)
{
    CK_ATTRIBUTE attribute = { type, value, value_size };
    return p11->C_GetAttributeValue (session, key, &attribute, 1);
}

//  Finds the one object of class labelled label.
static CK_OBJECT_HANDLE
s_find_object (CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session,
               CK_OBJECT_CLASS class, const char *label)
{
    CK_ATTRIBUTE search [] = {
        { CKA_CLASS, &class, sizeof class },
        { CKA_LABEL, (void *) label, strlen (label) },
    };
    CK_OBJECT_HANDLE found [2];
    CK_ULONG found_count = 0;
    assert_int_equal (p11->C_FindObjectsInit (session, search, 2), CKR_OK);
    assert_int_equal (p11->C_FindObjects (session, found, 2, &found_count), CKR_OK);
    assert_int_equal (p11->C_FindObjectsFinal (session), CKR_OK);
    assert_int_equal (found_count, 1);
    return found [0];
}

static void
test_pkcs11_keys_not_extractable (void **state)
{
    (void) state;
    void *library = dlopen (S_MODULE, RTLD_NOW | RTLD_LOCAL);
    assert_non_null (library);
    CK_C_GetFunctionList get_function_list =
        (CK_C_GetFunctionList) dlsym (library, "C_GetFunctionList");
    assert_non_null (get_function_list);
    CK_FUNCTION_LIST_PTR p11 = NULL;
    assert_int_equal (get_function_list (&p11), CKR_OK);
    assert_int_equal (p11->C_Initialize (NULL), CKR_OK);
    CK_SLOT_ID slots [8];
    CK_ULONG slot_count = 8;
    assert_int_equal (p11->C_GetSlotList (CK_TRUE, slots, &slot_count), CKR_OK);
    CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
    for (CK_ULONG i = 0; i < slot_count && session == CK_INVALID_HANDLE; i++) {
        CK_TOKEN_INFO info;
        assert_int_equal (p11->C_GetTokenInfo (slots [i], &info), CKR_OK);
        if (memcmp (info.label, S_TOKEN " ", strlen (S_TOKEN) + 1) == 0)
            assert_int_equal (p11->C_OpenSession (slots [i], CKF_SERIAL_SESSION, NULL, NULL,
                                                  &session), CKR_OK);
    }
    assert_int_not_equal (session, CK_INVALID_HANDLE);
    assert_int_equal (p11->C_Login (session, CKU_USER, (CK_UTF8CHAR_PTR) s_user_pin,
                                    strlen (s_user_pin)), CKR_OK);
    for (size_t i = 0; i < S_CASES; i++) {
        CK_OBJECT_HANDLE private_key = s_find_object (p11, session, CKO_PRIVATE_KEY,
                                                      s_cases [i].label);
        CK_OBJECT_HANDLE public_key = s_find_object (p11, session, CKO_PUBLIC_KEY,
                                                     s_cases [i].label);
        CK_BBOOL flag;
        assert_int_equal (s_get_attribute (p11, session, private_key, CKA_SENSITIVE,
                                           &flag, sizeof flag), CKR_OK);
        assert_true (flag);
        assert_int_equal (s_get_attribute (p11, session, private_key, CKA_EXTRACTABLE,
                                           &flag, sizeof flag), CKR_OK);
        assert_false (flag);
        assert_int_equal (s_get_attribute (p11, session, private_key, CKA_NEVER_EXTRACTABLE,
                                           &flag, sizeof flag), CKR_OK);
        assert_true (flag);
        assert_int_equal (s_get_attribute (p11, session, private_key, CKA_TOKEN,
                                           &flag, sizeof flag), CKR_OK);
        assert_true (flag);
        assert_int_equal (s_get_attribute (p11, session, private_key, CKA_DECRYPT,
                                           &flag, sizeof flag), CKR_OK);
        assert_false (flag);
        unsigned char secret [1024];
        CK_ATTRIBUTE_TYPE secret_type = s_cases [i].algorithm == CA_KEY_RSA_3072
                                      ? CKA_PRIVATE_EXPONENT : CKA_VALUE;
        assert_int_equal (s_get_attribute (p11, session, private_key, secret_type,
                                           secret, sizeof secret), CKR_ATTRIBUTE_SENSITIVE);
        unsigned char private_id [64], public_id [64];
        CK_ATTRIBUTE private_attribute = { CKA_ID, private_id, sizeof private_id };
        CK_ATTRIBUTE public_attribute = { CKA_ID, public_id, sizeof public_id };
        assert_int_equal (p11->C_GetAttributeValue (session, private_key,
                                                    &private_attribute, 1), CKR_OK);
        assert_int_equal (p11->C_GetAttributeValue (session, public_key,
                                                    &public_attribute, 1), CKR_OK);
        assert_int_equal (private_attribute.ulValueLen, 16);
        assert_int_equal (public_attribute.ulValueLen, 16);
        assert_memory_equal (private_id, public_id, 16);
    }
    assert_int_equal (p11->C_Logout (session), CKR_OK);
    assert_int_equal (p11->C_CloseSession (session), CKR_OK);
    assert_int_equal (p11->C_Finalize (NULL), CKR_OK);
    dlclose (library);
}

static void
test_file_generate (void **state)
{
    (void) state;
    char err [S_ERR_SIZE];
    ca_keystore_t *store = ca_keystore_new_file (s_key_dir, err, sizeof err);
    if (!store)
        fail_msg ("%s", err);
    struct stat status;
    assert_int_equal (stat (s_key_dir, &status), 0);
    assert_int_equal (status.st_mode & 0777, 0700);
    assert_int_equal (ca_keystore_set_secret (store, NULL, s_user_pin, err, sizeof err), 0);
    for (size_t i = 0; i < S_CASES; i++) {
        struct timespec start;
        clock_gettime (CLOCK_MONOTONIC, &start);
        s_file_public [i] = ca_keystore_generate (store, s_user_pin, s_cases [i].label,
                                                  s_cases [i].algorithm, err, sizeof err);
        double seconds = s_seconds_since (&start);
        if (!s_file_public [i])
            fail_msg ("%s: %s", s_cases [i].name, err);
        print_message ("file   keygen %-8s %.3f s\n", s_cases [i].name, seconds);
        s_assert_public_only (s_file_public [i]);

        char path [S_PATH_SIZE];
        snprintf (path, sizeof path, "%s/%s.key", s_key_dir, s_cases [i].label);
        assert_int_equal (stat (path, &status), 0);
        assert_true (S_ISREG (status.st_mode));
        assert_int_equal (status.st_mode & 0777, 0600);
        FILE *file = fopen (path, "r");
        assert_non_null (file);
        char line [80] = "";
        assert_non_null (fgets (line, sizeof line, file));
        fclose (file);
        assert_string_equal (line, "-----BEGIN ENCRYPTED PRIVATE KEY-----\n");
    }
    ca_keystore_destroy (&store);
}

static void
test_file_refusals (void **state)
{
    (void) state;
    char err [S_ERR_SIZE];
    ca_keystore_t *store = ca_keystore_new_file (s_key_dir, err, sizeof err);
    assert_non_null (store);
    assert_null (ca_keystore_generate (store, s_user_pin, s_cases [0].label, CA_KEY_EC_P256,
                                       err, sizeof err));
    assert_string_equal (err, "a key labelled root-p256 already exists");
    assert_null (ca_keystore_open (store, "wrong-passphrase", s_cases [0].label,
                                   err, sizeof err));
    assert_string_equal (err, "key store refused the secret");
    assert_null (ca_keystore_open (store, s_user_pin, "no-such-key", err, sizeof err));
    assert_string_equal (err, "no key labelled no-such-key");
    const char *path_labels [] = { "../escape", "sub/key", "/tmp/abs", "..\\x" };
    for (size_t i = 0; i < sizeof path_labels / sizeof path_labels [0]; i++) {
        assert_null (ca_keystore_generate (store, s_user_pin, path_labels [i], CA_KEY_EC_P256,
                                           err, sizeof err));
        assert_non_null (strstr (err, "label must be"));
    }
    char path [S_PATH_SIZE];
    snprintf (path, sizeof path, "%s/escape.key", s_tmp);
    assert_int_not_equal (access (path, F_OK), 0);

    //  A file that is not an encrypted key is not taken for a wrong secret.
    snprintf (path, sizeof path, "%s/damaged.key", s_key_dir);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs ("not a key\n", file);
    fclose (file);
    assert_null (ca_keystore_open (store, s_user_pin, "damaged", err, sizeof err));
    assert_non_null (strstr (err, "is not an encrypted PKCS#8 key"));
    ca_keystore_destroy (&store);
}

static void
test_file_open_and_sign (void **state)
{
    (void) state;
    char err [S_ERR_SIZE];
    ca_keystore_t *store = ca_keystore_new_file (s_key_dir, err, sizeof err);
    assert_non_null (store);
    for (size_t i = 0; i < S_CASES; i++) {
        EVP_PKEY *key = ca_keystore_open (store, s_user_pin, s_cases [i].label,
                                          err, sizeof err);
        if (!key)
            fail_msg ("%s: %s", s_cases [i].name, err);
        s_assert_signs (key, s_file_public [i], s_file_public [(i + 1) % S_CASES],
                        s_digest_for (s_cases [i].algorithm));
        EVP_PKEY_free (key);
    }
    ca_keystore_destroy (&store);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_arguments_refused),
        cmocka_unit_test (test_pkcs11_set_secret),
        cmocka_unit_test (test_pkcs11_generate),
        cmocka_unit_test (test_pkcs11_open_and_sign),
        cmocka_unit_test (test_pkcs11_keys_not_extractable),
        cmocka_unit_test (test_file_generate),
        cmocka_unit_test (test_file_refusals),
        cmocka_unit_test (test_file_open_and_sign),
    };
    return cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
}
