/*  perso_escrow: the envelope of an escrowed key (see perso_escrow.h).
*/
#include "perso_escrow.h"

#include <ctype.h>
#include <stdbool.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_LABEL "tessera/perso/escrow/v1"
#define S_FILE_MAX 256

//  label NUL holder NUL key_id, into aad (at least S_AAD_MAX). Its length,
//  or 0 when an id is empty or too long.
#define S_AAD_MAX (sizeof S_LABEL + 2 * (PERSO_ESCROW_ID_MAX + 1))
static size_t
s_aad (const char *holder_id, const char *key_id, uint8_t *aad)
{
    size_t holder_len = holder_id ? strlen (holder_id) : 0;
    size_t key_len = key_id ? strlen (key_id) : 0;
    if (holder_len == 0 || holder_len > PERSO_ESCROW_ID_MAX
    ||  key_len == 0 || key_len > PERSO_ESCROW_ID_MAX)
        return 0;
    size_t at = 0;
    memcpy (aad, S_LABEL, sizeof S_LABEL);
    at += sizeof S_LABEL;
    memcpy (aad + at, holder_id, holder_len + 1);
    at += holder_len + 1;
    memcpy (aad + at, key_id, key_len);
    return at + key_len;
}

//  AES-256-GCM one shot. encrypt: in -> out, tag written; decrypt: tag
//  checked. 0, or -1.
static int
s_gcm (bool encrypt, const uint8_t key [PERSO_ESCROW_KEY_SIZE],
       const uint8_t nonce [PERSO_ESCROW_NONCE_SIZE], const uint8_t *aad, size_t aad_size,
       const uint8_t *in, size_t size, uint8_t *out, uint8_t tag [PERSO_ESCROW_TAG_SIZE])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
    int len = 0, final_len = 0;
    int ok = ctx && EVP_CipherInit_ex (ctx, EVP_aes_256_gcm (), NULL, NULL, NULL, encrypt ? 1 : 0)
          && EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_IVLEN, PERSO_ESCROW_NONCE_SIZE, NULL)
          && EVP_CipherInit_ex (ctx, NULL, NULL, key, nonce, -1)
          && EVP_CipherUpdate (ctx, NULL, &len, aad, (int) aad_size)
          && EVP_CipherUpdate (ctx, out, &len, in, (int) size);
    if (ok && !encrypt)
        ok = EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, PERSO_ESCROW_TAG_SIZE, tag);
    ok = ok && EVP_CipherFinal_ex (ctx, out + len, &final_len) == 1
       && (size_t) (len + final_len) == size;
    if (ok && encrypt)
        ok = EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, PERSO_ESCROW_TAG_SIZE, tag);
    EVP_CIPHER_CTX_free (ctx);
    return ok ? 0 : -1;
}

int
perso_escrow_seal (EVP_PKEY *key, const uint8_t recovery_public [crypto_box_PUBLICKEYBYTES],
                   const char *holder_id, const char *key_id, perso_escrow_envelope_t *envelope)
{
    memset (envelope, 0, sizeof *envelope);
    uint8_t aad [S_AAD_MAX];
    size_t aad_size = s_aad (holder_id, key_id, aad);
    uint8_t data_key [PERSO_ESCROW_KEY_SIZE];
    unsigned char *pkcs8 = NULL;
    int pkcs8_size = 0;
    PKCS8_PRIV_KEY_INFO *info = key ? EVP_PKEY2PKCS8 (key) : NULL;
    int rc = -1;
    if (!aad_size || !info || (pkcs8_size = i2d_PKCS8_PRIV_KEY_INFO (info, &pkcs8)) <= 0
    ||  pkcs8_size > PERSO_ESCROW_PKCS8_MAX)
        goto done;
    envelope->ciphertext = malloc ((size_t) pkcs8_size);
    if (!envelope->ciphertext
    ||  RAND_bytes (data_key, sizeof data_key) != 1
    ||  RAND_bytes (envelope->nonce, sizeof envelope->nonce) != 1
    ||  s_gcm (true, data_key, envelope->nonce, aad, aad_size, pkcs8, (size_t) pkcs8_size,
               envelope->ciphertext, envelope->tag)
    ||  crypto_box_seal (envelope->wrapped_key, data_key, sizeof data_key, recovery_public))
        goto done;
    envelope->ciphertext_size = (size_t) pkcs8_size;
    rc = 0;
done:
    OPENSSL_cleanse (data_key, sizeof data_key);
    if (pkcs8)
        OPENSSL_clear_free (pkcs8, (size_t) pkcs8_size);
    PKCS8_PRIV_KEY_INFO_free (info);
    if (rc)
        perso_escrow_envelope_clear (envelope);
    return rc;
}

EVP_PKEY *
perso_escrow_open (const perso_escrow_envelope_t *envelope,
                   const uint8_t recovery_public [crypto_box_PUBLICKEYBYTES],
                   const uint8_t recovery_secret [crypto_box_SECRETKEYBYTES],
                   const char *holder_id, const char *key_id)
{
    uint8_t aad [S_AAD_MAX];
    size_t aad_size = s_aad (holder_id, key_id, aad);
    uint8_t data_key [PERSO_ESCROW_KEY_SIZE];
    size_t size = envelope->ciphertext_size;
    if (!aad_size || !envelope->ciphertext || size == 0 || size > PERSO_ESCROW_PKCS8_MAX)
        return NULL;
    uint8_t *pkcs8 = malloc (size);
    uint8_t tag [PERSO_ESCROW_TAG_SIZE];
    memcpy (tag, envelope->tag, sizeof tag);
    EVP_PKEY *key = NULL;
    if (pkcs8
    &&  crypto_box_seal_open (data_key, envelope->wrapped_key, sizeof envelope->wrapped_key,
                              recovery_public, recovery_secret) == 0
    &&  s_gcm (false, data_key, envelope->nonce, aad, aad_size, envelope->ciphertext, size,
               pkcs8, tag) == 0) {
        const unsigned char *cursor = pkcs8;
        PKCS8_PRIV_KEY_INFO *info = d2i_PKCS8_PRIV_KEY_INFO (NULL, &cursor, (long) size);
        if (info && cursor == pkcs8 + size)
            key = EVP_PKCS82PKEY (info);
        PKCS8_PRIV_KEY_INFO_free (info);
    }
    OPENSSL_cleanse (data_key, sizeof data_key);
    if (pkcs8)
        OPENSSL_clear_free (pkcs8, size);
    return key;
}

void
perso_escrow_envelope_clear (perso_escrow_envelope_t *envelope)
{
    if (envelope->ciphertext)
        OPENSSL_clear_free (envelope->ciphertext, envelope->ciphertext_size);
    OPENSSL_cleanse (envelope, sizeof *envelope);
}

int
perso_escrow_key_parse (const char *text, uint8_t key [32], char *err, size_t err_size)
{
    while (text && isspace ((unsigned char) *text))
        text++;
    size_t len = text ? strlen (text) : 0;
    while (len && isspace ((unsigned char) text [len - 1]))
        len--;
    size_t bin_len = 0;
    if (len != 64 || sodium_hex2bin (key, 32, text, len, NULL, &bin_len, NULL) != 0
    ||  bin_len != 32) {
        sodium_memzero (key, 32);
        snprintf (err, err_size, "a recovery key must be 64 hex characters (32 bytes)");
        return -1;
    }
    return 0;
}

int
perso_escrow_recovery_key_load (const char *path,
                                uint8_t public_key [crypto_box_PUBLICKEYBYTES],
                                uint8_t secret_key [crypto_box_SECRETKEYBYTES],
                                char *err, size_t err_size)
{
    if (!path || !*path) {
        snprintf (err, err_size, "TSR_PERSO_RECOVERY_KEY_FILE is not set: keys cannot be recovered");
        return -1;
    }
    char text [S_FILE_MAX];
    FILE *file = fopen (path, "r");
    size_t size = file ? fread (text, 1, sizeof text - 1, file) : 0;
    bool whole = file && feof (file);
    if (file)
        fclose (file);
    text [size] = 0;
    int rc = -1;
    if (!file)
        snprintf (err, err_size, "cannot read TSR_PERSO_RECOVERY_KEY_FILE");
    else if (!whole)
        snprintf (err, err_size, "TSR_PERSO_RECOVERY_KEY_FILE is too long");
    else if (perso_escrow_key_parse (text, secret_key, err, err_size) == 0
         &&  crypto_scalarmult_base (public_key, secret_key) == 0)
        rc = 0;
    sodium_memzero (text, sizeof text);
    if (rc)
        sodium_memzero (secret_key, crypto_box_SECRETKEYBYTES);
    return rc;
}
