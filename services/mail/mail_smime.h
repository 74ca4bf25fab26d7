/*  mail_smime: one complete e-mail, S/MIME-signed (RFC 8551), ready for
    SMTP.

    The notice's text becomes a MIME entity (text/plain; charset=UTF-8,
    base64, CRLF line ends: its canonical form, so relays cannot change a
    byte of what was signed). OpenSSL CMS signs that entity detached
    (CMS_DETACHED | CMS_BINARY, SHA-256) with the mail service's key; the
    signature carries the signer's certificate and tessera's CA chain.
    Both go into a multipart/signed (protocol application/pkcs7-signature,
    micalg sha-256) under the RFC 5322 header fields, written by
    mail_header so no value can add a header line. `openssl cms -verify
    -CAfile root.pem` checks the result.
*/
#ifndef MAIL_SMIME_H
#define MAIL_SMIME_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *from_name;          //  may be empty
    const char *from_address;
    const char *to_name;            //  may be empty
    const char *to_address;
    const char *subject;
    const char *message_id;         //  "<...@...>"
    int64_t date_unix;
    const char *language;           //  Content-Language
    const char *body;               //  UTF-8 text, LF line ends
} mail_message_t;

//  Builds the message into *out_p (heap, *out_size bytes, CRLF throughout;
//  the caller wipes and frees it: the body may hold a secret). chain may be
//  NULL. Returns 0, or -1 with the reason in err (a header refused, or a
//  signing failure).
int mail_smime_build (const mail_message_t *message, EVP_PKEY *key, X509 *cert,
                      STACK_OF (X509) *chain, char **out_p, size_t *out_size,
                      char *err, size_t err_size);

#endif
