/*  vc_card internals shared by the command handlers (vc_cmd_*.c) and the
    tests. Not for the card's users: they see vc_card.h.
*/
#ifndef VC_CARD_INTERNAL_H
#define VC_CARD_INTERNAL_H

#include "vc_apdu.h"
#include "vc_card.h"
#include "vc_keys.h"

#include <stdbool.h>

typedef enum {
    VC_MGMT_IDLE,
    VC_MGMT_WITNESS_SENT,           //  mutual authentication, step 1 done
    VC_MGMT_CHALLENGE_SENT          //  external authentication, step 1 done
} vc_mgmt_step_t;

struct _vc_card_t {
    vc_state_t *state;
    char *state_path;
    //  Session (cleared by power off, power on and reset)
    bool pin_verified;
    bool pin_fresh;                 //  VERIFY succeeded and 9C has not used it yet
    bool mgmt_authenticated;
    vc_mgmt_step_t mgmt_step;
    uint8_t mgmt_nonce [VC_MGMT_BLOCK_MAX];
    bool chaining;
    uint8_t chain_ins, chain_p1, chain_p2;
    vc_buf_t chain;
    vc_buf_t pending;               //  answer bytes left for GET RESPONSE
};

//  A handler gets the whole (unchained) command data and appends its answer
//  data to `out`; it returns the status word.
typedef uint16_t (vc_handler_fn) (vc_card_t *card, const vc_apdu_t *apdu,
                                  const uint8_t *data, size_t data_len, vc_buf_t *out);

vc_handler_fn vc_cmd_get_data;
vc_handler_fn vc_cmd_put_data;
vc_handler_fn vc_cmd_generate;
vc_handler_fn vc_cmd_general_authenticate;
vc_handler_fn vc_cmd_verify;
vc_handler_fn vc_cmd_change_reference;
vc_handler_fn vc_cmd_reset_retry;
vc_handler_fn vc_cmd_import_key;
vc_handler_fn vc_cmd_set_mgmt_key;
vc_handler_fn vc_cmd_get_version;
vc_handler_fn vc_cmd_get_serial;

//  Saves the persistent state (when the card has a file). 0 or -1.
int vc_card_save (vc_card_t *card);
//  Clears every session flag (used by power events).
void vc_card_end_session (vc_card_t *card);

#endif
