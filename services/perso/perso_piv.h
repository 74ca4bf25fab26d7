/*  perso_piv: the PIV card commands personalisation needs (SP 800-73-4
    part 2, and Yubico's SET MANAGEMENT KEY, which the virtual card and
    most PIV cards in circulation implement), each answer checked before
    use: status word, outer and inner tags, exact lengths, a public key
    that is on its curve or a modulus of the right size, a DER signature
    that re-encodes to the same bytes.

    Every command returns 0 on success or -1 with *status saying what
    happened: the transport failed (status->io), the card refused
    (status->sw not 90 00), or its answer was malformed (io
    PERSO_IO_MALFORMED); status->detail is the sentence the job records.
*/
#ifndef PERSO_PIV_H
#define PERSO_PIV_H

#include <openssl/evp.h>
#include <stdbool.h>
#include "perso_apdu.h"
#include "perso_tlv.h"

//  Algorithm identifiers (SP 800-78-4 table 6-2).
#define PERSO_PIV_ALG_3DES 0x03
#define PERSO_PIV_ALG_RSA2048 0x07
#define PERSO_PIV_ALG_AES128 0x08
#define PERSO_PIV_ALG_AES192 0x0A
#define PERSO_PIV_ALG_AES256 0x0C
#define PERSO_PIV_ALG_ECCP256 0x11

//  Key references.
#define PERSO_PIV_SLOT_AUTHENTICATION 0x9A
#define PERSO_PIV_SLOT_SIGNATURE 0x9C
#define PERSO_PIV_SLOT_KEY_MANAGEMENT 0x9D
#define PERSO_PIV_SLOT_MANAGEMENT 0x9B
#define PERSO_PIV_REF_PIN 0x80
#define PERSO_PIV_REF_PUK 0x81

//  Data objects.
#define PERSO_PIV_OBJ_CHUID 0x5FC102
#define PERSO_PIV_OBJ_CERT_9A 0x5FC105
#define PERSO_PIV_OBJ_CERT_9C 0x5FC10A
#define PERSO_PIV_OBJ_CERT_9D 0x5FC10B

#define PERSO_PIV_GUID_SIZE 16
#define PERSO_PIV_FASCN_SIZE 25
#define PERSO_PIV_MGMT_KEY_MAX 32
#define PERSO_PIV_SIGNATURE_MAX 512
#define PERSO_PIV_OBJECT_MAX 4096

typedef struct {
    perso_io_t io;              //  PERSO_IO_OK when the card answered
    uint16_t sw;                //  the last status word (0 when none)
    char detail [256];
} perso_piv_status_t;

//  SELECT the PIV application (AID A0 00 00 03 08 00 00 10 00 01 00).
int perso_piv_select (perso_card_t *card, perso_piv_status_t *status);

//  GET DATA of an object: *found false (and 0) when the card has none
//  (6A 82); otherwise the content of its 53 wrapper in out.
int perso_piv_get_data (perso_card_t *card, uint32_t object_id, uint8_t *out, size_t out_max,
                        size_t *out_size, bool *found, perso_piv_status_t *status);
//  PUT DATA: content is wrapped in 53 and sent with chaining.
int perso_piv_put_data (perso_card_t *card, uint32_t object_id, const uint8_t *content,
                        size_t size, perso_piv_status_t *status);

//  Card-management-key mutual authentication (key_size 24 for 3DES, 16,
//  24 or 32 for AES).
int perso_piv_authenticate (perso_card_t *card, uint8_t algorithm, const uint8_t *key,
                            size_t key_size, perso_piv_status_t *status);
//  Yubico's SET MANAGEMENT KEY: 00 FF FF FF, data alg 9B len key.
int perso_piv_set_management_key (perso_card_t *card, uint8_t algorithm, const uint8_t *key,
                                  size_t key_size, perso_piv_status_t *status);

//  GENERATE ASYMMETRIC KEY PAIR in slot with algorithm (RSA2048 or
//  ECCP256); *key_p is the public key the card answered (caller frees).
int perso_piv_generate (perso_card_t *card, uint8_t slot, uint8_t algorithm, EVP_PKEY **key_p,
                        perso_piv_status_t *status);
//  Yubico's IMPORT ASYMMETRIC KEY (INS FE): the private key (RSA 2048 or
//  EC P-256) into slot; *algorithm is set to the card's identifier. Needs
//  the management key (perso_piv_import.c).
int perso_piv_import_key (perso_card_t *card, uint8_t slot, EVP_PKEY *key, uint8_t *algorithm,
                          perso_piv_status_t *status);
//  The public key of a GENERATE answer (7F 49 ...), checked. NULL with
//  detail when malformed. Exposed for the unit tests and fuzzing.
EVP_PKEY *perso_piv_parse_public_key (const uint8_t *data, size_t size, uint8_t algorithm,
                                      char *detail, size_t detail_size);

//  VERIFY the PIN (6 to 8 characters, padded with FF). NULL pin: ask the
//  state only (90 00 verified, 63 CX not). On 63 CX, status->sw tells.
int perso_piv_verify_pin (perso_card_t *card, const char *pin, perso_piv_status_t *status);
//  CHANGE REFERENCE DATA of the PIN (80) or the PUK (81).
int perso_piv_change_reference (perso_card_t *card, uint8_t reference, const char *old_value,
                                const char *new_value, perso_piv_status_t *status);

//  GENERAL AUTHENTICATE signing: for ECCP256, input is the 32-byte hash
//  and the answer a DER ECDSA signature; for RSA2048, input is the
//  256-byte block already padded (PKCS#1 v1.5) and the answer the raw
//  result. The signature goes to out (PERSO_PIV_SIGNATURE_MAX).
int perso_piv_sign (perso_card_t *card, uint8_t slot, uint8_t algorithm, const uint8_t *input,
                    size_t input_size, uint8_t *out, size_t *out_size,
                    perso_piv_status_t *status);

//  Object contents. A certificate: 70 <DER> 71 01 00 FE 00.
void perso_piv_cert_object (const uint8_t *der, size_t size, perso_buf_t *out);
//  A CHUID: 30 FASC-N, 34 GUID, 35 expiry (YYYYMMDD), 3E empty signature,
//  FE empty LRC.
void perso_piv_chuid (const uint8_t fascn [PERSO_PIV_FASCN_SIZE],
                      const uint8_t guid [PERSO_PIV_GUID_SIZE], const char *expiry_yyyymmdd,
                      perso_buf_t *out);
//  The GUID of a CHUID's content: 1 found, 0 none (or all zeros), -1
//  malformed.
int perso_piv_chuid_guid (const uint8_t *content, size_t size, uint8_t guid [PERSO_PIV_GUID_SIZE]);
//  A FASC-N for agency code (4 digits), system code (4) and credential
//  number (6); the other fields fixed (perso_piv_objects.c). -1 when a
//  field is not digits of its size.
int perso_piv_fascn (const char *agency, const char *system, const char *credential,
                     uint8_t out [PERSO_PIV_FASCN_SIZE]);

#endif
