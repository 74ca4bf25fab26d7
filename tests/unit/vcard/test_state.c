/*  Unit tests for vc_state: a card with keys, objects, changed PIN
    counters and an AES management key survives save and load unchanged;
    the file is written atomically (no temporary file left) and private;
    every truncation and every single-byte change of a saved file is either
    refused or read back as a consistent state, never a crash.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vc_state.h"

static char s_dir [256];

static int
s_setup (void **state)
{
    (void) state;
    snprintf (s_dir, sizeof s_dir, "/tmp/tessera-vcard-test-XXXXXX");
    assert_non_null (mkdtemp (s_dir));
    return 0;
}

static int
s_teardown (void **state)
{
    (void) state;
    DIR *dir = opendir (s_dir);
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        if (entry->d_name [0] == '.')
            continue;
        char path [512];
        snprintf (path, sizeof path, "%s/%s", s_dir, entry->d_name);
        unlink (path);
    }
    if (dir)
        closedir (dir);
    rmdir (s_dir);
    return 0;
}

static vc_state_t *
s_busy_card (void)
{
    vc_state_t *state = vc_state_new ();
    assert_non_null (state);
    EVP_PKEY *ec = vc_key_generate (VC_ALG_ECCP256);
    EVP_PKEY *rsa = vc_key_generate (VC_ALG_RSA2048);
    assert_non_null (ec);
    assert_non_null (rsa);
    vc_state_put_key (state, vc_state_slot_index (0x9A), VC_ALG_ECCP256, &ec);
    vc_state_put_key (state, vc_state_slot_index (0x9C), VC_ALG_RSA2048, &rsa);
    assert_null (ec);
    uint8_t cert [1500];
    cert [0] = 0x53;
    cert [1] = 0x82;
    cert [2] = (uint8_t) ((sizeof cert - 4) >> 8);
    cert [3] = (uint8_t) (sizeof cert - 4);
    for (size_t i = 4; i < sizeof cert; i++)
        cert [i] = (uint8_t) i;
    assert_int_equal (vc_state_put_object (state, 0x5FC105, cert, sizeof cert), 0);
    uint8_t aes [16] = { 9, 8, 7 };
    assert_int_equal (vc_state_set_mgmt_key (state, VC_ALG_AES128, aes, sizeof aes), 0);
    state->pin.tries_left = 1;
    state->puk.tries_left = 2;
    return state;
}

static void
s_assert_same (const vc_state_t *a, const vc_state_t *b)
{
    assert_memory_equal (a->guid, b->guid, VC_GUID_LEN);
    assert_int_equal (a->serial, b->serial);
    assert_memory_equal (&a->pin, &b->pin, sizeof a->pin);
    assert_memory_equal (&a->puk, &b->puk, sizeof a->puk);
    assert_int_equal (a->mgmt_alg, b->mgmt_alg);
    assert_memory_equal (a->mgmt_key, b->mgmt_key, VC_MGMT_KEY_MAX);
    for (int i = 0; i < VC_SLOT_COUNT; i++) {
        assert_int_equal (a->slots [i].alg, b->slots [i].alg);
        assert_int_equal (!!a->slots [i].key, !!b->slots [i].key);
        if (a->slots [i].key)
            assert_int_equal (EVP_PKEY_eq (a->slots [i].key, b->slots [i].key), 1);
    }
    assert_int_equal (a->object_count, b->object_count);
    for (size_t i = 0; i < a->object_count; i++) {
        const vc_object_t *other = vc_state_object (b, a->objects [i].id);
        assert_non_null (other);
        assert_int_equal (other->body_len, a->objects [i].body_len);
        assert_memory_equal (other->body, a->objects [i].body, other->body_len);
    }
}

static void
test_transport_state (void **state)
{
    (void) state;
    vc_state_t *card = vc_state_new ();
    assert_non_null (card);
    assert_memory_equal (card->pin.value, "123456\xFF\xFF", 8);
    assert_memory_equal (card->puk.value, "12345678", 8);
    assert_int_equal (card->pin.tries_left, 3);
    assert_int_equal (card->mgmt_alg, VC_ALG_3DES);
    assert_non_null (vc_state_object (card, 0x7E));
    const vc_object_t *chuid = vc_state_object (card, 0x5FC102);
    assert_non_null (chuid);
    //  The CHUID carries the GUID in tag 34.
    const uint8_t *guid_tag = NULL;
    for (size_t i = 0; i + 2 + VC_GUID_LEN <= chuid->body_len && !guid_tag; i++)
        if (chuid->body [i] == 0x34 && chuid->body [i + 1] == VC_GUID_LEN)
            guid_tag = chuid->body + i;
    assert_non_null (guid_tag);
    assert_memory_equal (guid_tag + 2, card->guid, VC_GUID_LEN);
    vc_state_t *other = vc_state_new ();
    assert_memory_not_equal (card->guid, other->guid, VC_GUID_LEN);
    vc_state_destroy (&card);
    vc_state_destroy (&other);
    assert_null (card);
    vc_state_destroy (&card);
}

static void
test_save_load_round_trip (void **state)
{
    (void) state;
    char path [512];
    snprintf (path, sizeof path, "%s/card.state", s_dir);
    vc_state_t *card = s_busy_card ();
    assert_int_equal (vc_state_save (card, path), 0);
    struct stat info;
    assert_int_equal (stat (path, &info), 0);
    assert_int_equal (info.st_mode & 0777, 0600);
    vc_state_t *loaded = vc_state_load (path);
    assert_non_null (loaded);
    s_assert_same (card, loaded);
    //  Saving over an existing file replaces it and leaves nothing else.
    loaded->pin.tries_left = 3;
    assert_int_equal (vc_state_save (loaded, path), 0);
    DIR *dir = opendir (s_dir);
    struct dirent *entry;
    int files = 0;
    while ((entry = readdir (dir)))
        if (entry->d_name [0] != '.')
            files++;
    closedir (dir);
    assert_int_equal (files, 1);
    vc_state_t *again = vc_state_load (path);
    assert_int_equal (again->pin.tries_left, 3);
    vc_state_destroy (&again);
    vc_state_destroy (&loaded);
    vc_state_destroy (&card);
    char missing [512];
    snprintf (missing, sizeof missing, "%s/absent", s_dir);
    assert_null (vc_state_load (missing));
    snprintf (missing, sizeof missing, "%s/no/such/dir/card", s_dir);
    card = vc_state_new ();
    assert_int_equal (vc_state_save (card, missing), -1);
    vc_state_destroy (&card);
}

static void
test_damaged_files (void **state)
{
    (void) state;
    vc_state_t *card = vc_state_new ();
    EVP_PKEY *ec = vc_key_generate (VC_ALG_ECCP256);
    vc_state_put_key (card, 0, VC_ALG_ECCP256, &ec);
    vc_buf_t encoded;
    vc_buf_init (&encoded, VC_STATE_FILE_MAX);
    assert_int_equal (vc_state_encode (card, &encoded), 0);
    //  Every truncation is refused (the last record is an object, so any
    //  cut breaks a record or loses a required one).
    for (size_t cut = 0; cut < encoded.len; cut++) {
        uint8_t *copy = malloc (cut ? cut : 1);
        memcpy (copy, encoded.data, cut);
        vc_state_t *loaded = vc_state_decode (copy, cut);
        if (loaded) {
            //  A cut exactly between records may still hold every required
            //  record: then it must be a consistent card.
            assert_int_equal (loaded->pin.tries_max, 3);
            vc_state_destroy (&loaded);
        }
        free (copy);
    }
    //  Every single-byte change decodes or is refused, without a crash.
    for (size_t at = 0; at < encoded.len; at++) {
        uint8_t *copy = malloc (encoded.len);
        memcpy (copy, encoded.data, encoded.len);
        copy [at] ^= 0x5A;
        vc_state_t *loaded = vc_state_decode (copy, encoded.len);
        if (loaded) {
            assert_true (loaded->pin.tries_left <= loaded->pin.tries_max);
            assert_int_not_equal (vc_mgmt_key_len (loaded->mgmt_alg), 0);
        }
        vc_state_destroy (&loaded);
        free (copy);
    }
    //  Duplicated singleton records are refused.
    vc_buf_t doubled;
    vc_buf_init (&doubled, VC_STATE_FILE_MAX);
    vc_buf_put (&doubled, encoded.data, encoded.len);
    vc_buf_put (&doubled, encoded.data + 9, 2 + VC_GUID_LEN);
    assert_null (vc_state_decode (doubled.data, doubled.len));
    vc_buf_reset (&doubled);
    vc_buf_reset (&encoded);
    vc_state_destroy (&card);
}

static void
test_objects (void **state)
{
    (void) state;
    vc_state_t *card = vc_state_new ();
    const uint8_t body [] = { 0x53, 0x01, 0x00 };
    for (uint32_t id = 0; card->object_count < VC_OBJECTS_MAX; id++)
        assert_int_equal (vc_state_put_object (card, 0x5FC110 + id, body, sizeof body), 0);
    assert_int_equal (vc_state_put_object (card, 0x5FFF00, body, sizeof body), -1);
    //  Replacing an existing one still works when full; deleting frees a place.
    assert_int_equal (vc_state_put_object (card, 0x5FC110, body, 2), 0);
    assert_int_equal (vc_state_object (card, 0x5FC110)->body_len, 2);
    assert_int_equal (vc_state_put_object (card, 0x5FC110, NULL, 0), 0);
    assert_null (vc_state_object (card, 0x5FC110));
    assert_int_equal (vc_state_put_object (card, 0x5FFF00, body, sizeof body), 0);
    assert_int_equal (card->object_count, VC_OBJECTS_MAX);
    uint8_t *huge = calloc (1, VC_OBJECT_MAX + 1);
    assert_int_equal (vc_state_put_object (card, 0x5FC105, huge, VC_OBJECT_MAX + 1), -1);
    free (huge);
    vc_state_destroy (&card);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_transport_state),
        cmocka_unit_test_setup_teardown (test_save_load_round_trip, s_setup, s_teardown),
        cmocka_unit_test (test_damaged_files),
        cmocka_unit_test (test_objects),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
