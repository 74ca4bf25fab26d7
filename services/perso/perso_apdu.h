/*  perso_apdu: command and response APDUs over a card transport.

    A card is reached through a transmit function (PC/SC in the service,
    a scripted card in the unit tests). perso_apdu_exchange sends one
    command, splitting data over 255 bytes into a chain (CLA 10 on all but
    the last part), fetches the rest of a long answer with GET RESPONSE
    (61 xx), and checks every answer before anyone reads it: at least the
    two status bytes, never more than the caller's buffer, a bounded
    number of GET RESPONSE rounds.

    Failures are classified, because the job reports them differently: the
    card was removed, the PC/SC service went away, the reader failed, or
    the card answered something malformed. A status word other than 90 00
    is not a transport failure: the caller decides what it means
    (perso_apdu_sw_text names it).
*/
#ifndef PERSO_APDU_H
#define PERSO_APDU_H

#include <stddef.h>
#include <stdint.h>

//  What went wrong below the status word.
typedef enum {
    PERSO_IO_OK = 0,
    PERSO_IO_REMOVED,           //  card removed or reset: pulled out mid-job
    PERSO_IO_NO_SERVICE,        //  pcscd gone (restarted): reconnect the context
    PERSO_IO_READER,            //  the reader failed or vanished
    PERSO_IO_MALFORMED,         //  the card's answer does not parse
} perso_io_t;

//  Sends command (command_size bytes) and writes the raw answer (data and
//  SW1 SW2) into response, at most *response_size bytes; sets
//  *response_size. Returns PERSO_IO_OK or the failure, with err set.
typedef perso_io_t (perso_transmit_fn) (void *io, const uint8_t *command, size_t command_size,
                                         uint8_t *response, size_t *response_size,
                                         char *err, size_t err_size);

typedef struct {
    perso_transmit_fn *transmit;
    void *io;
} perso_card_t;

#define PERSO_APDU_RESPONSE_MAX 8192    //  the longest answer assembled (a certificate object)
#define PERSO_APDU_GET_RESPONSE_MAX 40  //  rounds of 61 xx before we give up
#define PERSO_SW_OK 0x9000

//  Sends CLA INS P1 P2 with data (chained when over 255 bytes) and Le 00
//  when expect_data. The answer's data goes to out (capacity out_max),
//  *out_size its length, *sw the final status word. Returns PERSO_IO_OK
//  (whatever the status word) or the failure with err set.
perso_io_t perso_apdu_exchange (perso_card_t *card, uint8_t cla, uint8_t ins, uint8_t p1,
                                uint8_t p2, const uint8_t *data, size_t data_size,
                                int expect_data, uint8_t *out, size_t out_max,
                                size_t *out_size, uint16_t *sw, char *err, size_t err_size);

//  "security status not satisfied" ...: what a status word means, for the
//  job's failure detail (never NULL).
const char *perso_apdu_sw_text (uint16_t sw);
//  "SW 6982 (security status not satisfied)" into out.
void perso_apdu_sw_format (uint16_t sw, char *out, size_t size);
//  "card removed" ...
const char *perso_io_text (perso_io_t io);

#endif
