/*  perso_tlv: BER-TLV with bounds (see perso_tlv.h).
*/
#include "perso_tlv.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define S_LENGTH_MAX 65535

perso_tlv_reader_t
perso_tlv_reader (const uint8_t *data, size_t size)
{
    perso_tlv_reader_t reader = { data, data ? data + size : data };
    return reader;
}

//  Tag: first byte; when its low five bits are all set, more bytes follow
//  while bit 8 is set (at most three bytes in all).
static int
s_tag (perso_tlv_reader_t *self, uint32_t *tag)
{
    if (self->cursor >= self->end)
        return -1;
    uint8_t first = *self->cursor++;
    *tag = first;
    if ((first & 0x1F) != 0x1F)
        return 0;
    for (int count = 1; ; count++) {
        if (count >= 3 || self->cursor >= self->end)
            return -1;
        uint8_t next = *self->cursor++;
        *tag = (*tag << 8) | next;
        if (!(next & 0x80))
            return 0;
    }
}

static int
s_length (perso_tlv_reader_t *self, size_t *length)
{
    if (self->cursor >= self->end)
        return -1;
    uint8_t first = *self->cursor++;
    if (first < 0x80) {
        *length = first;
        return 0;
    }
    size_t bytes = first & 0x7F;
    if (bytes < 1 || bytes > 2 || (size_t) (self->end - self->cursor) < bytes)
        return -1;
    *length = 0;
    for (size_t i = 0; i < bytes; i++)
        *length = (*length << 8) | *self->cursor++;
    return 0;
}

int
perso_tlv_next (perso_tlv_reader_t *self, perso_tlv_t *item)
{
    if (!self->cursor || self->cursor == self->end)
        return 0;
    size_t length = 0;
    if (s_tag (self, &item->tag) || s_length (self, &length)
    ||  length > (size_t) (self->end - self->cursor)) {
        self->cursor = self->end;
        return -1;
    }
    item->value = self->cursor;
    item->length = length;
    self->cursor += length;
    return 1;
}

int
perso_tlv_find (const uint8_t *data, size_t size, uint32_t tag, perso_tlv_t *item)
{
    perso_tlv_reader_t reader = perso_tlv_reader (data, size);
    perso_tlv_t found = { 0, NULL, 0 };
    bool have = false;
    int rc;
    while ((rc = perso_tlv_next (&reader, item)) == 1)
        if (item->tag == tag && !have) {
            found = *item;
            have = true;
        }
    if (rc < 0)
        return -1;
    if (have)
        *item = found;
    return have ? 1 : 0;
}

int
perso_tlv_single (const uint8_t *data, size_t size, uint32_t tag, perso_tlv_t *item)
{
    perso_tlv_reader_t reader = perso_tlv_reader (data, size);
    int rc = perso_tlv_next (&reader, item);
    if (rc <= 0)
        return rc;
    if (reader.cursor != reader.end)
        return -1;      //  trailing bytes after the one item
    return item->tag == tag ? 1 : 0;
}

size_t
perso_tlv_header (uint32_t tag, size_t length, uint8_t out [6])
{
    size_t size = 0;
    if (tag > 0xFFFFFF || tag == 0 || length > S_LENGTH_MAX)
        return 0;
    if (tag > 0xFFFF)
        out [size++] = (uint8_t) (tag >> 16);
    if (tag > 0xFF)
        out [size++] = (uint8_t) (tag >> 8);
    out [size++] = (uint8_t) tag;
    if (length < 0x80)
        out [size++] = (uint8_t) length;
    else
    if (length <= 0xFF) {
        out [size++] = 0x81;
        out [size++] = (uint8_t) length;
    }
    else {
        out [size++] = 0x82;
        out [size++] = (uint8_t) (length >> 8);
        out [size++] = (uint8_t) length;
    }
    return size;
}

void
perso_buf_init (perso_buf_t *self)
{
    memset (self, 0, sizeof *self);
}

void
perso_buf_free (perso_buf_t *self)
{
    if (self->data)
        OPENSSL_cleanse (self->data, self->capacity);
    free (self->data);
    memset (self, 0, sizeof *self);
}

void
perso_buf_append (perso_buf_t *self, const uint8_t *data, size_t size)
{
    if (self->failed || size == 0)
        return;
    if (self->size + size > self->capacity) {
        size_t capacity = self->capacity ? self->capacity : 256;
        while (capacity < self->size + size)
            capacity *= 2;
        //  Grow by copying, so the old buffer can be wiped (no realloc).
        uint8_t *grown = malloc (capacity);
        if (!grown) {
            self->failed = true;
            return;
        }
        if (self->data) {
            memcpy (grown, self->data, self->size);
            OPENSSL_cleanse (self->data, self->capacity);
            free (self->data);
        }
        self->data = grown;
        self->capacity = capacity;
    }
    memcpy (self->data + self->size, data, size);
    self->size += size;
}

void
perso_buf_byte (perso_buf_t *self, uint8_t byte)
{
    perso_buf_append (self, &byte, 1);
}

void
perso_buf_tlv (perso_buf_t *self, uint32_t tag, const uint8_t *value, size_t length)
{
    uint8_t header [6];
    size_t header_size = perso_tlv_header (tag, length, header);
    if (!header_size) {
        self->failed = true;
        return;
    }
    perso_buf_append (self, header, header_size);
    perso_buf_append (self, value, length);
}
