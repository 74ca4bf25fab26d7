/*  mail_smime: a signed message (see mail_smime.h).
*/
#include "mail_smime.h"
#include "mail_buf.h"
#include "mail_header.h"
#include "tessera/envelope.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

//  The MIME entity that is signed: part headers, empty line, base64 body.
static void
s_entity (mail_buf_t *entity, const mail_message_t *message)
{
    mail_buf_add (entity, "Content-Type: text/plain; charset=UTF-8\r\n"
                          "Content-Transfer-Encoding: base64\r\n");
    mail_buf_addf (entity, "Content-Language: %s\r\n\r\n", message->language);
    //  The text in canonical form (CRLF) before it is encoded.
    mail_buf_t text = MAIL_BUF_INIT;
    for (const char *p = message->body; *p; p++) {
        if (*p == '\n' && (p == message->body || p [-1] != '\r'))
            mail_buf_add (&text, "\r");
        mail_buf_addn (&text, p, 1);
    }
    if (!mail_buf_failed (&text))
        mail_buf_add_base64 (entity, (const uint8_t *) text.data, text.len);
    else
        entity->failed = true;
    mail_buf_wipe (&text);
}

//  DER of the detached signature over entity. 0, or -1 with err.
static int
s_sign (const mail_buf_t *entity, EVP_PKEY *key, X509 *cert, STACK_OF (X509) *chain,
        unsigned char **der_p, int *der_size, char *err, size_t err_size)
{
    *der_p = NULL;
    BIO *data = BIO_new_mem_buf (entity->data, (int) entity->len);
    CMS_ContentInfo *cms = data ? CMS_sign (cert, key, chain, data,
                                            CMS_DETACHED | CMS_BINARY) : NULL;
    *der_size = cms ? i2d_CMS_ContentInfo (cms, der_p) : -1;
    CMS_ContentInfo_free (cms);
    BIO_free (data);
    if (*der_size <= 0) {
        unsigned long code = ERR_get_error ();
        snprintf (err, err_size, "cannot sign: %s",
                  code ? ERR_reason_error_string (code) : "out of memory");
        ERR_clear_error ();
        return -1;
    }
    return 0;
}

static void
s_date (mail_buf_t *buf, int64_t date_unix)
{
    static const char *days [] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *months [] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                      "Sep", "Oct", "Nov", "Dec" };
    time_t t = (time_t) date_unix;
    struct tm tm;
    if (!gmtime_r (&t, &tm)) {
        buf->failed = true;
        return;
    }
    mail_buf_addf (buf, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days [tm.tm_wday],
                   tm.tm_mday, months [tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                   tm.tm_sec);
}

int
mail_smime_build (const mail_message_t *message, EVP_PKEY *key, X509 *cert,
                  STACK_OF (X509) *chain, char **out_p, size_t *out_size,
                  char *err, size_t err_size)
{
    *out_p = NULL;
    *out_size = 0;
    mail_buf_t out = MAIL_BUF_INIT, entity = MAIL_BUF_INIT;
    unsigned char *der = NULL;
    int der_size = 0, rc = -1;
    if (mail_header_mailbox (&out, "From", message->from_name, message->from_address)) {
        snprintf (err, err_size, "the sender's address or name is refused");
        goto done;
    }
    if (mail_header_mailbox (&out, "To", message->to_name, message->to_address)) {
        snprintf (err, err_size, "the recipient's address or name is refused");
        goto done;
    }
    if (mail_header_text (&out, "Subject", message->subject, MAIL_SUBJECT_MAX)) {
        snprintf (err, err_size, "the subject is refused");
        goto done;
    }
    s_date (&out, message->date_unix);
    //  The Message-ID was made by mail itself ("<hex@domain>").
    mail_buf_addf (&out, "Message-ID: %s\r\n", message->message_id);
    mail_buf_add (&out, "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n");
    s_entity (&entity, message);
    if (mail_buf_failed (&entity)
    ||  s_sign (&entity, key, cert, chain, &der, &der_size, err, err_size))
        goto done;
    char boundary [TSR_ID_HEX_SIZE];
    tsr_random_id (boundary);
    mail_buf_addf (&out, "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";"
                         "\r\n micalg=sha-256; boundary=\"tsr-%s\"\r\n\r\n", boundary);
    mail_buf_add (&out, "This is an S/MIME signed message.\r\n\r\n");
    mail_buf_addf (&out, "--tsr-%s\r\n", boundary);
    mail_buf_addn (&out, entity.data, entity.len);
    mail_buf_addf (&out, "\r\n--tsr-%s\r\n", boundary);
    mail_buf_add (&out, "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
                        "Content-Transfer-Encoding: base64\r\n"
                        "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n");
    mail_buf_add_base64 (&out, der, (size_t) der_size);
    mail_buf_addf (&out, "\r\n--tsr-%s--\r\n", boundary);
    *out_p = mail_buf_take (&out, out_size);
    if (!*out_p)
        snprintf (err, err_size, "out of memory");
    else
        rc = 0;
done:
    OPENSSL_free (der);
    mail_buf_wipe (&entity);
    mail_buf_wipe (&out);
    return rc;
}
