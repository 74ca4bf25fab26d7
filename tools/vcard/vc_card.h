/*  vc_card: the PIV card application (NIST SP 800-73-4) behind one reader
    slot: it takes C-APDUs and gives R-APDUs, keeping the session state a
    real card keeps while powered (PIN verified, management key
    authenticated, a command chain in progress, an answer waiting for GET
    RESPONSE) and saving its persistent state (vc_state) after every change,
    before it answers.

        vc_state_t *state = vc_state_load (path);
        vc_card_t *card = vc_card_new (&state, path);
        vc_card_power_on (card);
        vc_buf_t answer;
        vc_buf_init (&answer, VC_CARD_ANSWER_MAX);
        vc_card_process (card, capdu, capdu_len, &answer);   // answer ends with SW1 SW2
        vc_card_destroy (&card);

    Commands: SELECT (A4), GET DATA (CB), PUT DATA (DB), GENERATE
    ASYMMETRIC KEY PAIR (47), GENERAL AUTHENTICATE (87), VERIFY (20),
    CHANGE REFERENCE DATA (24), RESET RETRY COUNTER (2C), GET RESPONSE (C0),
    and Yubico's GET VERSION (FD), GET SERIAL (F8) and SET MANAGEMENT KEY
    (FF) so yubico-piv-tool can drive it. Command chaining (CLA 10) for
    PUT DATA, GENERATE and GENERAL AUTHENTICATE, up to VC_CARD_CHAIN_MAX
    bytes in all.
*/
#ifndef VC_CARD_H
#define VC_CARD_H

#include "vc_buf.h"
#include "vc_state.h"

#include <stddef.h>
#include <stdint.h>

#define VC_CARD_CHAIN_MAX       8192
#define VC_CARD_ANSWER_MAX      (65536 + 2)

typedef struct _vc_card_t vc_card_t;

//  Takes ownership of *state_p. With a state_path, every change is saved
//  there before the card answers; NULL keeps the state in memory only.
vc_card_t *vc_card_new (vc_state_t **state_p, const char *state_path);
void vc_card_destroy (vc_card_t **self_p);

//  The card's answer to reset: T=1, historical bytes "tessera".
const uint8_t *vc_card_atr (size_t *atr_len);

//  Power on, off and warm reset all end the session: PIN and management
//  key authentication are forgotten, chains and pending answers dropped.
void vc_card_power_on (vc_card_t *self);
void vc_card_power_off (vc_card_t *self);
void vc_card_reset (vc_card_t *self);

//  Processes one C-APDU; replaces `answer`'s content with the R-APDU
//  (data then SW1 SW2). Never fails to produce a status word.
void vc_card_process (vc_card_t *self, const uint8_t *capdu, size_t capdu_len, vc_buf_t *answer);

//  The card's persistent state (borrowed).
const vc_state_t *vc_card_state (const vc_card_t *self);

#endif
