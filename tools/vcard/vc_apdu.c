/*  vc_apdu: C-APDU parser (see vc_apdu.h). */
#include "vc_apdu.h"

#include <string.h>

uint16_t
vc_apdu_parse (const uint8_t *raw, size_t size, vc_apdu_t *apdu)
{
    memset (apdu, 0, sizeof *apdu);
    if (!raw || size < 4)
        return VC_SW_WRONG_LENGTH;
    apdu->cla = raw [0];
    apdu->ins = raw [1];
    apdu->p1 = raw [2];
    apdu->p2 = raw [3];
    if (size == 4)
        return VC_SW_OK;                        //  case 1
    size_t b1 = raw [4];
    if (size == 5) {                            //  case 2 short
        apdu->ne = b1 ? b1 : 256;
        return VC_SW_OK;
    }
    if (b1 != 0) {                              //  cases 3 and 4 short
        if (size == 5 + b1 || size == 6 + b1) {
            apdu->lc = b1;
            apdu->data = raw + 5;
            if (size == 6 + b1)
                apdu->ne = raw [5 + b1] ? raw [5 + b1] : 256;
            return VC_SW_OK;
        }
        return VC_SW_WRONG_LENGTH;
    }
    //  Extended length: 00 then two bytes.
    if (size < 7)
        return VC_SW_WRONG_LENGTH;
    apdu->extended = true;
    size_t b23 = ((size_t) raw [5] << 8) | raw [6];
    if (size == 7) {                            //  case 2 extended
        apdu->ne = b23 ? b23 : 65536;
        return VC_SW_OK;
    }
    if (b23 == 0 || b23 > VC_APDU_DATA_MAX)
        return VC_SW_WRONG_LENGTH;
    if (size == 7 + b23 || size == 9 + b23) {   //  cases 3 and 4 extended
        apdu->lc = b23;
        apdu->data = raw + 7;
        if (size == 9 + b23) {
            size_t le = ((size_t) raw [7 + b23] << 8) | raw [8 + b23];
            apdu->ne = le ? le : 65536;
        }
        return VC_SW_OK;
    }
    return VC_SW_WRONG_LENGTH;
}
