/*  mail_pdf: the PIN mailer, a print-ready PDF (libharu).

    One A4 page for a DL window envelope (the sheet folded in three): the
    holder's name and postal address in the window position (block at
    110 mm from the left and 50 mm from the top, 10 pt, lines 4.5 mm apart,
    at most 38 characters each), then the card, the PIN and the activation
    code, and what to do with them, in the holder's language. Text is set
    in the standard Helvetica and Courier fonts with WinAnsi (CP1252)
    encoding, which covers French and English; a value with a character
    CP1252 lacks is refused rather than printed wrong.

    The document holds secrets: libharu's own memory is allocated through
    functions that wipe every block when it is freed, and the caller wipes
    the PDF once it is handed over.
*/
#ifndef MAIL_PDF_H
#define MAIL_PDF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *language;                   //  "fr" or "en"
    const char *recipient_name;
    const char *const *address_lines;       //  1..4 lines
    size_t address_line_count;
    const char *postal_code;
    const char *city;
    const char *country_code;               //  printed when it is not "FR"
    const char *card_uuid;
    const char *pin;                        //  NULL or "" on a reissued code
    const char *activation_code;
    const char *sender;                     //  the return address line
} mail_pdf_fields_t;

//  UTF-8 text in CP1252 into out (NUL-terminated). 0, or -1 when a
//  character has no CP1252 form, the text is not valid UTF-8 or out is too
//  small.
int mail_pdf_cp1252 (const char *utf8, char *out, size_t size);

//  Builds the PDF into *pdf_p (heap, *size_p bytes; caller wipes and
//  frees). 0, or -1 with the reason in err.
int mail_pdf_build (const mail_pdf_fields_t *fields, uint8_t **pdf_p, size_t *size_p,
                    char *err, size_t err_size);

#endif
