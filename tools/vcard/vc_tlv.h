/*  vc_tlv: a bounded BER-TLV reader for what hosts send to the card
    (SP 800-73-4 uses BER-TLV in every data field: 5C tag lists, 53 object
    bodies, 7C dynamic authentication templates, AC control references).

    Tags of 1 to 3 bytes are returned as their big-endian value (0x5C,
    0x5FC105, 0x7F49); lengths in short form, 81 xx or 82 xx xx. Anything
    else (indefinite length, longer forms, a value running past the end of
    the buffer) is malformed and the reader says so; it never reads past
    `size`.

        size_t pos = 0;
        vc_tlv_t tlv;
        while (pos < size) {
            if (vc_tlv_next (buf, size, &pos, &tlv))
                return malformed;
            ... tlv.tag, tlv.value, tlv.len ...
        }
*/
#ifndef VC_TLV_H
#define VC_TLV_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t tag;
    const uint8_t *value;       //  points into the parsed buffer
    size_t len;
    size_t total;               //  tag + length + value bytes
} vc_tlv_t;

//  Reads the TLV starting at *pos and moves *pos past it. 0 or -1.
int vc_tlv_next (const uint8_t *buf, size_t size, size_t *pos, vc_tlv_t *tlv);
//  Reads buf as exactly one TLV with nothing after it. 0 or -1.
int vc_tlv_single (const uint8_t *buf, size_t size, vc_tlv_t *tlv);
//  Finds the first TLV with `tag` among the siblings in buf[0..size).
//  0 when found; -1 when absent or when the siblings are malformed.
int vc_tlv_find (const uint8_t *buf, size_t size, uint32_t tag, vc_tlv_t *tlv);
//  Checks that buf[0..size) is a complete sequence of well-formed siblings.
int vc_tlv_check (const uint8_t *buf, size_t size);

#endif
