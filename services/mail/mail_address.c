/*  mail_address: postal addresses for the window (see mail_address.h).
*/
#include "mail_address.h"
#include "mail_input.h"

#include <stdio.h>
#include <string.h>

int
mail_postal_check (const Tessera__V1__Person *person, mail_postal_t *postal,
                   char *err, size_t err_size)
{
    memset (postal, 0, sizeof *postal);
    const Tessera__V1__PostalAddress *address = person->postal_address;
    snprintf (postal->name, sizeof postal->name, "%.64s %.64s", person->given_name,
              person->surname);
    if (!mail_text_valid (person->given_name, 1, 64) || !mail_text_valid (person->surname, 1, 64)
    ||  !mail_text_valid (postal->name, 1, MAIL_ADDRESS_LINE_MAX)) {
        snprintf (err, err_size, "the name \"given_name surname\" must be 1 to %d printable "
                                 "characters to fit the envelope's window (AFNOR NF Z10-011)",
                  MAIL_ADDRESS_LINE_MAX);
        return -1;
    }
    if (!address || address->n_lines < 1 || address->n_lines > MAIL_ADDRESS_LINES_MAX) {
        snprintf (err, err_size, "postal_address: 1 to %d lines are needed", MAIL_ADDRESS_LINES_MAX);
        return -1;
    }
    size_t used = 0;
    for (size_t i = 0; i < address->n_lines; i++) {
        if (!mail_text_valid (address->lines [i], 1, MAIL_ADDRESS_LINE_MAX)) {
            snprintf (err, err_size, "postal_address.lines[%zu]: 1 to %d printable characters",
                      i, MAIL_ADDRESS_LINE_MAX);
            return -1;
        }
        used += (size_t) snprintf (postal->lines + used, sizeof postal->lines - used, "%s%s",
                                   i ? "\n" : "", address->lines [i]);
    }
    char last [128];
    snprintf (last, sizeof last, "%.20s %.60s", address->postal_code, address->city);
    if (!mail_text_valid (address->postal_code, 1, 10) || !mail_text_valid (address->city, 1, 38)
    ||  !mail_text_valid (last, 3, MAIL_ADDRESS_LINE_MAX)) {
        snprintf (err, err_size, "postal_address: \"postal_code city\" must be 1 line of at "
                                 "most %d printable characters", MAIL_ADDRESS_LINE_MAX);
        return -1;
    }
    if (strlen (address->country_code) != 2
    ||  !(address->country_code [0] >= 'A' && address->country_code [0] <= 'Z')
    ||  !(address->country_code [1] >= 'A' && address->country_code [1] <= 'Z')) {
        snprintf (err, err_size, "postal_address.country_code: ISO 3166-1 alpha-2 in capitals");
        return -1;
    }
    postal->postal_code = address->postal_code;
    postal->city = address->city;
    postal->country_code = address->country_code;
    return 0;
}
