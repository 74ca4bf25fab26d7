/*  vc_vpcd: the card's side of vsmartcard's vpcd protocol, which pcscd's
    vpcd reader driver speaks over TCP.

    Every frame is a 2-byte big-endian length then its payload. A 1-byte
    payload from the reader is a control message: 00 power off, 01 power
    on, 02 reset (no answer), 04 get ATR (answer: the ATR). Anything longer
    is a C-APDU, answered by the R-APDU. Closing the connection is pulling
    the card out of the reader.

    Fault injection, for tests of a host facing a broken card: APDUs are
    counted from 1 over the process's life (every C-APDU from any client,
    control messages not counted), and
        truncate-after=N  sends the Nth answer cut to half its length,
        garbage-after=N   replaces the Nth answer's data by random bytes
                          (keeping SW1 SW2; an answer without data gets
                          8 random bytes before its status word),
        drop-after=N      closes the connection on receiving the Nth APDU
                          without answering it, and the card leaves the
                          reader for good, as a card pulled mid-command.
*/
#ifndef VC_VPCD_H
#define VC_VPCD_H

#include "vc_card.h"

#include <signal.h>
#include <stdbool.h>

typedef struct {
    unsigned long truncate_at;      //  0 = never
    unsigned long garbage_at;
    unsigned long drop_at;
    unsigned long stall_at;         //  the Nth APDU is answered stall_seconds late
    unsigned long stall_seconds;    //  0 = VC_STALL_SECONDS_DEFAULT
} vc_faults_t;

#define VC_STALL_SECONDS_DEFAULT 5

typedef enum {
    VC_VPCD_STOPPED,                //  *stop was set (SIGTERM)
    VC_VPCD_CLOSED,                 //  the reader closed the connection
    VC_VPCD_PULLED,                 //  drop-after fired
    VC_VPCD_FAILED                  //  I/O error or a malformed frame
} vc_vpcd_end_t;

//  Parses "truncate-after=N", "garbage-after=N" or "drop-after=N" into
//  faults. 0 or -1.
int vc_faults_parse (vc_faults_t *faults, const char *spec);

//  Connects to host:port, retrying every 200 ms until it works, *stop is
//  set or wait_ms passes (0: forever). The socket, or -1.
int vc_vpcd_connect (const char *host, const char *port, unsigned long wait_ms,
                     volatile sig_atomic_t *stop);

//  Serves the card on a connected socket until it closes, a fault pulls the
//  card or *stop is set. *apdu_count carries the APDU count across
//  connections. Does not close fd.
vc_vpcd_end_t vc_vpcd_serve (vc_card_t *card, int fd, const vc_faults_t *faults,
                             unsigned long *apdu_count, volatile sig_atomic_t *stop);

#endif
