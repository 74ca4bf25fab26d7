/*  ca_subject: the subject name of a certificate, built from the validated
    request (never from the CSR) and bounded.

    Holders: C=FR (PrintableString), O=organisation, OU="0002 " + SIREN or
    SIRET, CN="Given-name SURNAME", all but C as UTF8String. Services' own
    certificates: C=FR, O, optional OU, CN=common name.

    Every value must be valid UTF-8 without control characters and within
    the X.520 upper bounds (64 characters for CN, O and OU); an e-mail
    address must be a plain local@domain of printable ASCII.
*/
#ifndef CA_SUBJECT_H
#define CA_SUBJECT_H

#include <openssl/x509.h>
#include <stdbool.h>

#define CA_NAME_MAX 64          //  ub-common-name, ub-organization-name
#define CA_EMAIL_MAX 254        //  RFC 5321's path limit

typedef struct {
    const char *given_name;
    const char *surname;
    const char *organization;
    const char *organization_id;    //  SIREN (9 digits) or SIRET (14)
    const char *common_name;        //  services only
    const char *email;              //  may be empty
} ca_subject_fields_t;

//  holder: build CN from given name and surname; otherwise from
//  common_name. Returns a new name, or NULL with err naming the field.
X509_NAME *ca_subject_build (const ca_subject_fields_t *fields, bool holder,
                             char *err, size_t err_size);

//  True when text is valid UTF-8, has no control characters and at most
//  max_chars characters (code points).
bool ca_subject_text_valid (const char *text, size_t max_chars);
bool ca_subject_email_valid (const char *email);

#endif
