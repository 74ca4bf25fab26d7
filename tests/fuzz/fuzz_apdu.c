/*  Fuzz target: the virtual card's APDU dispatcher, and its state file
    reader (a test's state file is outside input too).

    Input: a mode byte, then data.
    - Mode with the top bit clear: the data is a sequence of C-APDUs, each
      one length byte then that many bytes, sent in order to one card (so
      chains, GET RESPONSE and multi-step authentication get explored).
      Mode bit 0 starts the session with the management key authenticated,
      bit 1 with the PIN verified, so the write and signing paths are
      reachable; bit 2 sends a reset before each APDU.
    - Mode with the top bit set: the data is a state file for vc_state_decode.
    Every answer must end with a status word and fit the card's limit.
*/
#include "vc_card_internal.h"
#include "vc_state.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static vc_state_t *
s_card_state (void)
{
    //  One state with a P-256 key in 9A, made once and copied through its
    //  encoding for each input (keeps inputs independent and fast).
    static vc_buf_t encoded;
    static int ready = 0;
    if (!ready) {
        vc_state_t *state = vc_state_new ();
        EVP_PKEY *key = vc_key_generate (VC_ALG_ECCP256);
        if (!state || !key)
            abort ();
        vc_state_put_key (state, vc_state_slot_index (0x9A), VC_ALG_ECCP256, &key);
        vc_buf_init (&encoded, VC_STATE_FILE_MAX);
        if (vc_state_encode (state, &encoded))
            abort ();
        vc_state_destroy (&state);
        ready = 1;
    }
    return vc_state_decode (encoded.data, encoded.len);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data [0];
    data++;
    size--;
    if (mode & 0x80) {
        vc_state_t *state = vc_state_decode (data, size);
        if (state && state->pin.tries_left > state->pin.tries_max)
            __builtin_trap ();
        vc_state_destroy (&state);
        return 0;
    }
    vc_state_t *state = s_card_state ();
    vc_card_t *card = vc_card_new (&state, NULL);
    if (!card)
        abort ();
    vc_card_power_on (card);
    card->mgmt_authenticated = (mode & 0x01) != 0;
    card->pin_verified = (mode & 0x02) != 0;
    card->pin_fresh = card->pin_verified;
    vc_buf_t answer;
    vc_buf_init (&answer, VC_CARD_ANSWER_MAX);
    size_t at = 0;
    while (at < size) {
        size_t len = data [at++];
        if (len > size - at)
            len = size - at;
        //  A copy of exactly the APDU's size, so reads past it are caught.
        uint8_t *apdu = malloc (len ? len : 1);
        if (!apdu)
            abort ();
        memcpy (apdu, data + at, len);
        at += len;
        if (mode & 0x04)
            vc_card_reset (card);
        vc_card_process (card, apdu, len, &answer);
        free (apdu);
        if (answer.len < 2 || answer.len > VC_CARD_ANSWER_MAX)
            __builtin_trap ();
    }
    vc_buf_reset (&answer);
    vc_card_destroy (&card);
    return 0;
}
