/*  perso_piv_objects: the contents of the data objects perso writes (see
    perso_piv.h): certificate objects, the CHUID and its FASC-N.

    The FASC-N (TIG SCEPACS 2.3; SP 800-73-4 3.1.2): 40 characters of five
    bits each, the four bits of a BCD digit least significant first then
    an odd-parity bit, packed most significant bit first into 25 bytes:
      SS agency(4) FS system(4) FS credential(6) FS CS(1) FS ICI(1) FS
      PI(10) OC(1) OI(4) POA(1) ES LRC
    perso fills CS 0, ICI 1, PI 0000000000, OC 3, OI 0000, POA 1, the
    values Yubico's tools write, so the agency, system and credential
    numbers are the only varying fields (docs/perso.md).
*/
#include "perso_piv.h"

#include <string.h>

#define S_SS 0x0B
#define S_FS 0x0D
#define S_ES 0x0F
#define S_FASCN_CHARS 40

void
perso_piv_cert_object (const uint8_t *der, size_t size, perso_buf_t *out)
{
    static const uint8_t plain [] = { 0x00 };
    perso_buf_tlv (out, 0x70, der, size);
    perso_buf_tlv (out, 0x71, plain, sizeof plain);
    perso_buf_tlv (out, 0xFE, NULL, 0);
}

void
perso_piv_chuid (const uint8_t fascn [PERSO_PIV_FASCN_SIZE],
                 const uint8_t guid [PERSO_PIV_GUID_SIZE], const char *expiry_yyyymmdd,
                 perso_buf_t *out)
{
    perso_buf_tlv (out, 0x30, fascn, PERSO_PIV_FASCN_SIZE);
    perso_buf_tlv (out, 0x34, guid, PERSO_PIV_GUID_SIZE);
    size_t expiry_size = expiry_yyyymmdd ? strlen (expiry_yyyymmdd) : 0;
    if (expiry_size != 8) {
        out->failed = true;
        return;
    }
    perso_buf_tlv (out, 0x35, (const uint8_t *) expiry_yyyymmdd, expiry_size);
    perso_buf_tlv (out, 0x3E, NULL, 0);
    perso_buf_tlv (out, 0xFE, NULL, 0);
}

int
perso_piv_chuid_guid (const uint8_t *content, size_t size, uint8_t guid [PERSO_PIV_GUID_SIZE])
{
    perso_tlv_t item;
    int found = perso_tlv_find (content, size, 0x34, &item);
    if (found <= 0)
        return found;
    if (item.length != PERSO_PIV_GUID_SIZE)
        return -1;
    uint8_t zeros [PERSO_PIV_GUID_SIZE] = { 0 };
    if (memcmp (item.value, zeros, sizeof zeros) == 0)
        return 0;
    memcpy (guid, item.value, PERSO_PIV_GUID_SIZE);
    return 1;
}

static bool
s_digits (const char *text, size_t count)
{
    if (!text || strlen (text) != count)
        return false;
    for (size_t i = 0; i < count; i++)
        if (text [i] < '0' || text [i] > '9')
            return false;
    return true;
}

//  Appends one 5-bit character (value 0..15) to the bit string.
static void
s_put (uint8_t out [PERSO_PIV_FASCN_SIZE], size_t *bit, uint8_t value)
{
    int ones = 0;
    uint8_t bits [5];
    for (int i = 0; i < 4; i++) {
        bits [i] = (value >> i) & 1;
        ones += bits [i];
    }
    bits [4] = (ones % 2 == 0) ? 1 : 0;
    for (int i = 0; i < 5; i++, (*bit)++)
        if (bits [i])
            out [*bit / 8] |= (uint8_t) (0x80 >> (*bit % 8));
}

int
perso_piv_fascn (const char *agency, const char *system, const char *credential,
                 uint8_t out [PERSO_PIV_FASCN_SIZE])
{
    if (!s_digits (agency, 4) || !s_digits (system, 4) || !s_digits (credential, 6))
        return -1;
    //  The characters, separators as their 4-bit values.
    uint8_t chars [S_FASCN_CHARS];
    size_t n = 0;
    const char *fields [] = { agency, system, credential, "0", "1", "0000000000" };
    chars [n++] = S_SS;
    for (size_t f = 0; f < sizeof fields / sizeof fields [0]; f++) {
        if (f > 0)
            chars [n++] = S_FS;
        for (const char *p = fields [f]; *p; p++)
            chars [n++] = (uint8_t) (*p - '0');
    }
    //  The PI is followed by OC, OI and POA without separators.
    for (const char *p = "300001"; *p; p++)
        chars [n++] = (uint8_t) (*p - '0');
    chars [n++] = S_ES;
    uint8_t lrc = 0;
    for (size_t i = 0; i < n; i++)
        lrc ^= chars [i];
    chars [n++] = lrc & 0x0F;
    if (n != S_FASCN_CHARS)
        return -1;
    memset (out, 0, PERSO_PIV_FASCN_SIZE);
    size_t bit = 0;
    for (size_t i = 0; i < n; i++)
        s_put (out, &bit, chars [i]);
    return 0;
}
