/*  vc_buf: a growable byte buffer with a hard size limit, for building
    R-APDUs, TLV answers and the state file. Every append checks the limit,
    so a caller can append freely and test `failed` once at the end.
    vc_buf_reset wipes the bytes (a buffer may hold keys or PINs).

        vc_buf_t buf;
        vc_buf_init (&buf, 4096);
        vc_buf_put_tl (&buf, 0x53, len);
        vc_buf_put (&buf, value, len);
        if (buf.failed) ...
        vc_buf_reset (&buf);
*/
#ifndef VC_BUF_H
#define VC_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t limit;               //  the most bytes this buffer may ever hold
    bool failed;                //  an append went over the limit or out of memory
} vc_buf_t;

void vc_buf_init (vc_buf_t *self, size_t limit);
//  Wipes and frees the bytes; the buffer can be used again (same limit).
void vc_buf_reset (vc_buf_t *self);
void vc_buf_put (vc_buf_t *self, const uint8_t *bytes, size_t len);
void vc_buf_put_u8 (vc_buf_t *self, uint8_t byte);
//  BER-TLV tag (1 to 3 bytes, as its big-endian value: 0x5FC105) and
//  definite length (short form, 81 xx or 82 xx xx).
void vc_buf_put_tl (vc_buf_t *self, uint32_t tag, size_t len);
//  Drops the first `count` bytes, keeping the rest.
void vc_buf_consume (vc_buf_t *self, size_t count);

#endif
