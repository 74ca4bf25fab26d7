/*  validation_password: password rules, one-time passwords, Argon2id
    (see validation_password.h).
*/
#include "validation_password.h"
#include "validation_input.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

const char validation_otp_alphabet [] =
    "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789";

//  True when haystack contains needle (needle_len bytes), ASCII case aside.
static bool
s_contains (const char *haystack, const char *needle, size_t needle_len)
{
    size_t len = strlen (haystack);
    for (size_t i = 0; needle_len && i + needle_len <= len; i++) {
        size_t j = 0;
        while (j < needle_len
           &&  tolower ((unsigned char) haystack [i + j]) == tolower ((unsigned char) needle [j]))
            j++;
        if (j == needle_len)
            return true;
    }
    return false;
}

//  The password without its trailing digits and symbols, in base.
static void
s_base_word (const char *password, char *base, size_t size)
{
    size_t len = strlen (password);
    while (len && (isdigit ((unsigned char) password [len - 1])
               ||  ispunct ((unsigned char) password [len - 1])
               ||  password [len - 1] == ' '))
        len--;
    snprintf (base, size, "%.*s", (int) len, password);
}

int
validation_password_check (const char *password, const char *login,
                           const validation_breach_list_t *breached, char *why, size_t why_size)
{
    long chars = validation_utf8_length (password);
    if (!password || chars < 0 || !validation_text_valid (password, 0, VALIDATION_PASSWORD_MAX_CHARS)) {
        snprintf (why, why_size, "must be valid UTF-8 without control characters");
        return -1;
    }
    if (chars < VALIDATION_PASSWORD_MIN_CHARS || chars > VALIDATION_PASSWORD_MAX_CHARS
    ||  strlen (password) > VALIDATION_PASSWORD_MAX_BYTES) {
        snprintf (why, why_size, "must be %d to %d characters long (at most %d bytes)",
                  VALIDATION_PASSWORD_MIN_CHARS, VALIDATION_PASSWORD_MAX_CHARS,
                  VALIDATION_PASSWORD_MAX_BYTES);
        return -1;
    }
    char base [VALIDATION_PASSWORD_MAX_BYTES + 1];
    s_base_word (password, base, sizeof base);
    bool listed = validation_breach_list_contains (breached, password)
               || (*base && validation_breach_list_contains (breached, base));
    sodium_memzero (base, sizeof base);
    if (listed) {
        snprintf (why, why_size, "is a known breached password (or one with digits added); choose another");
        return -1;
    }
    if (login && *login) {
        const char *at = strchr (login, '@');
        size_t local_len = at ? (size_t) (at - login) : strlen (login);
        if (s_contains (password, login, strlen (login))
        ||  (local_len >= VALIDATION_LOCAL_PART_MIN && s_contains (password, login, local_len))) {
            snprintf (why, why_size, "must not contain the login or its e-mail local part");
            return -1;
        }
    }
    return 0;
}

void
validation_otp_generate (char out [VALIDATION_OTP_LENGTH + 1])
{
    uint32_t alphabet_size = (uint32_t) (sizeof validation_otp_alphabet - 1);
    for (int i = 0; i < VALIDATION_OTP_LENGTH; i++)
        out [i] = validation_otp_alphabet [randombytes_uniform (alphabet_size)];
    out [VALIDATION_OTP_LENGTH] = 0;
}

int
validation_hash (const char *secret, size_t len, char out [VALIDATION_HASH_SIZE])
{
    return crypto_pwhash_str_alg (out, secret, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                  crypto_pwhash_MEMLIMIT_INTERACTIVE,
                                  crypto_pwhash_ALG_ARGON2ID13) == 0 ? 0 : -1;
}

bool
validation_hash_verify (const char *hash, const char *secret, size_t len)
{
    if (!hash || !*hash || !secret)
        return false;
    return crypto_pwhash_str_verify (hash, secret, len) == 0;
}
