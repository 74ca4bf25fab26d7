/*  perso_secrets: diversified keys, PIN, activation codes, sealing (see
    perso_secrets.h).
*/
#include "perso_secrets.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_FILE_MAX 1024

//  32 symbols: no 0, 1, I, L, O.
static const char s_alphabet [] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
#define S_ALPHABET_SIZE (sizeof s_alphabet - 1)

int
perso_master_key_load (const char *path, uint8_t *key, size_t *key_size, char *err,
                       size_t err_size)
{
    char text [S_FILE_MAX + 1];
    FILE *file = path ? fopen (path, "r") : NULL;
    if (!file) {
        snprintf (err, err_size, "cannot read the master key file %s", path ? path : "(unset)");
        return -1;
    }
    size_t size = fread (text, 1, S_FILE_MAX, file);
    bool too_big = size == S_FILE_MAX && fgetc (file) != EOF;
    fclose (file);
    text [size] = 0;
    char *start = text, *end = text + size;
    while (start < end && isspace ((unsigned char) *start))
        start++;
    while (end > start && isspace ((unsigned char) end [-1]))
        end--;
    size_t hex_size = (size_t) (end - start);
    size_t bin_size = 0;
    int rc = -1;
    if (too_big || hex_size % 2 || hex_size / 2 < PERSO_MASTER_KEY_MIN
    ||  hex_size / 2 > PERSO_MASTER_KEY_MAX
    ||  sodium_hex2bin (key, PERSO_MASTER_KEY_MAX, start, hex_size, NULL, &bin_size, NULL) != 0
    ||  bin_size != hex_size / 2)
        snprintf (err, err_size, "the master key file %s must hold %d to %d bytes as hex", path,
                  PERSO_MASTER_KEY_MIN, PERSO_MASTER_KEY_MAX);
    else {
        *key_size = bin_size;
        rc = 0;
    }
    OPENSSL_cleanse (text, sizeof text);
    return rc;
}

static int
s_hmac (const uint8_t *master, size_t master_size, const char *label, const uint8_t uuid [16],
        uint8_t out [32])
{
    uint8_t message [64];
    size_t label_size = strlen (label);
    if (label_size + 16 > sizeof message)
        return -1;
    memcpy (message, label, label_size);
    memcpy (message + label_size, uuid, 16);
    unsigned int out_size = 0;
    bool ok = HMAC (EVP_sha256 (), master, (int) master_size, message, label_size + 16, out,
                    &out_size) && out_size == 32;
    return ok ? 0 : -1;
}

int
perso_diversify_management_key (const uint8_t *master, size_t master_size,
                                const uint8_t uuid [16], uint8_t key [PERSO_MGMT_KEY_SIZE])
{
    uint8_t mac [32];
    int rc = s_hmac (master, master_size, "tessera/perso/management-key/v1", uuid, mac);
    if (rc == 0)
        memcpy (key, mac, PERSO_MGMT_KEY_SIZE);
    OPENSSL_cleanse (mac, sizeof mac);
    return rc;
}

int
perso_diversify_puk (const uint8_t *master, size_t master_size, const uint8_t uuid [16],
                     char puk [PERSO_PIN_DIGITS + 1])
{
    uint8_t mac [32];
    if (s_hmac (master, master_size, "tessera/perso/puk/v1", uuid, mac))
        return -1;
    uint64_t number = 0;
    for (int i = 0; i < 8; i++)
        number = (number << 8) | mac [i];
    OPENSSL_cleanse (mac, sizeof mac);
    snprintf (puk, PERSO_PIN_DIGITS + 1, "%08llu", (unsigned long long) (number % 100000000ULL));
    number = 0;
    return 0;
}

//  The PUK after version changes (PIN unblock, docs/perso.md): version 0
//  is perso_diversify_puk's; version n > 0 is HMAC-SHA256(master,
//  "tessera/perso/puk/v2" || UUID || n as 4 bytes big-endian), read the
//  same way.
int
perso_diversify_puk_version (const uint8_t *master, size_t master_size, const uint8_t uuid [16],
                             uint32_t version, char puk [PERSO_PIN_DIGITS + 1])
{
    if (version == 0)
        return perso_diversify_puk (master, master_size, uuid, puk);
    uint8_t with_version [20];
    memcpy (with_version, uuid, 16);
    for (int i = 0; i < 4; i++)
        with_version [16 + i] = (uint8_t) (version >> (24 - 8 * i));
    uint8_t message [64], mac [32];
    static const char label [] = "tessera/perso/puk/v2";
    memcpy (message, label, sizeof label - 1);
    memcpy (message + sizeof label - 1, with_version, sizeof with_version);
    unsigned int mac_size = 0;
    if (!HMAC (EVP_sha256 (), master, (int) master_size, message,
               sizeof label - 1 + sizeof with_version, mac, &mac_size) || mac_size != 32)
        return -1;
    uint64_t number = 0;
    for (int i = 0; i < 8; i++)
        number = (number << 8) | mac [i];
    OPENSSL_cleanse (mac, sizeof mac);
    snprintf (puk, PERSO_PIN_DIGITS + 1, "%08llu", (unsigned long long) (number % 100000000ULL));
    number = 0;
    return 0;
}

void
perso_random_pin (char pin [PERSO_PIN_DIGITS + 1])
{
    for (int i = 0; i < PERSO_PIN_DIGITS; i++)
        pin [i] = (char) ('0' + randombytes_uniform (10));
    pin [PERSO_PIN_DIGITS] = 0;
}

void
perso_random_code (char code [PERSO_CODE_TEXT_SIZE])
{
    size_t n = 0;
    for (int i = 0; i < PERSO_CODE_CHARS; i++) {
        if (i && i % 4 == 0)
            code [n++] = '-';
        code [n++] = s_alphabet [randombytes_uniform ((uint32_t) S_ALPHABET_SIZE)];
    }
    code [n] = 0;
}

bool
perso_code_normalise (const char *input, char out [PERSO_CODE_CHARS + 1])
{
    size_t n = 0;
    if (!input || strnlen (input, PERSO_CODE_INPUT_MAX + 1) > PERSO_CODE_INPUT_MAX)
        return false;
    for (const char *p = input; *p; p++) {
        if (*p == ' ' || *p == '-')
            continue;
        char c = (char) toupper ((unsigned char) *p);
        if (!strchr (s_alphabet, c) || c == 0 || n == PERSO_CODE_CHARS) {
            sodium_memzero (out, PERSO_CODE_CHARS + 1);
            return false;
        }
        out [n++] = c;
    }
    out [n] = 0;
    return n == PERSO_CODE_CHARS;
}

int
perso_code_hash (const char *code, char hash [PERSO_HASH_SIZE])
{
    return crypto_pwhash_str (hash, code, strlen (code), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0 ? 0 : -1;
}

bool
perso_code_verify (const char *hash, const char *normalised)
{
    return hash && *hash
        && crypto_pwhash_str_verify (hash, normalised, strlen (normalised)) == 0;
}

int
perso_seal (const uint8_t public_key [crypto_box_PUBLICKEYBYTES], const char *text, size_t len,
            uint8_t **sealed_p, size_t *sealed_size)
{
    *sealed_p = NULL;
    *sealed_size = 0;
    uint8_t *sealed = malloc (len + PERSO_SEAL_OVERHEAD);
    if (!sealed)
        return -1;
    if (crypto_box_seal (sealed, (const unsigned char *) text, len, public_key) != 0) {
        free (sealed);
        return -1;
    }
    *sealed_p = sealed;
    *sealed_size = len + PERSO_SEAL_OVERHEAD;
    return 0;
}

int
perso_uuid_format (const uint8_t uuid [16], char text [37])
{
    static const char digits [] = "0123456789abcdef";
    size_t n = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            text [n++] = '-';
        text [n++] = digits [uuid [i] >> 4];
        text [n++] = digits [uuid [i] & 0x0F];
    }
    text [n] = 0;
    return 0;
}

int
perso_uuid_parse (const char *text, uint8_t uuid [16])
{
    if (!text || strlen (text) != 36)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < 36; ) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text [i++] != '-')
                return -1;
            continue;
        }
        if (!isxdigit ((unsigned char) text [i]) || !isxdigit ((unsigned char) text [i + 1]))
            return -1;
        char pair [3] = { text [i], text [i + 1], 0 };
        uuid [n++] = (uint8_t) strtoul (pair, NULL, 16);
        i += 2;
    }
    return n == 16 ? 0 : -1;
}

void
perso_uuid_random (uint8_t uuid [16])
{
    randombytes_buf (uuid, 16);
    uuid [6] = (uint8_t) ((uuid [6] & 0x0F) | 0x40);
    uuid [8] = (uint8_t) ((uuid [8] & 0x3F) | 0x80);
}
