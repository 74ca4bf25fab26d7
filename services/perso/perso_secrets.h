/*  perso_secrets: the card's secrets and how perso makes them.

    - Management key: AES-128, the first 16 bytes of
      HMAC-SHA256(master, "tessera/perso/management-key/v1" || card UUID
      as its 16 bytes). Never stored: recomputed from the master key
      (TSR_PERSO_MASTER_KEY_FILE) when the card must be managed again.
    - PUK: 8 digits from HMAC-SHA256(master, "tessera/perso/puk/v1" ||
      UUID), the first 8 bytes as a big-endian number modulo 10^8 (a bias
      below 2^-37); after a PIN unblock, the next versions (label v2 with
      the version, perso_diversify_puk_version). Diversified like the
      management key, so it is never stored; it leaves the service only
      once per version, to its holder (perso_puk.h).
    - PIN: 8 random digits (randombytes_uniform), sealed to mail at once;
      never stored in clear, never logged.
    - Activation code: 12 characters from an alphabet without look-alikes
      (no 0/O, 1/I/L), about 60 bits, shown as XXXX-XXXX-XXXX; kept as an
      Argon2id hash (crypto_pwhash_str). What the holder types is
      normalised first: upper case, spaces and hyphens dropped.
    - Sealing: crypto_box_seal to the mail service's CURVE public key
      (validation does the same for one-time passwords).
*/
#ifndef PERSO_SECRETS_H
#define PERSO_SECRETS_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PERSO_MASTER_KEY_MIN 32
#define PERSO_MASTER_KEY_MAX 64
#define PERSO_MGMT_KEY_SIZE 16
#define PERSO_PIN_DIGITS 8
#define PERSO_CODE_CHARS 12
#define PERSO_CODE_TEXT_SIZE (PERSO_CODE_CHARS + 3)     //  with two hyphens, NUL
#define PERSO_CODE_INPUT_MAX 64
#define PERSO_HASH_SIZE crypto_pwhash_STRBYTES
#define PERSO_SEAL_OVERHEAD crypto_box_SEALBYTES

//  Reads the master key file: 32 to 64 bytes written as hex (whitespace
//  around is ignored). 0 and the key, or -1 with err.
int perso_master_key_load (const char *path, uint8_t *key, size_t *key_size, char *err,
                           size_t err_size);

//  The card's management key (AES-128) and PUK (8 digits and NUL).
int perso_diversify_management_key (const uint8_t *master, size_t master_size,
                                    const uint8_t uuid [16], uint8_t key [PERSO_MGMT_KEY_SIZE]);
int perso_diversify_puk (const uint8_t *master, size_t master_size, const uint8_t uuid [16],
                         char puk [PERSO_PIN_DIGITS + 1]);

//  The card's PUK of version (0: the one personalisation set, as
//  perso_diversify_puk; n > 0: label "tessera/perso/puk/v2", UUID, n as 4
//  bytes big-endian), after each release's change (PIN unblock).
int perso_diversify_puk_version (const uint8_t *master, size_t master_size,
                                 const uint8_t uuid [16], uint32_t version,
                                 char puk [PERSO_PIN_DIGITS + 1]);

//  8 random digits and NUL.
void perso_random_pin (char pin [PERSO_PIN_DIGITS + 1]);
//  A fresh code as shown to the holder: "ABCD-EFGH-JKMN".
void perso_random_code (char code [PERSO_CODE_TEXT_SIZE]);
//  What the holder typed, normalised into out (PERSO_CODE_CHARS + 1):
//  true when it is then exactly 12 characters of the alphabet.
bool perso_code_normalise (const char *input, char out [PERSO_CODE_CHARS + 1]);
//  Argon2id of the normalised code. 0, or -1 (out of memory).
int perso_code_hash (const char *code, char hash [PERSO_HASH_SIZE]);
//  True when the normalised code matches hash.
bool perso_code_verify (const char *hash, const char *normalised);

//  Seals len bytes of text to public_key into *sealed_p (caller frees),
//  len + PERSO_SEAL_OVERHEAD bytes. 0, or -1.
int perso_seal (const uint8_t public_key [crypto_box_PUBLICKEYBYTES], const char *text,
                size_t len, uint8_t **sealed_p, size_t *sealed_size);

//  UUID text (8-4-4-4-12, lower case) and back. 0, or -1.
int perso_uuid_format (const uint8_t uuid [16], char text [37]);
int perso_uuid_parse (const char *text, uint8_t uuid [16]);
//  A random (version 4) UUID.
void perso_uuid_random (uint8_t uuid [16]);

#endif
