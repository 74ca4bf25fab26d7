/*  Unit tests for mail's bounds: ids, card UUIDs, tracking numbers,
    digests, page tokens, the postal address for the window, the outbox's
    backoff, and sealed secrets that only mail's key opens.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <czmq.h>
#include <string.h>

#include "mail_address.h"
#include "mail_input.h"
#include "mail_outbox.h"
#include "mail_reasons.h"
#include "mail_unseal.h"

static void
test_ids_and_formats (void **state)
{
    (void) state;
    assert_true (mail_id_valid ("per-0123456789abcdef"));
    assert_false (mail_id_valid ("a b"));
    assert_false (mail_id_valid ("x' OR 1=1"));
    assert_true (mail_optional_id_valid (""));
    assert_true (mail_card_uuid_valid ("0F0E0D0C-0b0a-4908-8706-050403020100"));
    assert_false (mail_card_uuid_valid ("0f0e0d0c0b0a490887060504030201000000"));
    assert_false (mail_card_uuid_valid ("0f0e0d0c-0b0a-4908-8706-05040302010g"));
    assert_true (mail_tracking_valid ("1A23456789012"));
    assert_false (mail_tracking_valid ("1a23"));
    assert_false (mail_tracking_valid ("1A2\r\nBcc"));
    assert_false (mail_tracking_valid ("123456789012345678901234567890123"));
    assert_true (mail_sha256_hex_valid ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    assert_false (mail_sha256_hex_valid ("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
    assert_true (mail_serial_valid ("7a01"));
    assert_false (mail_serial_valid ("7A01"));
    assert_true (mail_text_valid ("Élodie", 1, 6));
    assert_false (mail_text_valid ("Élodie", 1, 5));
    assert_false (mail_text_valid ("a\xe2\x80\xae" "b", 0, 10));
}

static void
test_page_tokens (void **state)
{
    (void) state;
    int64_t before = 0;
    assert_true (mail_page_token_parse ("", &before));
    assert_true (before == INT64_MAX);
    assert_true (mail_page_token_parse ("42", &before));
    assert_true (before == 42);
    assert_false (mail_page_token_parse ("-1", &before));
    assert_false (mail_page_token_parse ("0", &before));
    assert_false (mail_page_token_parse ("abc", &before));
    assert_false (mail_page_token_parse ("99999999999999999999", &before));
    assert_int_equal (mail_page_limit (0), MAIL_PAGE_MAX);
    assert_int_equal (mail_page_limit (1000), MAIL_PAGE_MAX);
    assert_int_equal (mail_page_limit (7), 7);
}

static void
test_postal_address_fits_the_window (void **state)
{
    (void) state;
    char *lines [] = { "Bâtiment B", "12 rue de la Paix" };
    Tessera__V1__PostalAddress address = TESSERA__V1__POSTAL_ADDRESS__INIT;
    address.n_lines = 2;
    address.lines = lines;
    address.postal_code = "75002";
    address.city = "Paris";
    address.country_code = "FR";
    Tessera__V1__Person person = TESSERA__V1__PERSON__INIT;
    person.given_name = "Élodie";
    person.surname = "Dupré";
    person.postal_address = &address;
    mail_postal_t postal;
    char err [200];
    assert_int_equal (mail_postal_check (&person, &postal, err, sizeof err), 0);
    assert_string_equal (postal.name, "Élodie Dupré");
    assert_string_equal (postal.lines, "Bâtiment B\n12 rue de la Paix");
    //  38 characters at most on the name line (accents count as one).
    person.surname = "de La Tour d'Auvergne-Lauraguais-Bouillon";
    assert_int_equal (mail_postal_check (&person, &postal, err, sizeof err), -1);
    assert_non_null (strstr (err, "window"));
    person.surname = "Dupré\r\nX";
    assert_int_equal (mail_postal_check (&person, &postal, err, sizeof err), -1);
    person.surname = "Dupré";
    lines [1] = "12 rue de la Paix, escalier C, porte 4, 3e étage";
    assert_int_equal (mail_postal_check (&person, &postal, err, sizeof err), -1);
    assert_non_null (strstr (err, "lines[1]"));
    lines [1] = "12 rue de la Paix";
    address.city = "Saint-Rémy-lès-Chevreuse-sur-le-Grand-Lac";
    assert_int_equal (mail_postal_check (&person, &postal, err, sizeof err), -1);
    address.city = "Paris";
    address.country_code = "fr";
    assert_int_equal (mail_postal_check (&person, &postal, err, sizeof err), -1);
}

static void
test_backoff_doubles_up_to_the_cap (void **state)
{
    (void) state;
    assert_int_equal (mail_outbox_backoff_ms (200, 1000, 1), 200);
    assert_int_equal (mail_outbox_backoff_ms (200, 1000, 2), 400);
    assert_int_equal (mail_outbox_backoff_ms (200, 1000, 3), 800);
    assert_int_equal (mail_outbox_backoff_ms (200, 1000, 4), 1000);
    assert_int_equal (mail_outbox_backoff_ms (60000, 3600000, 100), 3600000);
}

static void
test_reasons_in_words (void **state)
{
    (void) state;
    assert_string_equal (mail_reason_text (2, "fr"), "compromission de la clé");
    assert_string_equal (mail_reason_text (2, "en"), "key compromise");
    assert_string_equal (mail_reason_text (999, "en"), "not given");
}

static void
test_sealed_secrets_open_with_our_key_only (void **state)
{
    (void) state;
    assert_true (sodium_init () >= 0);
    uint8_t public_key [32], secret_key [32], other_public [32], other_secret [32];
    crypto_box_keypair (public_key, secret_key);
    crypto_box_keypair (other_public, other_secret);
    mail_keys_t *keys = mail_keys_new (public_key, secret_key);
    mail_keys_t *other = mail_keys_new (other_public, other_secret);
    assert_non_null (keys);
    uint8_t sealed [crypto_box_SEALBYTES + 8];
    crypto_box_seal (sealed, (const unsigned char *) "12345678", 8, public_key);
    char *text = NULL;
    assert_int_equal (mail_unseal_text (keys, sealed, sizeof sealed, 64, &text), 0);
    assert_string_equal (text, "12345678");
    mail_unsealed_free (&text);
    assert_null (text);
    assert_int_equal (mail_unseal_text (other, sealed, sizeof sealed, 64, &text), -1);
    assert_int_equal (mail_unseal_text (keys, sealed, sizeof sealed, 4, &text), -1);
    sealed [sizeof sealed - 1] ^= 1;
    assert_int_equal (mail_unseal_text (keys, sealed, sizeof sealed, 64, &text), -1);
    //  Printable text only: a sealed line break is refused.
    crypto_box_seal (sealed, (const unsigned char *) "1234\n678", 8, public_key);
    assert_int_equal (mail_unseal_text (keys, sealed, sizeof sealed, 64, &text), -1);
    char z85 [41];
    zmq_z85_encode (z85, public_key, 32);
    assert_true (mail_keys_match (keys, z85));
    assert_false (mail_keys_match (other, z85));
    mail_keys_destroy (&keys);
    mail_keys_destroy (&other);
    assert_null (keys);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_ids_and_formats),
        cmocka_unit_test (test_page_tokens),
        cmocka_unit_test (test_postal_address_fits_the_window),
        cmocka_unit_test (test_backoff_doubles_up_to_the_cap),
        cmocka_unit_test (test_reasons_in_words),
        cmocka_unit_test (test_sealed_secrets_open_with_our_key_only),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
