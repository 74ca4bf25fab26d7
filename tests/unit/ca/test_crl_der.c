/*  Unit tests for ca_crl_der: the CRL it writes is, byte for byte, the one
    OpenSSL's X509_CRL API makes from the same entries and extensions
    (X509_REVOKED per entry, X509_CRL_sort, X509_CRL_sign): the whole DER
    with an RSA key (PKCS#1 v1.5 signatures are deterministic), the
    TBSCertList with an EC key (ECDSA's are not), and the signature verifies
    with X509_CRL_verify. The entries cover serials with the top bit set, an
    odd digit count and leading zeros, the reason codes (none, keyCompromise,
    removeFromCRL), an invalidity date, and revocation dates on both sides
    of 2050 (UTCTime, GeneralizedTime); then four thousand pseudo-random
    entries (the sort and the time writing over 1970-9999). Bad serials and
    times are refused; a serial given as octets is the same entry as its hex.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "ca_crl_der.h"

typedef struct {
    const char *serial_hex;
    int reason;
    int64_t revoked_at;
    int64_t invalidity;
} s_case_t;

static const s_case_t s_cases [] = {
    { "4f3a0000000000000000000000000001", 1, 1764115200, 0 },
    { "ff00000000000000000000000000000a", 0, 1764115200, 0 },              //  top bit: 0x00 pad
    { "abc", 8, 1764115201, 0 },                                           //  odd, removeFromCRL
    { "0000000000000000000000000000007f", 1, 1764115202, 1764000000 },     //  leading zeros
    { "12", 3, 2556143999, 0 },                                            //  2050-12-31: GeneralizedTime
    { "7fffffffffffffffffffffffffffffffffffffff", 4, 1000000000, 0 },      //  20 octets
    { "01", 1, 1764115200, 2600000000 },                                   //  invalidity after 2050
};
#define S_CASES (sizeof s_cases / sizeof s_cases [0])

static X509 *
s_self_signed (EVP_PKEY *key)
{
    X509 *cert = X509_new ();
    X509_NAME *name = X509_NAME_new ();
    assert_non_null (cert);
    assert_non_null (name);
    assert_true (X509_NAME_add_entry_by_txt (name, "O", MBSTRING_UTF8,
                                             (const unsigned char *) "Tessera Trust", -1, -1, 0));
    assert_true (X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8,
                                             (const unsigned char *) "Tessera Issuing CA", -1, -1, 0));
    assert_true (X509_set_version (cert, X509_VERSION_3));
    assert_true (ASN1_INTEGER_set (X509_get_serialNumber (cert), 1));
    assert_true (X509_set_subject_name (cert, name));
    assert_true (X509_set_issuer_name (cert, name));
    assert_non_null (X509_gmtime_adj (X509_getm_notBefore (cert), 0));
    assert_non_null (X509_gmtime_adj (X509_getm_notAfter (cert), 86400));
    assert_true (X509_set_pubkey (cert, key));
    X509V3_CTX ctx;
    X509V3_set_ctx (&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ski = X509V3_EXT_conf_nid (NULL, &ctx, NID_subject_key_identifier, "hash");
    assert_non_null (ski);
    assert_true (X509_add_ext (cert, ski, -1));
    X509_EXTENSION_free (ski);
    assert_true (X509_sign (cert, key, EVP_sha256 ()) > 0);
    X509_NAME_free (name);
    return cert;
}

//  The CRL extensions as the ca sets them: number, AKI, freshestCRL.
static void
s_add_extensions (X509_CRL *crl, X509 *issuer)
{
    ASN1_INTEGER *number = ASN1_INTEGER_new ();
    assert_true (ASN1_INTEGER_set_uint64 (number, 42));
    assert_int_equal (X509_CRL_add1_ext_i2d (crl, NID_crl_number, number, 0, 0), 1);
    ASN1_INTEGER_free (number);
    X509V3_CTX ctx;
    X509V3_set_ctx (&ctx, issuer, NULL, NULL, crl, 0);
    const struct { int nid; const char *value; } exts [] = {
        { NID_authority_key_identifier, "keyid:always" },
        { NID_freshest_crl, "URI:http://127.0.0.1:8207/crl/issuing-delta.crl" },
    };
    for (size_t i = 0; i < 2; i++) {
        X509_EXTENSION *ext = X509V3_EXT_nconf_nid (NULL, &ctx, exts [i].nid, exts [i].value);
        assert_non_null (ext);
        assert_true (X509_CRL_add_ext (crl, ext, -1));
        X509_EXTENSION_free (ext);
    }
}

//  The reference: what ca_crl.c did before, with OpenSSL's objects.
static X509_CRL *
s_reference (X509 *issuer, EVP_PKEY *key, time_t this_update, time_t next_update,
             const s_case_t *cases, size_t count)
{
    X509_CRL *crl = X509_CRL_new ();
    ASN1_TIME *t = ASN1_TIME_new ();
    assert_true (X509_CRL_set_version (crl, X509_CRL_VERSION_2));
    assert_true (X509_CRL_set_issuer_name (crl, X509_get_subject_name (issuer)));
    assert_true (ASN1_TIME_set (t, this_update) && X509_CRL_set1_lastUpdate (crl, t));
    assert_true (ASN1_TIME_set (t, next_update) && X509_CRL_set1_nextUpdate (crl, t));
    for (size_t i = 0; i < count; i++) {
        X509_REVOKED *entry = X509_REVOKED_new ();
        BIGNUM *number = NULL;
        assert_true (BN_hex2bn (&number, cases [i].serial_hex));
        ASN1_INTEGER *serial = BN_to_ASN1_INTEGER (number, NULL);
        assert_true (X509_REVOKED_set_serialNumber (entry, serial));
        assert_true (ASN1_TIME_set (t, (time_t) cases [i].revoked_at));
        assert_true (X509_REVOKED_set_revocationDate (entry, t));
        if (cases [i].reason) {
            ASN1_ENUMERATED *code = ASN1_ENUMERATED_new ();
            assert_true (ASN1_ENUMERATED_set (code, cases [i].reason));
            assert_int_equal (X509_REVOKED_add1_ext_i2d (entry, NID_crl_reason, code, 0, 0), 1);
            ASN1_ENUMERATED_free (code);
        }
        if (cases [i].invalidity) {
            ASN1_GENERALIZEDTIME *date = ASN1_GENERALIZEDTIME_set (NULL, (time_t) cases [i].invalidity);
            assert_int_equal (X509_REVOKED_add1_ext_i2d (entry, NID_invalidity_date, date, 0, 0), 1);
            ASN1_GENERALIZEDTIME_free (date);
        }
        assert_true (X509_CRL_add0_revoked (crl, entry));
        ASN1_INTEGER_free (serial);
        BN_free (number);
    }
    assert_true (X509_CRL_sort (crl));
    s_add_extensions (crl, issuer);
    assert_true (X509_CRL_sign (crl, key, EVP_sha256 ()) > 0);
    ASN1_TIME_free (t);
    return crl;
}

static void
s_compare (EVP_PKEY *key, bool whole, const s_case_t *cases, size_t count)
{
    X509 *issuer = s_self_signed (key);
    time_t now = 1764115300, next = now + 24 * 3600;
    ca_crl_entries_t entries = { 0 };
    for (size_t i = 0; i < count; i++)
        assert_int_equal (ca_crl_entries_add (&entries, cases [i].serial_hex, cases [i].reason,
                                              cases [i].revoked_at, cases [i].invalidity), 0);
    ca_crl_entries_sort (&entries);
    X509_CRL *extensions = X509_CRL_new ();
    s_add_extensions (extensions, issuer);
    ca_crl_der_t crl;
    assert_int_equal (ca_crl_der_tbs (&crl, issuer, key, EVP_sha256 (), now, next, &entries,
                                      extensions), 0);
    assert_int_equal (ca_crl_der_sign (&crl, key, EVP_sha256 ()), 0);

    X509_CRL *reference = s_reference (issuer, key, now, next, cases, count);
    unsigned char *expected = NULL, *expected_tbs = NULL;
    int expected_size = i2d_X509_CRL (reference, &expected);
    int expected_tbs_size = i2d_re_X509_CRL_tbs (reference, &expected_tbs);
    assert_true (expected_size > 0 && expected_tbs_size > 0);
    assert_int_equal (crl.tbs_size, (size_t) expected_tbs_size);
    assert_memory_equal (crl.buffer + crl.tbs_offset, expected_tbs, (size_t) expected_tbs_size);
    if (whole) {
        assert_int_equal (crl.size, (size_t) expected_size);
        assert_memory_equal (crl.der, expected, (size_t) expected_size);
    }
    const unsigned char *p = crl.der;
    X509_CRL *parsed = d2i_X509_CRL (NULL, &p, (long) crl.size);
    assert_non_null (parsed);
    assert_ptr_equal (p, crl.der + crl.size);
    assert_int_equal (X509_CRL_verify (parsed, key), 1);
    assert_int_equal (sk_X509_REVOKED_num (X509_CRL_get_REVOKED (parsed)), (int) count);

    X509_CRL_free (parsed);
    OPENSSL_free (expected);
    OPENSSL_free (expected_tbs);
    X509_CRL_free (reference);
    X509_CRL_free (extensions);
    ca_crl_der_free (&crl);
    ca_crl_entries_free (&entries);
    X509_free (issuer);
}

static void
test_rsa_crl_is_openssls_byte_for_byte (void **state)
{
    (void) state;
    EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 2048);
    assert_non_null (key);
    s_compare (key, true, s_cases, S_CASES);
    EVP_PKEY_free (key);
}

static void
test_ec_crl_has_openssls_tbs_and_verifies (void **state)
{
    (void) state;
    EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    assert_non_null (key);
    s_compare (key, false, s_cases, S_CASES);
    EVP_PKEY_free (key);
}

static void
test_empty_crl_is_openssls (void **state)
{
    (void) state;
    EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 2048);
    X509 *issuer = s_self_signed (key);
    X509_CRL *extensions = X509_CRL_new ();
    s_add_extensions (extensions, issuer);
    ca_crl_entries_t entries = { 0 };
    ca_crl_der_t crl;
    assert_int_equal (ca_crl_der_tbs (&crl, issuer, key, EVP_sha256 (), 1764115300,
                                      1764115300 + 3600, &entries, extensions), 0);
    assert_int_equal (ca_crl_der_sign (&crl, key, EVP_sha256 ()), 0);
    //  OpenSSL leaves revokedCertificates out when there is none.
    X509_CRL *reference = X509_CRL_new ();
    ASN1_TIME *t = ASN1_TIME_new ();
    assert_true (X509_CRL_set_version (reference, X509_CRL_VERSION_2));
    assert_true (X509_CRL_set_issuer_name (reference, X509_get_subject_name (issuer)));
    assert_true (ASN1_TIME_set (t, 1764115300) && X509_CRL_set1_lastUpdate (reference, t));
    assert_true (ASN1_TIME_set (t, 1764115300 + 3600) && X509_CRL_set1_nextUpdate (reference, t));
    s_add_extensions (reference, issuer);
    assert_true (X509_CRL_sign (reference, key, EVP_sha256 ()) > 0);
    unsigned char *expected = NULL;
    int expected_size = i2d_X509_CRL (reference, &expected);
    assert_int_equal (crl.size, (size_t) expected_size);
    assert_memory_equal (crl.der, expected, (size_t) expected_size);
    OPENSSL_free (expected);
    ASN1_TIME_free (t);
    X509_CRL_free (reference);
    X509_CRL_free (extensions);
    ca_crl_der_free (&crl);
    X509_free (issuer);
    EVP_PKEY_free (key);
}

static void
test_bad_entries_are_refused (void **state)
{
    (void) state;
    ca_crl_entries_t entries = { 0 };
    const char *bad [] = { "", "0", "0000", "xyz", "12 4", "-1",
                           "123456789012345678901234567890123456789012" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        assert_int_equal (ca_crl_entries_add (&entries, bad [i], 1, 1764115200, 0), -1);
    assert_int_equal (ca_crl_entries_add (&entries, NULL, 1, 1764115200, 0), -1);
    assert_int_equal (ca_crl_entries_add (&entries, "01", 11, 1764115200, 0), -1);
    assert_int_equal (ca_crl_entries_add (&entries, "01", 1, -1, 0), -1);
    assert_int_equal (ca_crl_entries_add (&entries, "01", 1, 253402300800LL, 0), -1);
    assert_int_equal (ca_crl_entries_add (&entries, "01", 1, 1764115200, -5), -1);
    assert_int_equal (entries.count, 0);
    assert_int_equal (ca_crl_entries_add (&entries, "01", 1, 253402300799LL, 0), 0);
    assert_int_equal (entries.count, 1);
    ca_crl_entries_free (&entries);
}

//  A pseudo-random sequence of our own, the same on every run.
static uint64_t
s_next (uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return *seed >> 33;
}

//  Many entries: serials of 1 to 20 octets, a third of them sharing their
//  first 8 octets (the sort's tie-break), times anywhere from 1970 to 9999
//  and both sides of 2050, every reason. Sorting and time writing are
//  OpenSSL's, byte for byte.
static void
test_many_random_entries_are_openssls (void **state)
{
    (void) state;
    enum { S_COUNT = 4000 };
    static char serials [S_COUNT][2 * 20 + 1];
    static s_case_t cases [S_COUNT];
    static const int reasons [] = { 0, 1, 2, 3, 4, 5, 6, 8, 9, 10 };
    static const int64_t edges [] = { 0, 86399, 951782400, 2524607999LL, 2524608000LL,
                                      4107542400LL, 253402300799LL };
    const char *digits = "0123456789abcdef";
    uint64_t seed = 20261126;
    for (size_t i = 0; i < S_COUNT; i++) {
        size_t size = 1 + s_next (&seed) % 20;
        bool shared = size > 8 && s_next (&seed) % 3 == 0;
        for (size_t d = 0; d < 2 * size; d++)
            serials [i][d] = digits [shared && d < 16 ? (d * 7 + 3) % 16 : s_next (&seed) % 16];
        if (serials [i][0] == '0')
            serials [i][0] = '5';       //  no leading zero: equal numbers are equal strings
        serials [i][2 * size] = '\0';
        bool unique = true;
        for (size_t j = 0; j < i && unique; j++)
            unique = strcmp (serials [i], serials [j]) != 0;
        if (!unique) {
            i--;
            continue;
        }
        cases [i].serial_hex = serials [i];
        cases [i].reason = reasons [s_next (&seed) % 10];
        cases [i].revoked_at = s_next (&seed) % 5 == 0
            ? edges [s_next (&seed) % 7]
            : (int64_t) ((s_next (&seed) << 20 ^ s_next (&seed)) % 253402300800ULL);
        cases [i].invalidity = s_next (&seed) % 4 == 0
            ? 1 + (int64_t) ((s_next (&seed) << 20 ^ s_next (&seed)) % 253402300799ULL) : 0;
    }
    EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 2048);
    assert_non_null (key);
    s_compare (key, true, cases, S_COUNT);
    EVP_PKEY_free (key);
}

//  Octets as the certificates table holds them: the same entry as the hex.
static void
test_octets_are_the_hex_entry (void **state)
{
    (void) state;
    ca_crl_entries_t from_hex = { 0 }, from_octets = { 0 };
    const uint8_t serial [] = { 0x00, 0x00, 0x9a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                0x08, 0x09 };
    assert_int_equal (ca_crl_entries_add (&from_hex, "00009a010203040506070809", 1,
                                          1764115200, 1764000000), 0);
    assert_int_equal (ca_crl_entries_add_octets (&from_octets, serial, sizeof serial, 1,
                                                 1764115200, 1764000000), 0);
    assert_int_equal (from_octets.count, 1);
    assert_memory_equal (from_octets.items, from_hex.items, sizeof *from_hex.items);
    assert_int_equal (from_octets.items [0].serial_size, 10);
    const uint8_t zeros [3] = { 0 }, long_serial [21] = { 1 };
    assert_int_equal (ca_crl_entries_add_octets (&from_octets, NULL, 4, 1, 1764115200, 0), -1);
    assert_int_equal (ca_crl_entries_add_octets (&from_octets, serial, 0, 1, 1764115200, 0), -1);
    assert_int_equal (ca_crl_entries_add_octets (&from_octets, zeros, 3, 1, 1764115200, 0), -1);
    assert_int_equal (ca_crl_entries_add_octets (&from_octets, long_serial, 21, 1, 1764115200, 0),
                      -1);
    assert_int_equal (from_octets.count, 1);
    ca_crl_entries_free (&from_hex);
    ca_crl_entries_free (&from_octets);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_rsa_crl_is_openssls_byte_for_byte),
        cmocka_unit_test (test_ec_crl_has_openssls_tbs_and_verifies),
        cmocka_unit_test (test_empty_crl_is_openssls),
        cmocka_unit_test (test_bad_entries_are_refused),
        cmocka_unit_test (test_many_random_entries_are_openssls),
        cmocka_unit_test (test_octets_are_the_hex_entry),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
