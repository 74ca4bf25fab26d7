/*  Unit tests for validation_seal: a one-time password sealed to mail's
    CURVE key opens with mail's secret key (crypto_box_seal_open), and with
    nothing else; a CURVE certificate's keys are the X25519 keys used.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <czmq.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "validation_password.h"
#include "validation_seal.h"

//  True when needle (len bytes) occurs in haystack (size bytes).
static bool
s_contains (const uint8_t *haystack, size_t size, const char *needle, size_t len)
{
    for (size_t i = 0; i + len <= size; i++)
        if (memcmp (haystack + i, needle, len) == 0)
            return true;
    return false;
}

static int
s_setup (void **state)
{
    (void) state;
    return sodium_init () < 0 ? -1 : 0;
}

static void
test_sealed_password_opens_with_the_secret_key_only (void **state)
{
    (void) state;
    uint8_t public_key [crypto_box_PUBLICKEYBYTES], secret_key [crypto_box_SECRETKEYBYTES];
    uint8_t other_public [crypto_box_PUBLICKEYBYTES], other_secret [crypto_box_SECRETKEYBYTES];
    crypto_box_keypair (public_key, secret_key);
    crypto_box_keypair (other_public, other_secret);
    char password [VALIDATION_OTP_LENGTH + 1];
    validation_otp_generate (password);

    uint8_t *sealed = NULL;
    size_t sealed_size = 0;
    assert_int_equal (validation_seal (public_key, password, strlen (password), &sealed,
                                       &sealed_size), 0);
    assert_int_equal (sealed_size, strlen (password) + VALIDATION_SEAL_OVERHEAD);
    //  The clear text is nowhere in the sealed bytes.
    assert_false (s_contains (sealed, sealed_size, password, strlen (password)));

    char opened [VALIDATION_OTP_LENGTH + 1] = "";
    assert_int_equal (crypto_box_seal_open ((uint8_t *) opened, sealed, sealed_size, public_key,
                                            secret_key), 0);
    assert_memory_equal (opened, password, strlen (password));
    //  Another key pair cannot open it; a flipped byte is detected.
    assert_int_not_equal (crypto_box_seal_open ((uint8_t *) opened, sealed, sealed_size,
                                                other_public, other_secret), 0);
    sealed [sealed_size - 1] ^= 1;
    assert_int_not_equal (crypto_box_seal_open ((uint8_t *) opened, sealed, sealed_size,
                                                public_key, secret_key), 0);
    free (sealed);

    //  Two seals of the same text differ (ephemeral key each time).
    uint8_t *first = NULL, *second = NULL;
    size_t first_size = 0, second_size = 0;
    assert_int_equal (validation_seal (public_key, password, strlen (password), &first,
                                       &first_size), 0);
    assert_int_equal (validation_seal (public_key, password, strlen (password), &second,
                                       &second_size), 0);
    assert_memory_not_equal (first, second, first_size);
    free (first);
    free (second);
}

static void
test_a_curve_certificate_opens_what_is_sealed_to_its_public_key (void **state)
{
    (void) state;
    //  What mail will do: its zcert's secret key opens the seal made to the
    //  public key validation read from mail.cert (Z85 in the file).
    zcert_t *mail = zcert_new ();
    assert_non_null (mail);
    uint8_t public_key [32];
    assert_non_null (zmq_z85_decode (public_key, zcert_public_txt (mail)));
    assert_memory_equal (public_key, zcert_public_key (mail), 32);
    const char *password = "Abcdefghjkmnpq23";
    uint8_t *sealed = NULL;
    size_t sealed_size = 0;
    assert_int_equal (validation_seal (public_key, password, strlen (password), &sealed,
                                       &sealed_size), 0);
    char opened [32] = "";
    assert_int_equal (crypto_box_seal_open ((uint8_t *) opened, sealed, sealed_size,
                                            zcert_public_key (mail), zcert_secret_key (mail)), 0);
    assert_string_equal (opened, password);
    free (sealed);
    zcert_destroy (&mail);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_sealed_password_opens_with_the_secret_key_only),
        cmocka_unit_test (test_a_curve_certificate_opens_what_is_sealed_to_its_public_key),
    };
    return cmocka_run_group_tests (tests, s_setup, NULL);
}
