/*  enrollment_siret: is a SIRET well formed?

    A SIRET is 14 digits: the SIREN (9, the legal unit) then the NIC (5,
    the establishment). INSEE numbers SIRETs so that the 14 digits pass the
    Luhn check, with one documented exception: the establishments of La
    Poste (SIREN 356000000) are numbered so that the plain sum of the 14
    digits is a multiple of 5; its head office, 356 000 000 00048, passes
    Luhn. A La Poste SIRET is therefore accepted when either holds (see
    docs/enrollment.md).
*/
#ifndef ENROLLMENT_SIRET_H
#define ENROLLMENT_SIRET_H

#include <stdbool.h>
#include <stddef.h>

#define ENROLLMENT_SIRET_LENGTH 14
#define ENROLLMENT_SIREN_LENGTH 9
#define ENROLLMENT_SIREN_LA_POSTE "356000000"

//  True when digits holds exactly length decimal digits that pass the Luhn
//  check (every second digit from the right doubled).
bool enrollment_luhn_valid (const char *digits, size_t length);

//  True when siret is 14 digits passing Luhn, or a La Poste SIRET whose
//  digit sum is a multiple of 5.
bool enrollment_siret_valid (const char *siret);

#endif
