/*  validation_password: holder passwords and one-time passwords.

    Rules for a password the holder chooses (SetPassword), checked in this
    order, the first broken one named in the refusal:
    - valid UTF-8 without control characters;
    - 12 to 128 characters, and at most 128 bytes;
    - not on the breached-password list (validation_breach.h), neither as
      typed nor without its trailing digits and symbols ("Soleil2024!"
      is refused when "soleil" is listed);
    - not containing the login, nor the local part of the login's e-mail
      address when that part has 3 characters or more (ASCII case aside).

    One-time passwords: VALIDATION_OTP_LENGTH characters drawn uniformly
    (randombytes_uniform) from an alphabet without look-alikes (no 0 O o 1
    l I i): 16 characters of 55 carry about 92 bits.

    Hashes: crypto_pwhash_str with Argon2id (crypto_pwhash_ALG_ARGON2ID13)
    at libsodium's interactive limits (2 passes, 64 MiB); the string holds
    the algorithm, limits and salt. sodium_init must have been called.
*/
#ifndef VALIDATION_PASSWORD_H
#define VALIDATION_PASSWORD_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include "validation_breach.h"

#define VALIDATION_PASSWORD_MIN_CHARS 12
#define VALIDATION_PASSWORD_MAX_CHARS 128
#define VALIDATION_LOCAL_PART_MIN 3
#define VALIDATION_OTP_LENGTH 16
#define VALIDATION_HASH_SIZE crypto_pwhash_STRBYTES

extern const char validation_otp_alphabet [];

//  0 when password may become the holder's password; -1 with the rule it
//  breaks in why (never the password itself).
int validation_password_check (const char *password, const char *login,
                               const validation_breach_list_t *breached,
                               char *why, size_t why_size);

//  A fresh one-time password (NUL-terminated). The caller wipes it.
void validation_otp_generate (char out [VALIDATION_OTP_LENGTH + 1]);

//  Argon2id hash of secret (len bytes). 0, or -1 (out of memory).
int validation_hash (const char *secret, size_t len, char out [VALIDATION_HASH_SIZE]);
//  True when secret matches hash (a crypto_pwhash_str string).
bool validation_hash_verify (const char *hash, const char *secret, size_t len);

#endif
