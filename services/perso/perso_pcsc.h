/*  perso_pcsc: the PC/SC reader layer (libpcsclite, pcscd).

    One perso_pcsc_t is one PC/SC context, used by one thread: the job
    runners each own one, ListReaders makes its own. The context is
    established when first needed and re-established when pcscd went away
    (SCARD_E_NO_SERVICE / SCARD_E_SERVICE_STOPPED after a pcscd restart):
    a call that meets a dead context drops it, connects again once and
    retries. A card session does not survive that, nor a removed card: the
    transmit function then says which it was (PERSO_IO_NO_SERVICE,
    PERSO_IO_REMOVED), so the job fails with the right reason and a retry
    starts on a fresh context.

        perso_pcsc_t *pcsc = perso_pcsc_new ();
        perso_pcsc_connect (pcsc, "Virtual PCD 00 00", 10000, atr, &atr_size, err, sizeof err);
        perso_card_t card = { perso_pcsc_transmit, pcsc };
        ...
        perso_pcsc_disconnect (pcsc);
        perso_pcsc_destroy (&pcsc);
*/
#ifndef PERSO_PCSC_H
#define PERSO_PCSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "perso_apdu.h"

#define PERSO_READER_NAME_MAX 128
#define PERSO_READERS_MAX 16
#define PERSO_ATR_MAX 33
#define PERSO_ATR_HEX_SIZE (2 * PERSO_ATR_MAX + 1)

typedef struct _perso_pcsc_t perso_pcsc_t;

typedef struct {
    char name [PERSO_READER_NAME_MAX];
    bool card_present;
    char atr_hex [PERSO_ATR_HEX_SIZE];
} perso_reader_t;

perso_pcsc_t *perso_pcsc_new (void);
//  Disconnects (leaving the card as it is) and releases the context.
void perso_pcsc_destroy (perso_pcsc_t **self_p);

//  The readers pcscd knows, in its order, with what is in them (at most
//  max). 0 and *count (0 when there are none), or -1 with err when pcscd
//  cannot be reached.
int perso_pcsc_list (perso_pcsc_t *self, perso_reader_t *readers, size_t max, size_t *count,
                     char *err, size_t err_size);

//  Waits up to timeout_ms for a card in reader, then connects to it
//  exclusively (T=1 or T=0) and reads its ATR (as hex). PERSO_IO_OK, or
//  the failure with err ("no card in reader X after 10 s", "no reader X").
perso_io_t perso_pcsc_connect (perso_pcsc_t *self, const char *reader, int timeout_ms,
                               char atr_hex [PERSO_ATR_HEX_SIZE], char *err, size_t err_size);
//  Ends the card session (the card is left powered, not reset).
void perso_pcsc_disconnect (perso_pcsc_t *self);

//  A perso_transmit_fn; io is the perso_pcsc_t.
perso_io_t perso_pcsc_transmit (void *io, const uint8_t *command, size_t command_size,
                                uint8_t *response, size_t *response_size, char *err,
                                size_t err_size);

#endif
