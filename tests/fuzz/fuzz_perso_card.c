/*  Fuzz target: perso's reading of a card's answers. A card is outside
    input: whatever it answers goes through perso_apdu_exchange (chaining,
    GET RESPONSE, status words) and perso_piv's checks (tags, lengths, a
    public key on its curve, a canonical signature, a CHUID's GUID).

    The input is a script: its first byte picks the command (SELECT, GET
    DATA of the CHUID then its GUID, mutual authentication with a 3DES or
    AES key, GENERATE of an EC or RSA key, VERIFY, CHANGE REFERENCE DATA,
    a signature, PUT DATA of a certificate), the rest is the card's
    answers in order, each a 2-byte big-endian length then its bytes. When
    the script runs out the card is "removed". Nothing may crash, read past
    an answer, or leak; a key or signature accepted must be what the
    checks promise.
*/
#include "perso_apdu.h"
#include "perso_piv.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t at;
} s_script_t;

static perso_io_t
s_transmit (void *io, const uint8_t *command, size_t command_size, uint8_t *response,
            size_t *response_size, char *err, size_t err_size)
{
    (void) command;
    (void) command_size;
    s_script_t *script = io;
    if (script->size - script->at < 2) {
        snprintf (err, err_size, "the script ran out");
        *response_size = 0;
        return PERSO_IO_REMOVED;
    }
    size_t len = ((size_t) script->data [script->at] << 8) | script->data [script->at + 1];
    script->at += 2;
    if (len > script->size - script->at)
        len = script->size - script->at;
    if (len > *response_size)
        len = *response_size;
    memcpy (response, script->data + script->at, len);
    script->at += len;
    *response_size = len;
    return PERSO_IO_OK;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    s_script_t script = { data + 1, size - 1, 0 };
    perso_card_t card = { s_transmit, &script };
    perso_piv_status_t status;
    memset (&status, 0, sizeof status);
    static const uint8_t key [32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
                                      31, 32 };
    switch (data [0] % 10) {
        case 0:
            perso_piv_select (&card, &status);
            break;
        case 1: {
            uint8_t content [PERSO_PIV_OBJECT_MAX], guid [PERSO_PIV_GUID_SIZE];
            size_t content_size = 0;
            bool found = false;
            if (perso_piv_get_data (&card, PERSO_PIV_OBJ_CHUID, content, sizeof content,
                                    &content_size, &found, &status) == 0 && found) {
                if (content_size > sizeof content)
                    __builtin_trap ();
                perso_piv_chuid_guid (content, content_size, guid);
            }
            break;
        }
        case 2:
            perso_piv_authenticate (&card, PERSO_PIV_ALG_3DES, key, 24, &status);
            break;
        case 3:
            perso_piv_authenticate (&card, PERSO_PIV_ALG_AES128, key, 16, &status);
            break;
        case 4:
        case 5: {
            EVP_PKEY *public_key = NULL;
            uint8_t algorithm = data [0] % 10 == 4 ? PERSO_PIV_ALG_ECCP256 : PERSO_PIV_ALG_RSA2048;
            if (perso_piv_generate (&card, PERSO_PIV_SLOT_AUTHENTICATION, algorithm, &public_key,
                                    &status) == 0) {
                //  Accepted: the key the checks promise.
                int bits = EVP_PKEY_get_bits (public_key);
                if ((algorithm == PERSO_PIV_ALG_ECCP256 && bits != 256)
                ||  (algorithm == PERSO_PIV_ALG_RSA2048 && bits != 2048))
                    __builtin_trap ();
            }
            EVP_PKEY_free (public_key);
            break;
        }
        case 6:
            perso_piv_verify_pin (&card, data [0] & 0x80 ? NULL : "12345678", &status);
            break;
        case 7:
            perso_piv_change_reference (&card, PERSO_PIV_REF_PUK, "12345678", "87654321",
                                        &status);
            break;
        case 8: {
            uint8_t hash [32] = { 0 }, signature [PERSO_PIV_SIGNATURE_MAX];
            size_t signature_size = 0;
            if (perso_piv_sign (&card, PERSO_PIV_SLOT_SIGNATURE, PERSO_PIV_ALG_ECCP256, hash,
                                sizeof hash, signature, &signature_size, &status) == 0
            &&  signature_size > sizeof signature)
                __builtin_trap ();
            break;
        }
        default: {
            static const uint8_t certificate [300] = { 0x30, 0x82, 0x01, 0x28 };
            perso_buf_t object;
            perso_buf_init (&object);
            perso_piv_cert_object (certificate, sizeof certificate, &object);
            perso_piv_put_data (&card, PERSO_PIV_OBJ_CERT_9A, object.data, object.size, &status);
            perso_buf_free (&object);
            break;
        }
    }
    return 0;
}
