/*  vc_apdu: command APDU parsing (ISO/IEC 7816-4 cases 1 to 4, short and
    extended length) and the status words the card answers with.

    The parser only checks the encoding: that the bytes form exactly one
    command whose Lc matches its data. Whether CLA, INS, P1, P2 and the
    data make sense is the dispatcher's business.
*/
#ifndef VC_APDU_H
#define VC_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Status words (SW1 SW2) used by the card.
#define VC_SW_OK                    0x9000
#define VC_SW_BYTES_REMAINING       0x6100  //  | count (00 = 256 or more)
#define VC_SW_VERIFY_FAIL           0x63C0  //  | tries left
#define VC_SW_MEMORY_FAILURE        0x6581
#define VC_SW_WRONG_LENGTH          0x6700
#define VC_SW_LAST_CHAIN_EXPECTED   0x6883
#define VC_SW_CHAINING_UNSUPPORTED  0x6884
#define VC_SW_SM_UNSUPPORTED        0x6882
#define VC_SW_SECURITY_STATUS       0x6982
#define VC_SW_AUTH_BLOCKED          0x6983
#define VC_SW_CONDITIONS_OF_USE     0x6985
#define VC_SW_WRONG_DATA            0x6A80
#define VC_SW_FUNC_UNSUPPORTED      0x6A81
#define VC_SW_NOT_FOUND             0x6A82
#define VC_SW_NOT_ENOUGH_MEMORY     0x6A84
#define VC_SW_INCORRECT_P1P2        0x6A86
#define VC_SW_REF_NOT_FOUND         0x6A88
#define VC_SW_WRONG_P1P2            0x6B00
#define VC_SW_INS_UNSUPPORTED       0x6D00
#define VC_SW_CLA_UNSUPPORTED       0x6E00
#define VC_SW_UNKNOWN               0x6F00

//  The longest command data we accept in one APDU (extended Lc included).
#define VC_APDU_DATA_MAX            4096

typedef struct {
    uint8_t cla;
    uint8_t ins;
    uint8_t p1;
    uint8_t p2;
    const uint8_t *data;        //  points into the raw command; NULL when lc is 0
    size_t lc;
    size_t ne;                  //  expected answer length: 0 when absent, up to 256 or 65536
    bool extended;
} vc_apdu_t;

//  Parses one C-APDU. Returns VC_SW_OK, or VC_SW_WRONG_LENGTH when the
//  bytes are not a well-formed command (or carry more than
//  VC_APDU_DATA_MAX bytes of data).
uint16_t vc_apdu_parse (const uint8_t *raw, size_t size, vc_apdu_t *apdu);

#endif
