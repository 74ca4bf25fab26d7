/*  Unit tests for publisher_ocsp's input conversions: the GET form's
    base64 path (URL-encoded or not, padded or not, base64url, a '+' a lax
    client turned into ' ') and the serial number the ca's records use.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <stdlib.h>
#include <string.h>

#include "publisher_ocsp.h"

static void
s_decoded (const char *text, const char *expected)
{
    uint8_t *der = NULL;
    size_t size = 0;
    if (publisher_ocsp_decode_get (text, &der, &size))
        fail_msg ("\"%s\" should decode", text);
    assert_int_equal (size, strlen (expected));
    assert_memory_equal (der, expected, size);
    free (der);
}

static void
s_refused (const char *text)
{
    uint8_t *der = NULL;
    size_t size = 0;
    if (publisher_ocsp_decode_get (text, &der, &size) == 0)
        fail_msg ("\"%s\" should be refused", text);
    assert_null (der);
}

static void
test_get_form_decoding (void **state)
{
    (void) state;
    s_decoded ("TWFu", "Man");
    s_decoded ("TWE=", "Ma");
    s_decoded ("TWE", "Ma");                    //  padding left out
    s_decoded ("TWE%3D", "Ma");                 //  still URL-encoded
    s_decoded ("TQ%3D%3D", "M");
    s_decoded ("Pz8%2F", "??\?");               //  %2F is '/'
    s_decoded ("Pz8/", "??\?");
    s_decoded ("Pz8_", "??\?");                 //  base64url
    s_decoded ("Pj4%2B", ">>>");
    s_decoded ("Pj4+", ">>>");
    s_decoded ("Pj4 ", ">>>");                  //  '+' turned into ' ' by a lax client
    s_refused ("");
    s_refused ("T");                            //  6 bits: not a byte
    s_refused ("TWF=u");                        //  data after padding
    s_refused ("TW===");
    s_refused ("TWF*");
    s_refused ("TWE%");
    s_refused ("TWE%3");
    s_refused ("TWE%G0");
    s_refused ("TWF");                          //  left-over bits not zero
}

static void
test_serial_hex (void **state)
{
    (void) state;
    char out [PUBLISHER_SERIAL_HEX_MAX + 1];
    ASN1_INTEGER *number = ASN1_INTEGER_new ();
    ASN1_INTEGER_set (number, 0x0102);
    assert_int_equal (publisher_serial_hex (number, out), 0);
    assert_string_equal (out, "0102");
    ASN1_INTEGER_set (number, 0xab);
    assert_int_equal (publisher_serial_hex (number, out), 0);
    assert_string_equal (out, "ab");
    ASN1_INTEGER_set (number, -5);
    assert_int_equal (publisher_serial_hex (number, out), -1);
    ASN1_INTEGER_set (number, 0);
    assert_int_equal (publisher_serial_hex (number, out), -1);
    BIGNUM *big = BN_new ();
    BN_set_bit (big, 160);                      //  21 octets
    ASN1_INTEGER *large = BN_to_ASN1_INTEGER (big, NULL);
    assert_int_equal (publisher_serial_hex (large, out), -1);
    BN_clear_bit (big, 160);
    BN_set_bit (big, 159);                      //  20 octets
    ASN1_INTEGER_free (large);
    large = BN_to_ASN1_INTEGER (big, NULL);
    assert_int_equal (publisher_serial_hex (large, out), 0);
    assert_int_equal (strlen (out), 40);
    assert_int_equal (publisher_serial_hex (NULL, out), -1);
    ASN1_INTEGER_free (large);
    BN_free (big);
    ASN1_INTEGER_free (number);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_get_form_decoding),
        cmocka_unit_test (test_serial_hex),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
