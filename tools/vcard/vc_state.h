/*  vc_state: everything a PIV card keeps when it leaves the reader, and its
    file.

    The state is the card's identity (a 16-byte GUID and a 4-byte serial),
    its PIN and PUK with their retry counters, the card management key
    (9B) and its algorithm, the key pairs in slots 9A 9C 9D 9E, and the
    data objects as GET DATA answers them (53 L ... or 7E L ...).

    vc_state_new makes a card in transport state: PIN 123456, PUK 12345678,
    3DES management key 0102030405060708 three times, no keys, a Discovery
    object and a CHUID carrying the GUID.

    The file is a private binary TLV format (see vc_state.c); it is written
    to a temporary file in the same folder, synced and renamed over the old
    one, so a card pulled (a process killed) mid-write keeps its previous
    state. It holds the private keys in clear DER: this is a test card.
*/
#ifndef VC_STATE_H
#define VC_STATE_H

#include "vc_buf.h"
#include "vc_pin.h"
#include "vc_keys.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VC_SLOT_COUNT       4           //  9A 9C 9D 9E
#define VC_OBJECTS_MAX      48
#define VC_OBJECT_MAX       8000        //  one stored object, its outer TLV included
#define VC_STATE_FILE_MAX   (512 * 1024)

#define VC_GUID_LEN         16

typedef struct {
    uint32_t id;                        //  0x5FC105, 0x7E, 0x7F61 ...
    uint8_t *body;                      //  the whole TLV GET DATA returns
    size_t body_len;
} vc_object_t;

typedef struct {
    uint8_t alg;                        //  0 when the slot is empty
    EVP_PKEY *key;
} vc_slot_t;

typedef struct {
    uint8_t guid [VC_GUID_LEN];
    uint32_t serial;
    vc_pin_t pin;
    vc_pin_t puk;
    uint8_t mgmt_alg;
    uint8_t mgmt_key [VC_MGMT_KEY_MAX];
    vc_slot_t slots [VC_SLOT_COUNT];
    vc_object_t objects [VC_OBJECTS_MAX];
    size_t object_count;
} vc_state_t;

//  A card in transport state with a fresh random GUID and serial.
vc_state_t *vc_state_new (void);
void vc_state_destroy (vc_state_t **self_p);

//  Slot index (0..3) for a key reference 9A 9C 9D 9E; -1 for any other.
int vc_state_slot_index (uint8_t key_ref);
//  The object with this id, or NULL.
const vc_object_t *vc_state_object (const vc_state_t *self, uint32_t id);
//  Stores (replacing) an object; an empty body deletes it. 0, or -1 when
//  the body is too large or the card holds VC_OBJECTS_MAX objects.
int vc_state_put_object (vc_state_t *self, uint32_t id, const uint8_t *body, size_t body_len);
//  Puts a key in a slot, taking ownership of *key_p.
void vc_state_put_key (vc_state_t *self, int slot_index, uint8_t alg, EVP_PKEY **key_p);
//  Sets the management key (key length must match alg).
int vc_state_set_mgmt_key (vc_state_t *self, uint8_t alg, const uint8_t *key, size_t key_len);

//  Serialises the whole state. 0 or -1.
int vc_state_encode (const vc_state_t *self, vc_buf_t *out);
//  Reads a serialised state back; NULL when anything in it is malformed.
vc_state_t *vc_state_decode (const uint8_t *data, size_t size);
//  Atomic write to path (temporary file, fsync, rename). 0 or -1.
int vc_state_save (const vc_state_t *self, const char *path);
//  NULL when the file cannot be read or is malformed.
vc_state_t *vc_state_load (const char *path);

#endif
