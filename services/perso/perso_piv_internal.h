/*  perso_piv_internal: what perso_piv.c shares with perso_piv_keys.c and
    perso_piv_objects.c (not part of the module's interface).
*/
#ifndef PERSO_PIV_INTERNAL_H
#define PERSO_PIV_INTERNAL_H

#include "perso_piv.h"

void perso_piv_reset (perso_piv_status_t *status);
//  One exchange (CLA 00); -1 with status->detail naming what when the
//  transport failed or the status word is not 90 00.
int perso_piv_exchange (perso_card_t *card, const char *what, uint8_t ins, uint8_t p1,
                        uint8_t p2, const uint8_t *data, size_t data_size, int expect_data,
                        uint8_t *out, size_t out_max, size_t *out_size,
                        perso_piv_status_t *status);
//  Marks the answer malformed, with why; returns -1.
int perso_piv_malformed (perso_piv_status_t *status, const char *what, const char *why);

#endif
