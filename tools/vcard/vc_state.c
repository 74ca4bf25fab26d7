/*  vc_state: the card's persistent state and its file (see vc_state.h).

    File format, version 1: the 8 bytes "TSRVCARD", a version byte 01,
    then records, each one BER-TLV read with vc_tlv (lengths up to 65535):

        01 guid (16)            02 serial (4, big-endian)
        03 PIN: value (8), tries left, tries max
        04 PUK: same layout
        05 management key: algorithm, key (24, 16, 24 or 32 bytes)
        06 key pair: key reference (9A..9E), algorithm, private key DER
        07 data object: id (3 bytes, big-endian), the TLV GET DATA returns

    The first five appear once each; 06 and 07 as often as needed.
*/
#include "vc_state.h"
#include "vc_tlv.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MAGIC         "TSRVCARD"
#define S_MAGIC_LEN     8
#define S_VERSION       0x01

static const uint8_t s_key_refs [VC_SLOT_COUNT] = { 0x9A, 0x9C, 0x9D, 0x9E };

//  SP 800-73-4 Discovery object: the PIV AID, PIN usage policy "PIV PIN
//  only" (40 00).
static const uint8_t s_discovery [] = {
    0x7E, 0x12, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
    0x5F, 0x2F, 0x02, 0x40, 0x00
};

//  A FASC-N that says "no agency, no credential" (agency code 9999, the
//  value card vendors ship in blank CHUIDs).
static const uint8_t s_fascn [25] = {
    0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68,
    0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB
};

static const uint8_t s_default_pin [VC_PIN_LEN] = { '1', '2', '3', '4', '5', '6', 0xFF, 0xFF };
static const uint8_t s_default_puk [VC_PIN_LEN] = { '1', '2', '3', '4', '5', '6', '7', '8' };
static const uint8_t s_default_mgmt [24] = {
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8
};

int
vc_state_slot_index (uint8_t key_ref)
{
    for (int i = 0; i < VC_SLOT_COUNT; i++)
        if (s_key_refs [i] == key_ref)
            return i;
    return -1;
}

//  53 { 30 FASC-N, 34 GUID, 35 expiry "20991231", 3E signature (empty), FE LRC }
static int
s_put_chuid (vc_state_t *self)
{
    uint8_t body [128];
    size_t at = 0;
    body [at++] = 0x53;
    body [at++] = 0;                    //  length, set below
    body [at++] = 0x30;
    body [at++] = sizeof s_fascn;
    memcpy (body + at, s_fascn, sizeof s_fascn);
    at += sizeof s_fascn;
    body [at++] = 0x34;
    body [at++] = VC_GUID_LEN;
    memcpy (body + at, self->guid, VC_GUID_LEN);
    at += VC_GUID_LEN;
    body [at++] = 0x35;
    body [at++] = 8;
    memcpy (body + at, "20991231", 8);
    at += 8;
    body [at++] = 0x3E;
    body [at++] = 0;
    body [at++] = 0xFE;
    body [at++] = 0;
    body [1] = (uint8_t) (at - 2);
    return vc_state_put_object (self, 0x5FC102, body, at);
}

vc_state_t *
vc_state_new (void)
{
    vc_state_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    uint8_t serial [4];
    if (RAND_bytes (self->guid, VC_GUID_LEN) != 1 || RAND_bytes (serial, sizeof serial) != 1)
        goto fail;
    //  An RFC 4122 version 4 UUID, so tools that print it as one agree.
    self->guid [6] = (uint8_t) ((self->guid [6] & 0x0F) | 0x40);
    self->guid [8] = (uint8_t) ((self->guid [8] & 0x3F) | 0x80);
    self->serial = ((uint32_t) (serial [0] & 0x7F) << 24) | ((uint32_t) serial [1] << 16)
                 | ((uint32_t) serial [2] << 8) | serial [3];
    vc_pin_set (&self->pin, s_default_pin);
    vc_pin_set (&self->puk, s_default_puk);
    if (vc_state_set_mgmt_key (self, VC_ALG_3DES, s_default_mgmt, sizeof s_default_mgmt)
    ||  vc_state_put_object (self, 0x7E, s_discovery, sizeof s_discovery)
    ||  s_put_chuid (self))
        goto fail;
    return self;
fail:
    vc_state_destroy (&self);
    return NULL;
}

void
vc_state_destroy (vc_state_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    vc_state_t *self = *self_p;
    for (int i = 0; i < VC_SLOT_COUNT; i++)
        EVP_PKEY_free (self->slots [i].key);
    for (size_t i = 0; i < self->object_count; i++)
        free (self->objects [i].body);
    OPENSSL_cleanse (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

const vc_object_t *
vc_state_object (const vc_state_t *self, uint32_t id)
{
    for (size_t i = 0; i < self->object_count; i++)
        if (self->objects [i].id == id)
            return &self->objects [i];
    return NULL;
}

int
vc_state_put_object (vc_state_t *self, uint32_t id, const uint8_t *body, size_t body_len)
{
    if (body_len > VC_OBJECT_MAX)
        return -1;
    size_t index = 0;
    while (index < self->object_count && self->objects [index].id != id)
        index++;
    if (body_len == 0) {
        if (index < self->object_count) {
            free (self->objects [index].body);
            self->objects [index] = self->objects [--self->object_count];
            memset (&self->objects [self->object_count], 0, sizeof (vc_object_t));
        }
        return 0;
    }
    if (index == self->object_count && self->object_count == VC_OBJECTS_MAX)
        return -1;
    uint8_t *copy = malloc (body_len);
    if (!copy)
        return -1;
    memcpy (copy, body, body_len);
    if (index == self->object_count)
        self->object_count++;
    else
        free (self->objects [index].body);
    self->objects [index].id = id;
    self->objects [index].body = copy;
    self->objects [index].body_len = body_len;
    return 0;
}

void
vc_state_put_key (vc_state_t *self, int slot_index, uint8_t alg, EVP_PKEY **key_p)
{
    if (slot_index < 0 || slot_index >= VC_SLOT_COUNT || !key_p)
        return;
    EVP_PKEY_free (self->slots [slot_index].key);
    self->slots [slot_index].key = *key_p;
    self->slots [slot_index].alg = *key_p ? alg : 0;
    *key_p = NULL;
}

int
vc_state_set_mgmt_key (vc_state_t *self, uint8_t alg, const uint8_t *key, size_t key_len)
{
    size_t want = vc_mgmt_key_len (alg);
    if (want == 0 || key_len != want || !key)
        return -1;
    OPENSSL_cleanse (self->mgmt_key, sizeof self->mgmt_key);
    memcpy (self->mgmt_key, key, key_len);
    self->mgmt_alg = alg;
    return 0;
}

static void
s_put_pin (vc_buf_t *out, uint8_t tag, const vc_pin_t *pin)
{
    vc_buf_put_tl (out, tag, VC_PIN_LEN + 2);
    vc_buf_put (out, pin->value, VC_PIN_LEN);
    vc_buf_put_u8 (out, pin->tries_left);
    vc_buf_put_u8 (out, pin->tries_max);
}

int
vc_state_encode (const vc_state_t *self, vc_buf_t *out)
{
    vc_buf_put (out, (const uint8_t *) S_MAGIC, S_MAGIC_LEN);
    vc_buf_put_u8 (out, S_VERSION);
    vc_buf_put_tl (out, 0x01, VC_GUID_LEN);
    vc_buf_put (out, self->guid, VC_GUID_LEN);
    uint8_t serial [4] = {
        (uint8_t) (self->serial >> 24), (uint8_t) (self->serial >> 16),
        (uint8_t) (self->serial >> 8), (uint8_t) self->serial
    };
    vc_buf_put_tl (out, 0x02, sizeof serial);
    vc_buf_put (out, serial, sizeof serial);
    s_put_pin (out, 0x03, &self->pin);
    s_put_pin (out, 0x04, &self->puk);
    size_t mgmt_len = vc_mgmt_key_len (self->mgmt_alg);
    vc_buf_put_tl (out, 0x05, 1 + mgmt_len);
    vc_buf_put_u8 (out, self->mgmt_alg);
    vc_buf_put (out, self->mgmt_key, mgmt_len);
    for (int i = 0; i < VC_SLOT_COUNT; i++) {
        if (!self->slots [i].key)
            continue;
        vc_buf_t der;
        vc_buf_init (&der, 8192);
        if (vc_key_to_der (self->slots [i].key, &der)) {
            vc_buf_reset (&der);
            return -1;
        }
        vc_buf_put_tl (out, 0x06, 2 + der.len);
        vc_buf_put_u8 (out, s_key_refs [i]);
        vc_buf_put_u8 (out, self->slots [i].alg);
        vc_buf_put (out, der.data, der.len);
        vc_buf_reset (&der);
    }
    for (size_t i = 0; i < self->object_count; i++) {
        const vc_object_t *object = &self->objects [i];
        vc_buf_put_tl (out, 0x07, 3 + object->body_len);
        vc_buf_put_u8 (out, (uint8_t) (object->id >> 16));
        vc_buf_put_u8 (out, (uint8_t) (object->id >> 8));
        vc_buf_put_u8 (out, (uint8_t) object->id);
        vc_buf_put (out, object->body, object->body_len);
    }
    return out->failed ? -1 : 0;
}

static int
s_get_pin (const vc_tlv_t *tlv, vc_pin_t *pin)
{
    if (tlv->len != VC_PIN_LEN + 2)
        return -1;
    memcpy (pin->value, tlv->value, VC_PIN_LEN);
    pin->tries_left = tlv->value [VC_PIN_LEN];
    pin->tries_max = tlv->value [VC_PIN_LEN + 1];
    if (pin->tries_max == 0 || pin->tries_max > 15 || pin->tries_left > pin->tries_max)
        return -1;
    return 0;
}

vc_state_t *
vc_state_decode (const uint8_t *data, size_t size)
{
    if (!data || size < S_MAGIC_LEN + 1 || size > VC_STATE_FILE_MAX
    ||  memcmp (data, S_MAGIC, S_MAGIC_LEN) != 0 || data [S_MAGIC_LEN] != S_VERSION)
        return NULL;
    vc_state_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    unsigned seen = 0;              //  bit per singleton record 01..05
    size_t pos = S_MAGIC_LEN + 1;
    while (pos < size) {
        vc_tlv_t tlv;
        if (vc_tlv_next (data, size, &pos, &tlv))
            goto fail;
        if (tlv.tag >= 0x01 && tlv.tag <= 0x05) {
            unsigned bit = 1u << tlv.tag;
            if (seen & bit)
                goto fail;
            seen |= bit;
        }
        switch (tlv.tag) {
            case 0x01:
                if (tlv.len != VC_GUID_LEN)
                    goto fail;
                memcpy (self->guid, tlv.value, VC_GUID_LEN);
                break;
            case 0x02:
                if (tlv.len != 4)
                    goto fail;
                self->serial = ((uint32_t) tlv.value [0] << 24) | ((uint32_t) tlv.value [1] << 16)
                             | ((uint32_t) tlv.value [2] << 8) | tlv.value [3];
                break;
            case 0x03:
                if (s_get_pin (&tlv, &self->pin))
                    goto fail;
                break;
            case 0x04:
                if (s_get_pin (&tlv, &self->puk))
                    goto fail;
                break;
            case 0x05:
                if (tlv.len < 1
                ||  vc_state_set_mgmt_key (self, tlv.value [0], tlv.value + 1, tlv.len - 1))
                    goto fail;
                break;
            case 0x06: {
                if (tlv.len < 3)
                    goto fail;
                int index = vc_state_slot_index (tlv.value [0]);
                uint8_t alg = tlv.value [1];
                if (index < 0 || self->slots [index].key)
                    goto fail;
                EVP_PKEY *key = vc_key_from_der (tlv.value + 2, tlv.len - 2);
                if (!vc_key_matches_alg (key, alg)) {
                    EVP_PKEY_free (key);
                    goto fail;
                }
                vc_state_put_key (self, index, alg, &key);
                break;
            }
            case 0x07: {
                if (tlv.len < 4)
                    goto fail;
                uint32_t id = ((uint32_t) tlv.value [0] << 16) | ((uint32_t) tlv.value [1] << 8)
                            | tlv.value [2];
                if (vc_state_object (self, id)
                ||  vc_state_put_object (self, id, tlv.value + 3, tlv.len - 3))
                    goto fail;
                break;
            }
            default:
                goto fail;
        }
    }
    if (seen != 0x3E)               //  01..05 all present
        goto fail;
    return self;
fail:
    vc_state_destroy (&self);
    return NULL;
}

int
vc_state_save (const vc_state_t *self, const char *path)
{
    int rc = -1;
    int fd = -1;
    char temp [4096];
    vc_buf_t out;
    vc_buf_init (&out, VC_STATE_FILE_MAX);
    int written = snprintf (temp, sizeof temp, "%s.tmp.%ld", path, (long) getpid ());
    if (written < 0 || (size_t) written >= sizeof temp)
        goto done;
    if (vc_state_encode (self, &out))
        goto done;
    fd = open (temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto done;
    size_t at = 0;
    while (at < out.len) {
        ssize_t n = write (fd, out.data + at, out.len - at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto done;
        at += (size_t) n;
    }
    if (fsync (fd))
        goto done;
    if (close (fd)) {
        fd = -1;
        goto done;
    }
    fd = -1;
    if (rename (temp, path))
        goto done;
    rc = 0;
done:
    if (fd >= 0)
        close (fd);
    if (rc)
        unlink (temp);
    vc_buf_reset (&out);
    return rc;
}

vc_state_t *
vc_state_load (const char *path)
{
    vc_state_t *self = NULL;
    vc_buf_t in;
    vc_buf_init (&in, VC_STATE_FILE_MAX);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    uint8_t chunk [4096];
    for (;;) {
        ssize_t n = read (fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto done;
        if (n == 0)
            break;
        vc_buf_put (&in, chunk, (size_t) n);
        if (in.failed)
            goto done;
    }
    self = vc_state_decode (in.data, in.len);
done:
    OPENSSL_cleanse (chunk, sizeof chunk);
    close (fd);
    vc_buf_reset (&in);
    return self;
}
