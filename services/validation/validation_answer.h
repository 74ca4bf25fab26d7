/*  validation_answer: the normal form of a secret answer, so that the
    holder who answered "Élodie  Dupré" at the portal is matched when the
    phone operator types "elodie dupre".

    The answer is decoded as UTF-8 (tsr_utf8_next) and, character by
    character:
    - ASCII letters are lower-cased;
    - Latin-1 (U+00C0..U+00FF) and Latin Extended-A (U+0100..U+017F)
      letters lose their accents and case: "É" -> "e", "ç" -> "c", and the
      ligatures and sharp s are spelt out: "Æ" -> "ae", "Œ" -> "oe",
      "ß" -> "ss", "Þ" -> "th", "Ĳ" -> "ij";
    - combining accents (U+0300..U+036F) are dropped, so decomposed input
      ("e" + U+0301) matches precomposed input ("é");
    - typographic apostrophes (U+2018, U+2019, U+02BC) become "'", and
      hyphens (U+2010, U+2011) "-";
    - white space (ASCII, no-break and the Unicode spaces) runs collapse to
      one space, and the answer is trimmed;
    - every other character is kept as it is.
    Control characters and invalid UTF-8 are refused. The same function
    compares questions (two questions of one set may not be the same once
    normalised).
*/
#ifndef VALIDATION_ANSWER_H
#define VALIDATION_ANSWER_H

#include <stddef.h>

#define VALIDATION_ANSWER_MAX_CHARS 128     //  of the answer as typed
#define VALIDATION_QUESTION_MAX_CHARS 128
//  A character gives at most 4 bytes (kept) or 2 (spelt out).
#define VALIDATION_NORMALISED_SIZE (VALIDATION_ANSWER_MAX_CHARS * 4 + 1)

//  Writes the normal form of text (NUL-terminated) into out. Returns its
//  length in bytes, or -1 when text is not valid UTF-8, holds a control
//  character, has more than max_chars characters, is empty once
//  normalised, or out is too small.
int validation_answer_normalise (const char *text, size_t max_chars, char *out, size_t out_size);

#endif
