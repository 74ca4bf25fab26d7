/*  mail_unseal: opens what other services sealed to mail.

    Validation (one-time passwords) and perso (PIN, activation code) seal
    secrets with crypto_box_seal to mail's CURVE public key: CURVE keys are
    X25519 keys, so crypto_box_seal_open with the secret key of mail's own
    certificate (TSR_CERT's _secret file, zcert_secret_key) opens them; no
    conversion is needed. The secret key is copied once into memory libsodium
    guards (sodium_malloc: no core dump, no swap, read-only); what is opened
    lives in sodium_malloc'ed memory too and is wiped when released. Sealed
    bytes stay sealed in the database; they are opened only at the moment
    they are used (an SMTP attempt, the PIN mailer's print).
*/
#ifndef MAIL_UNSEAL_H
#define MAIL_UNSEAL_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _mail_keys_t mail_keys_t;

//  Copies the keys (public and secret, 32 bytes each). NULL on failure.
mail_keys_t *mail_keys_new (const uint8_t public_key [crypto_box_PUBLICKEYBYTES],
                            const uint8_t secret_key [crypto_box_SECRETKEYBYTES]);
void mail_keys_destroy (mail_keys_t **self_p);
//  Does the Z85 key the sealer names (sealed_for_key) designate our key?
bool mail_keys_match (const mail_keys_t *self, const char *z85_public_key);

//  Opens sealed (size bytes) as text: *text_p is NUL-terminated, printable
//  ASCII (1..max_len bytes), in guarded memory; release with
//  mail_unsealed_free. Returns 0, or -1 (not sealed to us, tampered, or not
//  such text).
int mail_unseal_text (const mail_keys_t *self, const uint8_t *sealed, size_t size,
                      size_t max_len, char **text_p);
void mail_unsealed_free (char **text_p);

#endif
