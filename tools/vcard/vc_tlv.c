/*  vc_tlv: bounded BER-TLV reader (see vc_tlv.h). */
#include "vc_tlv.h"

#include <string.h>

int
vc_tlv_next (const uint8_t *buf, size_t size, size_t *pos, vc_tlv_t *tlv)
{
    size_t at = *pos;
    if (!buf || at >= size)
        return -1;
    //  Tag: a first byte whose low five bits are all set continues into
    //  more bytes while their top bit is set; we accept three at most.
    uint32_t tag = buf [at++];
    if ((tag & 0x1F) == 0x1F) {
        size_t more = 0;
        uint8_t byte;
        do {
            if (at >= size || ++more > 2)
                return -1;
            byte = buf [at++];
            tag = (tag << 8) | byte;
        } while (byte & 0x80);
    }
    if (at >= size)
        return -1;
    size_t len = buf [at++];
    if (len == 0x81) {
        if (at + 1 > size)
            return -1;
        len = buf [at++];
    }
    else
    if (len == 0x82) {
        if (at + 2 > size)
            return -1;
        len = ((size_t) buf [at] << 8) | buf [at + 1];
        at += 2;
    }
    else
    if (len >= 0x80)
        return -1;              //  indefinite or longer forms: not from a PIV host
    if (len > size - at)
        return -1;
    tlv->tag = tag;
    tlv->value = buf + at;
    tlv->len = len;
    tlv->total = at + len - *pos;
    *pos = at + len;
    return 0;
}

int
vc_tlv_single (const uint8_t *buf, size_t size, vc_tlv_t *tlv)
{
    size_t pos = 0;
    if (vc_tlv_next (buf, size, &pos, tlv) || pos != size)
        return -1;
    return 0;
}

int
vc_tlv_find (const uint8_t *buf, size_t size, uint32_t tag, vc_tlv_t *tlv)
{
    size_t pos = 0;
    while (pos < size) {
        vc_tlv_t item;
        if (vc_tlv_next (buf, size, &pos, &item))
            return -1;
        if (item.tag == tag) {
            *tlv = item;
            return 0;
        }
    }
    return -1;
}

int
vc_tlv_check (const uint8_t *buf, size_t size)
{
    size_t pos = 0;
    while (pos < size) {
        vc_tlv_t item;
        if (vc_tlv_next (buf, size, &pos, &item))
            return -1;
    }
    return 0;
}
