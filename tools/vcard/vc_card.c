/*  vc_card: the PIV application's dispatcher (see vc_card.h). Parsing,
    class checks, command chaining, SELECT and GET RESPONSE live here; each
    command's meaning lives in a vc_cmd_*.c file.
*/
#include "vc_card_internal.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

//  T=1 only (TD1 81, TD2 31 with IFSC FE and BWI/CWI 45); historical bytes
//  80 (compact TLV) 57 "tessera" (issuer data); TCK. Not the 3B 8x 80 01
//  form OpenSC takes for a contactless card, and no vendor's ATR, so
//  OpenSC treats the card as a generic PIV card.
static const uint8_t s_atr [] = {
    0x3B, 0x89, 0x81, 0x31, 0xFE, 0x45, 0x80, 0x57,
    't', 'e', 's', 's', 'e', 'r', 'a', 0x32
};

static const uint8_t s_piv_aid [] = {
    0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00
};

//  Application property template, as SP 800-73-4 3.1.1 and YubiKeys give it.
static const uint8_t s_apt [] = {
    0x61, 0x11, 0x4F, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
    0x79, 0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08
};

typedef struct {
    uint8_t ins;
    vc_handler_fn *handler;
    bool chainable;
} s_command_t;

static const s_command_t s_commands [] = {
    { 0xCB, vc_cmd_get_data, false },
    { 0xDB, vc_cmd_put_data, true },
    { 0x47, vc_cmd_generate, true },
    { 0x87, vc_cmd_general_authenticate, true },
    { 0x20, vc_cmd_verify, false },
    { 0x24, vc_cmd_change_reference, false },
    { 0x2C, vc_cmd_reset_retry, false },
    { 0xFE, vc_cmd_import_key, true },
    { 0xFF, vc_cmd_set_mgmt_key, false },
    { 0xFD, vc_cmd_get_version, false },
    { 0xF8, vc_cmd_get_serial, false },
};

vc_card_t *
vc_card_new (vc_state_t **state_p, const char *state_path)
{
    if (!state_p || !*state_p)
        return NULL;
    vc_card_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (state_path && !(self->state_path = strdup (state_path))) {
        free (self);
        return NULL;
    }
    self->state = *state_p;
    *state_p = NULL;
    vc_buf_init (&self->chain, VC_CARD_CHAIN_MAX);
    vc_buf_init (&self->pending, VC_CARD_ANSWER_MAX);
    return self;
}

void
vc_card_destroy (vc_card_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    vc_card_t *self = *self_p;
    vc_card_end_session (self);
    vc_state_destroy (&self->state);
    free (self->state_path);
    OPENSSL_cleanse (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

const uint8_t *
vc_card_atr (size_t *atr_len)
{
    *atr_len = sizeof s_atr;
    return s_atr;
}

const vc_state_t *
vc_card_state (const vc_card_t *self)
{
    return self->state;
}

void
vc_card_end_session (vc_card_t *card)
{
    card->pin_verified = false;
    card->pin_fresh = false;
    card->mgmt_authenticated = false;
    card->mgmt_step = VC_MGMT_IDLE;
    OPENSSL_cleanse (card->mgmt_nonce, sizeof card->mgmt_nonce);
    card->chaining = false;
    vc_buf_reset (&card->chain);
    vc_buf_reset (&card->pending);
}

void
vc_card_power_on (vc_card_t *self)
{
    vc_card_end_session (self);
}

void
vc_card_power_off (vc_card_t *self)
{
    vc_card_end_session (self);
}

void
vc_card_reset (vc_card_t *self)
{
    vc_card_end_session (self);
}

int
vc_card_save (vc_card_t *card)
{
    if (!card->state_path)
        return 0;
    return vc_state_save (card->state, card->state_path);
}

//  SELECT by AID (P1 04): the PIV AID or any prefix of it from the 5-byte
//  RID on. The PIV application is also selected from power on (it is this
//  card's only application), so a failed SELECT leaves it selected.
static uint16_t
s_select (const vc_apdu_t *apdu, vc_buf_t *out)
{
    if (apdu->p1 != 0x04 || (apdu->p2 != 0x00 && apdu->p2 != 0x0C))
        return VC_SW_INCORRECT_P1P2;
    if (apdu->lc < 5 || apdu->lc > sizeof s_piv_aid
    ||  memcmp (apdu->data, s_piv_aid, apdu->lc) != 0)
        return VC_SW_NOT_FOUND;
    if (apdu->p2 == 0x00)
        vc_buf_put (out, s_apt, sizeof s_apt);
    return VC_SW_OK;
}

//  Moves up to `limit` bytes of the pending answer into `answer` and returns
//  the status word telling what is left: 90 00 or 61 xx.
static uint16_t
s_emit_pending (vc_card_t *self, size_t limit, vc_buf_t *answer)
{
    size_t count = self->pending.len < limit ? self->pending.len : limit;
    vc_buf_put (answer, self->pending.data, count);
    vc_buf_consume (&self->pending, count);
    if (self->pending.len == 0)
        return VC_SW_OK;
    return (uint16_t) (VC_SW_BYTES_REMAINING | (self->pending.len > 0xFF ? 0 : self->pending.len));
}

static size_t
s_answer_limit (const vc_apdu_t *apdu)
{
    //  No Le (case 1 or 3) still gets up to 256 bytes, as YubiKeys do:
    //  yubico-piv-tool sends GENERAL AUTHENTICATE without Le.
    if (apdu->ne == 0)
        return 256;
    return apdu->ne;
}

static void
s_drop_chain (vc_card_t *self)
{
    self->chaining = false;
    vc_buf_reset (&self->chain);
}

//  Runs one parsed command; answer data goes to `out`.
static uint16_t
s_dispatch (vc_card_t *self, const vc_apdu_t *apdu, vc_buf_t *out)
{
    if ((apdu->cla & ~0x10) != 0) {
        s_drop_chain (self);
        return VC_SW_CLA_UNSUPPORTED;
    }
    bool chained = (apdu->cla & 0x10) != 0;
    if (apdu->ins == 0xA4) {
        s_drop_chain (self);
        return chained ? VC_SW_CHAINING_UNSUPPORTED : s_select (apdu, out);
    }
    const s_command_t *command = NULL;
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands [0]; i++)
        if (s_commands [i].ins == apdu->ins)
            command = &s_commands [i];
    if (!command) {
        s_drop_chain (self);
        return VC_SW_INS_UNSUPPORTED;
    }
    bool continues = self->chaining && self->chain_ins == apdu->ins
                  && self->chain_p1 == apdu->p1 && self->chain_p2 == apdu->p2;
    if (!continues)
        s_drop_chain (self);        //  another command ends an unfinished chain
    if (chained) {
        if (!command->chainable)
            return VC_SW_CHAINING_UNSUPPORTED;
        if (apdu->lc == 0) {
            s_drop_chain (self);
            return VC_SW_WRONG_LENGTH;
        }
        vc_buf_put (&self->chain, apdu->data, apdu->lc);
        if (self->chain.failed) {
            s_drop_chain (self);
            return VC_SW_NOT_ENOUGH_MEMORY;
        }
        self->chaining = true;
        self->chain_ins = apdu->ins;
        self->chain_p1 = apdu->p1;
        self->chain_p2 = apdu->p2;
        return VC_SW_OK;
    }
    uint16_t sw;
    if (continues) {
        vc_buf_put (&self->chain, apdu->data, apdu->lc);
        if (self->chain.failed)
            sw = VC_SW_NOT_ENOUGH_MEMORY;
        else
            sw = command->handler (self, apdu, self->chain.data, self->chain.len, out);
    }
    else
        sw = command->handler (self, apdu, apdu->data, apdu->lc, out);
    s_drop_chain (self);
    return sw;
}

void
vc_card_process (vc_card_t *self, const uint8_t *capdu, size_t capdu_len, vc_buf_t *answer)
{
    answer->len = 0;
    answer->failed = false;
    vc_apdu_t apdu;
    uint16_t sw = vc_apdu_parse (capdu, capdu_len, &apdu);
    if (sw != VC_SW_OK) {
        s_drop_chain (self);
        vc_buf_reset (&self->pending);
    }
    else
    if (apdu.ins == 0xC0 && apdu.cla == 0x00) {
        //  GET RESPONSE: the next part of the last answer.
        if (apdu.p1 != 0 || apdu.p2 != 0)
            sw = VC_SW_INCORRECT_P1P2;
        else
        if (self->pending.len == 0)
            sw = VC_SW_CONDITIONS_OF_USE;
        else
            sw = s_emit_pending (self, s_answer_limit (&apdu), answer);
    }
    else {
        vc_buf_reset (&self->pending);
        vc_buf_t out;
        vc_buf_init (&out, VC_CARD_ANSWER_MAX - 2);
        sw = s_dispatch (self, &apdu, &out);
        if (out.failed)
            sw = VC_SW_UNKNOWN;
        if (sw == VC_SW_OK && out.len > 0) {
            //  The answer goes out through `pending`, so a long one is
            //  split into Le-sized parts with 61 xx.
            vc_buf_put (&self->pending, out.data, out.len);
            sw = self->pending.failed ? VC_SW_UNKNOWN
                                      : s_emit_pending (self, s_answer_limit (&apdu), answer);
        }
        vc_buf_reset (&out);
    }
    if (answer->failed) {
        answer->len = 0;
        answer->failed = false;
        sw = VC_SW_UNKNOWN;
    }
    vc_buf_put_u8 (answer, (uint8_t) (sw >> 8));
    vc_buf_put_u8 (answer, (uint8_t) sw);
}
