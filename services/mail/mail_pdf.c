/*  mail_pdf: the PIN mailer document (see mail_pdf.h).
*/
#include "mail_pdf.h"
#include "tessera/utf8.h"

#include <hpdf.h>
#include <openssl/crypto.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MM 2.834646f                  //  points per millimetre
#define S_PAGE_HEIGHT 841.89f           //  A4
#define S_LINE_MAX 160                  //  bytes of one printed line

//  libharu's memory: each block remembers its size, and is wiped when
//  freed (the PIN passes through libharu's buffers). The header keeps what
//  follows it aligned for any type.
typedef struct {
    _Alignas (max_align_t) size_t size;
} s_block_t;

static void *
s_alloc (HPDF_UINT size)
{
    s_block_t *block = malloc (sizeof (s_block_t) + size);
    if (!block)
        return NULL;
    block->size = size;
    return block + 1;
}

static void
s_free (void *pointer)
{
    if (!pointer)
        return;
    s_block_t *block = (s_block_t *) pointer - 1;
    OPENSSL_cleanse (pointer, block->size);
    free (block);
}

typedef struct {
    HPDF_STATUS error;
    HPDF_STATUS detail;
} s_errors_t;

static void
s_error (HPDF_STATUS error, HPDF_STATUS detail, void *user_data)
{
    s_errors_t *errors = user_data;
    if (!errors->error) {
        errors->error = error;
        errors->detail = detail;
    }
}

//  CP1252 bytes 0x80..0x9F and the code points they stand for.
static const uint32_t s_high [32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
    0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178
};

int
mail_pdf_cp1252 (const char *utf8, char *out, size_t size)
{
    size_t used = 0;
    const unsigned char *p = (const unsigned char *) utf8;
    while (*p) {
        uint32_t code_point = 0;
        size_t len = tsr_utf8_next (p, &code_point);
        if (!len || used + 1 >= size)
            return -1;
        int byte = -1;
        if ((code_point >= 0x20 && code_point <= 0x7e) || (code_point >= 0xa0 && code_point <= 0xff))
            byte = (int) code_point;
        else
            for (int i = 0; i < 32 && byte < 0; i++)
                if (s_high [i] && s_high [i] == code_point)
                    byte = 0x80 + i;
        if (byte < 0)
            return -1;
        out [used++] = (char) byte;
        p += len;
    }
    out [used] = 0;
    return 0;
}

typedef struct {
    HPDF_Doc pdf;
    HPDF_Page page;
    HPDF_Font helvetica, bold, courier;
    bool refused;               //  a text had no CP1252 form
} s_doc_t;

//  One line of UTF-8 text at x mm from the left, top mm from the top.
static void
s_text (s_doc_t *doc, HPDF_Font font, float size, float x_mm, float top_mm, const char *text)
{
    char line [S_LINE_MAX];
    if (mail_pdf_cp1252 (text, line, sizeof line)) {
        doc->refused = true;
        return;
    }
    HPDF_Page_BeginText (doc->page);
    HPDF_Page_SetFontAndSize (doc->page, font, size);
    HPDF_Page_TextOut (doc->page, x_mm * S_MM, S_PAGE_HEIGHT - top_mm * S_MM, line);
    HPDF_Page_EndText (doc->page);
    OPENSSL_cleanse (line, sizeof line);
}

//  The words of the page, per language.
typedef struct {
    const char *title, *card, *pin, *code, *no_pin;
    const char *advice [5];
} s_words_t;

static const s_words_t s_fr = {
    "Code PIN et code d'activation de votre carte", "Carte :", "Code PIN :",
    "Code d'activation :", "(inchangé : ce courrier ne remplace que le code d'activation)",
    { "Le code PIN protège votre carte : ne le notez nulle part et ne le confiez à personne.",
      "Le code d'activation sert une seule fois, sur le portail des porteurs, pour",
      "activer la carte une fois que votre mandataire de certification vous l'a remise.",
      "Détruisez ce courrier après l'activation. S'il vous parvient ouvert ou abîmé,",
      "prévenez le service support avant d'utiliser la carte." }
};

static const s_words_t s_en = {
    "Your card's PIN and activation code", "Card:", "PIN:", "Activation code:",
    "(unchanged: this letter replaces the activation code only)",
    { "The PIN protects your card: do not write it down and never share it.",
      "The activation code works once, on the holder portal, to activate the card",
      "after your certification delegate has handed it to you.",
      "Destroy this letter after activation. If it reaches you open or damaged,",
      "tell the service desk before using the card." }
};

static void
s_page (s_doc_t *doc, const mail_pdf_fields_t *fields)
{
    const s_words_t *words = fields->language && strcmp (fields->language, "en") == 0
                           ? &s_en : &s_fr;
    s_text (doc, doc->helvetica, 8, 20, 20, fields->sender ? fields->sender : "tessera");
    //  The window: name, address lines, postal code and city, country.
    float top = 54;
    s_text (doc, doc->helvetica, 10, 110, top, fields->recipient_name);
    for (size_t i = 0; i < fields->address_line_count; i++)
        s_text (doc, doc->helvetica, 10, 110, top += 4.5f, fields->address_lines [i]);
    char line [S_LINE_MAX];
    snprintf (line, sizeof line, "%s %s", fields->postal_code, fields->city);
    s_text (doc, doc->helvetica, 10, 110, top += 4.5f, line);
    if (fields->country_code && *fields->country_code && strcmp (fields->country_code, "FR"))
        s_text (doc, doc->helvetica, 10, 110, top + 4.5f, fields->country_code);

    s_text (doc, doc->bold, 14, 20, 110, words->title);
    s_text (doc, doc->helvetica, 11, 20, 125, words->card);
    s_text (doc, doc->courier, 11, 60, 125, fields->card_uuid);
    s_text (doc, doc->helvetica, 11, 20, 140, words->pin);
    if (fields->pin && *fields->pin)
        s_text (doc, doc->courier, 18, 60, 140, fields->pin);
    else
        s_text (doc, doc->helvetica, 9, 60, 140, words->no_pin);
    s_text (doc, doc->helvetica, 11, 20, 155, words->code);
    s_text (doc, doc->courier, 18, 60, 155, fields->activation_code);
    for (int i = 0; i < 5; i++)
        s_text (doc, doc->helvetica, 9, 20, 175 + 5.0f * (float) i, words->advice [i]);
    OPENSSL_cleanse (line, sizeof line);
}

int
mail_pdf_build (const mail_pdf_fields_t *fields, uint8_t **pdf_p, size_t *size_p,
                char *err, size_t err_size)
{
    *pdf_p = NULL;
    *size_p = 0;
    s_errors_t errors = { 0, 0 };
    s_doc_t doc = { .pdf = HPDF_NewEx (s_error, s_alloc, s_free, 0, &errors) };
    if (!doc.pdf) {
        snprintf (err, err_size, "cannot start a PDF (out of memory)");
        return -1;
    }
    int rc = -1;
    HPDF_SetCompressionMode (doc.pdf, HPDF_COMP_ALL);
    HPDF_SetInfoAttr (doc.pdf, HPDF_INFO_PRODUCER, "tessera mail");
    doc.page = HPDF_AddPage (doc.pdf);
    doc.helvetica = HPDF_GetFont (doc.pdf, "Helvetica", "WinAnsiEncoding");
    doc.bold = HPDF_GetFont (doc.pdf, "Helvetica-Bold", "WinAnsiEncoding");
    doc.courier = HPDF_GetFont (doc.pdf, "Courier-Bold", "WinAnsiEncoding");
    if (doc.page && doc.helvetica && doc.bold && doc.courier) {
        HPDF_Page_SetSize (doc.page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
        s_page (&doc, fields);
    }
    if (doc.refused) {
        snprintf (err, err_size, "a name or address line holds a character the PIN mailer "
                                 "cannot print (outside Windows-1252)");
        goto done;
    }
    if (errors.error || HPDF_SaveToStream (doc.pdf) != HPDF_OK) {
        snprintf (err, err_size, "libharu error 0x%04x (detail %u)", (unsigned) errors.error,
                  (unsigned) errors.detail);
        goto done;
    }
    HPDF_UINT32 size = HPDF_GetStreamSize (doc.pdf);
    uint8_t *pdf = size ? malloc (size) : NULL;
    HPDF_UINT32 read = size;
    HPDF_STATUS status = pdf ? HPDF_ReadFromStream (doc.pdf, pdf, &read) : HPDF_FAILD_TO_ALLOC_MEM;
    if ((status != HPDF_OK && status != HPDF_STREAM_EOF) || read != size) {
        if (pdf)
            OPENSSL_cleanse (pdf, size);
        free (pdf);
        snprintf (err, err_size, "cannot read the PDF back from libharu");
        goto done;
    }
    *pdf_p = pdf;
    *size_p = size;
    rc = 0;
done:
    HPDF_Free (doc.pdf);
    return rc;
}
