/*  validation_seal: a one-time password sealed to the mail service.

    crypto_box_seal (an ephemeral X25519 key, XSalsa20-Poly1305) of the
    password's UTF-8 bytes to mail's CURVE public key: CURVE keys are X25519
    keys, so mail opens it with crypto_box_seal_open and the secret key of
    its own certificate, and nobody else can, not even validation. The
    sealed bytes travel in the OneTimePasswordIssued event.
*/
#ifndef VALIDATION_SEAL_H
#define VALIDATION_SEAL_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define VALIDATION_SEAL_OVERHEAD crypto_box_SEALBYTES

//  Seals text (len bytes) to public_key into a new buffer (*sealed_p, caller
//  frees) of len + VALIDATION_SEAL_OVERHEAD bytes. 0, or -1.
int validation_seal (const uint8_t public_key [crypto_box_PUBLICKEYBYTES], const char *text,
                     size_t len, uint8_t **sealed_p, size_t *sealed_size);

#endif
