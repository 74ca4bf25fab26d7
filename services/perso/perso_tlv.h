/*  perso_tlv: the BER-TLV that PIV speaks (SP 800-73-4 part 2; ISO/IEC
    7816-4 5.2), read and written with every length checked.

    Tags are one to three bytes (the 5F C1 xx object ids), lengths are the
    short form or 81 xx / 82 xx xx (a card never needs more than 65535).
    A reader walks a buffer it borrows; a value is a pointer into it and a
    length, never copied. Anything that does not fit exactly (a length past
    the end, a truncated tag, a long-form length of three bytes or more)
    is refused, so a card's malformed answer can never make us read beyond
    what it sent.

        perso_tlv_reader_t r = perso_tlv_reader (data, size);
        perso_tlv_t item;
        while (perso_tlv_next (&r, &item) == 1) ...
*/
#ifndef PERSO_TLV_H
#define PERSO_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t tag;               //  the tag bytes, big-endian (5F C1 05 = 0x5FC105)
    const uint8_t *value;
    size_t length;
} perso_tlv_t;

typedef struct {
    const uint8_t *cursor;
    const uint8_t *end;
} perso_tlv_reader_t;

perso_tlv_reader_t perso_tlv_reader (const uint8_t *data, size_t size);
//  1 and the next item; 0 at the end; -1 when the bytes are malformed.
int perso_tlv_next (perso_tlv_reader_t *self, perso_tlv_t *item);
//  The first item with tag among data's top-level items: 1 found, 0 not
//  there, -1 when any top-level item is malformed.
int perso_tlv_find (const uint8_t *data, size_t size, uint32_t tag, perso_tlv_t *item);
//  data holds exactly one item, of tag: 1, else 0 (or -1 malformed).
int perso_tlv_single (const uint8_t *data, size_t size, uint32_t tag, perso_tlv_t *item);

//  Writing: tag and length header into out (at most 6 bytes); returns its
//  size, or 0 when length is over 65535 or the tag is not 1..3 bytes.
size_t perso_tlv_header (uint32_t tag, size_t length, uint8_t out [6]);

//  A growable output buffer for building card data (commands, objects).
typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
    bool failed;                //  an append failed: the content is unusable
} perso_buf_t;

void perso_buf_init (perso_buf_t *self);
//  Wipes then frees (buffers may hold PINs and keys).
void perso_buf_free (perso_buf_t *self);
void perso_buf_append (perso_buf_t *self, const uint8_t *data, size_t size);
void perso_buf_byte (perso_buf_t *self, uint8_t byte);
//  tag, length, value.
void perso_buf_tlv (perso_buf_t *self, uint32_t tag, const uint8_t *value, size_t length);

#endif
