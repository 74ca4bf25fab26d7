/*  perso_apdu: APDUs with chaining and GET RESPONSE (see perso_apdu.h).
*/
#include "perso_apdu.h"

#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define S_CHUNK 255
#define S_RAW_MAX (256 + 2)         //  one short answer: 256 bytes of data at most, plus SW
#define S_INS_GET_RESPONSE 0xC0

//  One command, one answer: SW split off, data appended to out.
static perso_io_t
s_transmit (perso_card_t *card, const uint8_t *command, size_t command_size, uint8_t *out,
            size_t out_max, size_t *out_size, uint16_t *sw, char *err, size_t err_size)
{
    uint8_t raw [S_RAW_MAX + 1];
    size_t raw_size = sizeof raw;
    perso_io_t io = card->transmit (card->io, command, command_size, raw, &raw_size, err, err_size);
    if (io != PERSO_IO_OK)
        return io;
    if (raw_size < 2 || raw_size > sizeof raw) {
        snprintf (err, err_size, "the card answered %zu bytes, not a response APDU", raw_size);
        OPENSSL_cleanse (raw, sizeof raw);
        return PERSO_IO_MALFORMED;
    }
    if (raw_size > S_RAW_MAX) {
        snprintf (err, err_size, "the card answered %zu bytes to a short command", raw_size);
        OPENSSL_cleanse (raw, sizeof raw);
        return PERSO_IO_MALFORMED;
    }
    size_t data_size = raw_size - 2;
    *sw = (uint16_t) ((raw [data_size] << 8) | raw [data_size + 1]);
    //  A PIV card answers 90 00 or 61..6F xx (SP 800-73-4 part 2, 5.6):
    //  anything else is the middle of an answer cut short.
    uint8_t sw1 = (uint8_t) (*sw >> 8);
    if (*sw != PERSO_SW_OK && !(sw1 >= 0x61 && sw1 <= 0x6F)) {
        snprintf (err, err_size, "the answer ends with %04X, which is no status word (cut short?)",
                  *sw);
        OPENSSL_cleanse (raw, sizeof raw);
        return PERSO_IO_MALFORMED;
    }
    if (data_size > out_max - *out_size) {
        snprintf (err, err_size, "the card's answer is longer than the %zu bytes expected", out_max);
        OPENSSL_cleanse (raw, sizeof raw);
        return PERSO_IO_MALFORMED;
    }
    if (data_size)
        memcpy (out + *out_size, raw, data_size);
    *out_size += data_size;
    OPENSSL_cleanse (raw, sizeof raw);
    return PERSO_IO_OK;
}

perso_io_t
perso_apdu_exchange (perso_card_t *card, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
                     const uint8_t *data, size_t data_size, int expect_data, uint8_t *out,
                     size_t out_max, size_t *out_size, uint16_t *sw, char *err, size_t err_size)
{
    uint8_t command [5 + S_CHUNK + 1];
    size_t offset = 0;
    *out_size = 0;
    *sw = 0;
    perso_io_t io = PERSO_IO_OK;
    //  The chain: every part but the last with CLA | 10; each must answer 90 00.
    do {
        size_t part = data_size - offset > S_CHUNK ? S_CHUNK : data_size - offset;
        bool last = offset + part == data_size;
        size_t size = 0;
        command [size++] = last ? cla : (uint8_t) (cla | 0x10);
        command [size++] = ins;
        command [size++] = p1;
        command [size++] = p2;
        if (part) {
            command [size++] = (uint8_t) part;
            memcpy (command + size, data + offset, part);
            size += part;
        }
        if (last && expect_data)
            command [size++] = 0x00;
        size_t ignored = 0;
        io = last ? s_transmit (card, command, size, out, out_max, out_size, sw, err, err_size)
                  : s_transmit (card, command, size, out, 0, &ignored, sw, err, err_size);
        OPENSSL_cleanse (command, sizeof command);
        if (io != PERSO_IO_OK)
            return io;
        offset += part;
        if (!last && *sw != PERSO_SW_OK)
            return PERSO_IO_OK;     //  the card refused a part: its SW says why
    } while (offset < data_size);
    //  The rest of a long answer.
    for (int round = 0; (*sw & 0xFF00) == 0x6100; round++) {
        if (round == PERSO_APDU_GET_RESPONSE_MAX) {
            snprintf (err, err_size, "the card kept answering 61 xx (more data) past %d rounds",
                      PERSO_APDU_GET_RESPONSE_MAX);
            return PERSO_IO_MALFORMED;
        }
        uint8_t get [5] = { 0x00, S_INS_GET_RESPONSE, 0x00, 0x00, (uint8_t) (*sw & 0xFF) };
        io = s_transmit (card, get, sizeof get, out, out_max, out_size, sw, err, err_size);
        if (io != PERSO_IO_OK)
            return io;
    }
    return PERSO_IO_OK;
}

const char *
perso_apdu_sw_text (uint16_t sw)
{
    if ((sw & 0xFFF0) == 0x63C0)
        return "wrong PIN or PUK";
    switch (sw) {
        case 0x9000: return "success";
        case 0x6581: return "memory failure";
        case 0x6700: return "wrong length";
        case 0x6882: return "secure messaging not supported";
        case 0x6883: return "last command of the chain expected";
        case 0x6884: return "command chaining not supported";
        case 0x6982: return "security status not satisfied";
        case 0x6983: return "authentication method blocked";
        case 0x6985: return "conditions of use not satisfied";
        case 0x6A80: return "incorrect data";
        case 0x6A81: return "function not supported";
        case 0x6A82: return "file or application not found";
        case 0x6A84: return "not enough memory";
        case 0x6A86: return "incorrect P1 P2";
        case 0x6A88: return "referenced data not found";
        case 0x6B00: return "wrong P1 P2";
        case 0x6D00: return "instruction not supported";
        case 0x6E00: return "class not supported";
        case 0x6F00: return "unknown error";
        default: return "unexpected status";
    }
}

void
perso_apdu_sw_format (uint16_t sw, char *out, size_t size)
{
    snprintf (out, size, "SW %04X (%s)", sw, perso_apdu_sw_text (sw));
}

const char *
perso_io_text (perso_io_t io)
{
    switch (io) {
        case PERSO_IO_OK: return "ok";
        case PERSO_IO_REMOVED: return "card removed";
        case PERSO_IO_NO_SERVICE: return "PC/SC service unavailable";
        case PERSO_IO_READER: return "reader error";
        case PERSO_IO_MALFORMED: return "malformed card answer";
    }
    return "card error";
}
