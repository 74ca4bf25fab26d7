/*  perso_escrow: envelope encryption of escrowed encryption keys (issue 13).

    Encryption keys are made off-card by perso so that mail encrypted to a
    holder stays readable after the card is lost; signature and
    authentication keys are never escrowed (ca's profile check refuses it).

    Each key is sealed on its own:
    - a fresh 32-byte data key (RAND_bytes) encrypts the key's PKCS#8 DER
      with AES-256-GCM (12-byte random nonce, 16-byte tag); the additional
      data binds the envelope to its row: "tessera/perso/escrow/v1", NUL,
      holder id, NUL, key id;
    - the data key is wrapped for the key-recovery authority with
      crypto_box_seal (X25519 + XSalsa20-Poly1305, libsodium) to the
      recovery public key, then wiped.
    Perso's everyday path knows only the recovery public key
    (TSR_PERSO_RECOVERY_PUBLIC_KEY, 64 hex): it can escrow, never open. The
    private half (TSR_PERSO_RECOVERY_KEY_FILE, 64 hex) is read by the
    recovery path only, when two recovery officers have approved, and wiped
    after use.

        perso_escrow_envelope_t envelope;
        perso_escrow_seal (key, recovery_public, holder_id, key_id, &envelope);
        ... store envelope.ciphertext, nonce, tag, wrapped_key ...
        EVP_PKEY *back = perso_escrow_open (&envelope, recovery_public,
                                            recovery_secret, holder_id, key_id);
*/
#ifndef PERSO_ESCROW_H
#define PERSO_ESCROW_H

#include <openssl/evp.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define PERSO_ESCROW_KEY_SIZE 32
#define PERSO_ESCROW_NONCE_SIZE 12
#define PERSO_ESCROW_TAG_SIZE 16
#define PERSO_ESCROW_WRAPPED_SIZE (PERSO_ESCROW_KEY_SIZE + crypto_box_SEALBYTES)
#define PERSO_ESCROW_PKCS8_MAX 4096     //  an RSA 4096 key's PKCS#8 is about 2.4 KiB
#define PERSO_ESCROW_ID_MAX 64

typedef struct {
    uint8_t *ciphertext;                //  PKCS#8 DER under the data key; owned
    size_t ciphertext_size;
    uint8_t nonce [PERSO_ESCROW_NONCE_SIZE];
    uint8_t tag [PERSO_ESCROW_TAG_SIZE];
    uint8_t wrapped_key [PERSO_ESCROW_WRAPPED_SIZE];
} perso_escrow_envelope_t;

//  Seals key for the recovery authority into envelope (whose ciphertext
//  the caller frees with perso_escrow_envelope_clear). holder_id and
//  key_id are 1 to 64 bytes. 0, or -1.
int perso_escrow_seal (EVP_PKEY *key, const uint8_t recovery_public [crypto_box_PUBLICKEYBYTES],
                       const char *holder_id, const char *key_id,
                       perso_escrow_envelope_t *envelope);

//  The key in envelope, or NULL when the recovery key pair is not the one
//  it was sealed to, or the envelope was altered or moved to another
//  holder or key id.
EVP_PKEY *perso_escrow_open (const perso_escrow_envelope_t *envelope,
                             const uint8_t recovery_public [crypto_box_PUBLICKEYBYTES],
                             const uint8_t recovery_secret [crypto_box_SECRETKEYBYTES],
                             const char *holder_id, const char *key_id);

//  Frees and zeroes the envelope's ciphertext.
void perso_escrow_envelope_clear (perso_escrow_envelope_t *envelope);

//  Reads 64 hex characters (whitespace around ignored) into a 32-byte
//  key. 0, or -1 with err.
int perso_escrow_key_parse (const char *text, uint8_t key [32], char *err, size_t err_size);

//  Reads the recovery private key file (64 hex) and derives its public
//  half. 0, or -1 with err; secret is wiped on failure.
int perso_escrow_recovery_key_load (const char *path,
                                    uint8_t public_key [crypto_box_PUBLICKEYBYTES],
                                    uint8_t secret_key [crypto_box_SECRETKEYBYTES],
                                    char *err, size_t err_size);

#endif
