/*  tsr_utf8: the one UTF-8 decoder of tessera (JSON escaping, subject name
    checks). Strict: shortest form only, no surrogates, nothing above
    U+10FFFF.
*/
#ifndef TSR_UTF8_H
#define TSR_UTF8_H

#include <stddef.h>
#include <stdint.h>

//  Decodes the sequence at text (NUL-terminated). Returns its length in
//  bytes and sets *code_point, or 0 when the bytes there are not valid
//  UTF-8 (the caller skips or replaces one byte).
size_t tsr_utf8_next (const unsigned char *text, uint32_t *code_point);

#endif
