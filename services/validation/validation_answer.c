/*  validation_answer: normal form of secret answers (see validation_answer.h).
*/
#include "validation_answer.h"
#include "tessera/utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

//  U+00C0..U+00FF and U+0100..U+017F: the base letter of each, or a digit
//  naming a spelt-out form in s_spelt, or 0 to keep the character.
static const char s_latin1 [] =
    "aaaaaa1ceeeeiiii"      //  C0..CF  À..Ï (Æ)
    "dnooooo\0ouuuuy52"     //  D0..DF  Ð..ß (× kept, Þ, ß)
    "aaaaaa1ceeeeiiii"      //  E0..EF  à..ï (æ)
    "dnooooo\0ouuuuy5y";    //  F0..FF  ð..ÿ (÷ kept, þ)
static const char s_latin_extended_a [] =
    "aaaaaacccccccc"        //  0100..010D
    "dddd"                  //  010E..0111
    "eeeeeeeeee"            //  0112..011B
    "gggggggg"              //  011C..0123
    "hhhh"                  //  0124..0127
    "iiiiiiiiii"            //  0128..0131
    "33"                    //  0132..0133 Ĳ ĳ
    "jj"                    //  0134..0135
    "kkk"                   //  0136..0138
    "llllllllll"            //  0139..0142
    "nnnnnnnnn"             //  0143..014B
    "oooooo"                //  014C..0151
    "44"                    //  0152..0153 Œ œ
    "rrrrrr"                //  0154..0159
    "ssssssss"              //  015A..0161
    "tttttt"                //  0162..0167
    "uuuuuuuuuuuu"          //  0168..0173
    "ww"                    //  0174..0175
    "yyy"                   //  0176..0178
    "zzzzzz"                //  0179..017E
    "s";                    //  017F ſ
static const char *s_spelt [] = { NULL, "ae", "ss", "ij", "oe", "th" };
_Static_assert (sizeof s_latin1 == 0x40 + 1, "one entry per character U+00C0..U+00FF");
_Static_assert (sizeof s_latin_extended_a == 0x80 + 1, "one entry per character U+0100..U+017F");

static bool
s_space (uint32_t c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0xa0 || c == 0x1680
        || (c >= 0x2000 && c <= 0x200a) || c == 0x202f || c == 0x205f || c == 0x3000;
}

//  Control characters other than the ASCII white space (refused).
static bool
s_control (uint32_t c)
{
    return (c < 0x20 && !(c >= 0x09 && c <= 0x0d)) || (c >= 0x7f && c <= 0x9f);
}

typedef struct {
    char *out;
    size_t size;
    size_t len;
    bool pending_space;
    bool failed;
} s_writer_t;

static void
s_put (s_writer_t *w, const char *bytes, size_t count)
{
    if (w->pending_space && w->len > 0) {
        if (w->len + 1 >= w->size) {
            w->failed = true;
            return;
        }
        w->out [w->len++] = ' ';
    }
    w->pending_space = false;
    if (w->len + count >= w->size) {
        w->failed = true;
        return;
    }
    memcpy (w->out + w->len, bytes, count);
    w->len += count;
}

//  The folded form of c into w; false when c is to be kept as it is.
static bool
s_fold (s_writer_t *w, uint32_t c)
{
    char letter = 0;
    if (c >= 'A' && c <= 'Z')
        letter = (char) (c - 'A' + 'a');
    else
    if (c >= 0xc0 && c <= 0xff)
        letter = s_latin1 [c - 0xc0];
    else
    if (c >= 0x100 && c <= 0x17f)
        letter = s_latin_extended_a [c - 0x100];
    else
    if (c == 0x2018 || c == 0x2019 || c == 0x02bc)
        letter = '\'';
    else
    if (c == 0x2010 || c == 0x2011)
        letter = '-';
    if (!letter)
        return false;
    if (letter >= '1' && letter <= '5')
        s_put (w, s_spelt [letter - '0'], 2);
    else
        s_put (w, &letter, 1);
    return true;
}

int
validation_answer_normalise (const char *text, size_t max_chars, char *out, size_t out_size)
{
    if (!text || !out || out_size < 2)
        return -1;
    s_writer_t w = { .out = out, .size = out_size };
    size_t chars = 0;
    const unsigned char *p = (const unsigned char *) text;
    while (*p && !w.failed) {
        uint32_t c = 0;
        size_t len = tsr_utf8_next (p, &c);
        if (!len || s_control (c) || ++chars > max_chars) {
            w.failed = true;
            break;
        }
        if (s_space (c))
            w.pending_space = true;
        else
        if (c >= 0x300 && c <= 0x36f)
            ;   //  a combining accent: dropped
        else
        if (!s_fold (&w, c))
            s_put (&w, (const char *) p, len);
        p += len;
    }
    if (w.failed || w.len == 0) {
        memset (out, 0, out_size);
        return -1;
    }
    out [w.len] = 0;
    return (int) w.len;
}
