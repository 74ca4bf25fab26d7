/*  enrollment_siret: the SIRET check (see enrollment_siret.h).
*/
#include "enrollment_siret.h"

#include <string.h>

static bool
s_all_digits (const char *text, size_t length)
{
    if (!text || strlen (text) != length)
        return false;
    for (size_t i = 0; i < length; i++)
        if (text [i] < '0' || text [i] > '9')
            return false;
    return true;
}

bool
enrollment_luhn_valid (const char *digits, size_t length)
{
    if (length == 0 || !s_all_digits (digits, length))
        return false;
    unsigned sum = 0;
    //  The rightmost digit is position 1 and is not doubled.
    for (size_t position = 1; position <= length; position++) {
        unsigned digit = (unsigned) (digits [length - position] - '0');
        if (position % 2 == 0) {
            digit *= 2;
            if (digit > 9)
                digit -= 9;
        }
        sum += digit;
    }
    return sum % 10 == 0;
}

bool
enrollment_siret_valid (const char *siret)
{
    if (!s_all_digits (siret, ENROLLMENT_SIRET_LENGTH))
        return false;
    if (enrollment_luhn_valid (siret, ENROLLMENT_SIRET_LENGTH))
        return true;
    if (strncmp (siret, ENROLLMENT_SIREN_LA_POSTE, ENROLLMENT_SIREN_LENGTH) != 0)
        return false;
    unsigned sum = 0;
    for (size_t i = 0; i < ENROLLMENT_SIRET_LENGTH; i++)
        sum += (unsigned) (siret [i] - '0');
    return sum % 5 == 0;
}
