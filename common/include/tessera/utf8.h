/*  tsr_utf8: the one UTF-8 decoder of tessera (JSON escaping, text checks)
    and the one rule for text from outside. Strict: shortest form only, no
    surrogates, nothing above U+10FFFF.
*/
#ifndef TSR_UTF8_H
#define TSR_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Decodes the sequence at text (NUL-terminated). Returns its length in
//  bytes and sets *code_point, or 0 when the bytes there are not valid
//  UTF-8 (the caller skips or replaces one byte).
size_t tsr_utf8_next (const unsigned char *text, uint32_t *code_point);

//  The characters (code points) of text, or SIZE_MAX when it is NULL, not
//  valid UTF-8, or holds a control character (C0, DEL, C1), a line or
//  paragraph separator, or a bidirectional mark or override (they make a
//  text read as another, or forge lines in logs and tables).
size_t tsr_text_chars (const char *text);
//  A name: 1..max_chars characters as above, no space at either end
//  (spaces at the ends make two names look alike).
bool tsr_text_valid (const char *text, size_t max_chars);
//  Free text (notes, reasons, labels): 0..max_chars characters as above.
bool tsr_free_text_valid (const char *text, size_t max_chars);

#endif
