/*  mail_address: a person's name and postal address as the post will
    read them through an envelope's window (AFNOR NF Z10-011: at most six
    lines of 38 characters). The name line is "Given Surname"; the address
    lines, then "postal code city", then the country when it is not France.
    Anything longer, or holding a control character, is refused with the
    field named, never cut or rewritten: a wrong address loses a card.
*/
#ifndef MAIL_ADDRESS_H
#define MAIL_ADDRESS_H

#include <stddef.h>
#include "tessera/v1/enrollment.pb-c.h"

#define MAIL_POSTAL_NAME_SIZE (4 * 38 + 1)
#define MAIL_POSTAL_LINES_SIZE (4 * (4 * 38 + 1))

typedef struct {
    char name [MAIL_POSTAL_NAME_SIZE];
    //  The address lines joined with '\n' (for string_to_array in SQL).
    char lines [MAIL_POSTAL_LINES_SIZE];
    const char *postal_code;        //  borrowed from the person
    const char *city;
    const char *country_code;
} mail_postal_t;

//  Checks person's name and address; fills postal. 0, or -1 with the
//  reason (naming the field) in err.
int mail_postal_check (const Tessera__V1__Person *person, mail_postal_t *postal,
                       char *err, size_t err_size);

#endif
