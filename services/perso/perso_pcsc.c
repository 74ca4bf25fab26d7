/*  perso_pcsc: PC/SC context, readers, card sessions (see perso_pcsc.h).
*/
#include "perso_pcsc.h"

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_READER_LIST_MAX 8192
#define S_RESPONSE_MAX 8192
#define S_WAIT_SLICE_MS 1000
#define S_REMOVAL_WAIT_MS 1500

struct _perso_pcsc_t {
    SCARDCONTEXT context;
    bool have_context;
    SCARDHANDLE card;
    bool have_card;
    DWORD protocol;
    char reader [PERSO_READER_NAME_MAX];
};

//  pcscd went away (restart): the context is dead.
static bool
s_service_lost (LONG rc)
{
    return rc == SCARD_E_NO_SERVICE || rc == SCARD_E_SERVICE_STOPPED
        || rc == SCARD_E_INVALID_HANDLE;
}

static bool
s_card_gone (LONG rc)
{
    return rc == SCARD_W_REMOVED_CARD || rc == SCARD_E_NO_SMARTCARD || rc == SCARD_W_RESET_CARD
        || rc == SCARD_W_UNPOWERED_CARD || rc == SCARD_W_UNRESPONSIVE_CARD;
}

static void
s_release (perso_pcsc_t *self)
{
    if (self->have_card)
        SCardDisconnect (self->card, SCARD_LEAVE_CARD);
    self->have_card = false;
    if (self->have_context)
        SCardReleaseContext (self->context);
    self->have_context = false;
}

static LONG
s_context (perso_pcsc_t *self)
{
    if (self->have_context && SCardIsValidContext (self->context) == SCARD_S_SUCCESS)
        return SCARD_S_SUCCESS;
    s_release (self);
    LONG rc = SCardEstablishContext (SCARD_SCOPE_SYSTEM, NULL, NULL, &self->context);
    self->have_context = rc == SCARD_S_SUCCESS;
    return rc;
}

perso_pcsc_t *
perso_pcsc_new (void)
{
    return calloc (1, sizeof (perso_pcsc_t));
}

void
perso_pcsc_destroy (perso_pcsc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_release (*self_p);
    free (*self_p);
    *self_p = NULL;
}

static void
s_hex (const uint8_t *bytes, size_t size, char *hex)
{
    static const char digits [] = "0123456789abcdef";
    for (size_t i = 0; i < size; i++) {
        hex [2 * i] = digits [bytes [i] >> 4];
        hex [2 * i + 1] = digits [bytes [i] & 0x0F];
    }
    hex [2 * size] = 0;
}

//  SCardListReaders once, with one reconnection when pcscd restarted.
static LONG
s_list_names (perso_pcsc_t *self, char *names, DWORD *names_size)
{
    LONG rc = SCARD_E_NO_SERVICE;
    for (int attempt = 0; attempt < 2; attempt++) {
        DWORD size = *names_size;
        rc = s_context (self);
        if (rc == SCARD_S_SUCCESS)
            rc = SCardListReaders (self->context, NULL, names, &size);
        if (rc == SCARD_S_SUCCESS)
            *names_size = size;
        if (!s_service_lost (rc))
            break;
        s_release (self);
    }
    return rc;
}

int
perso_pcsc_list (perso_pcsc_t *self, perso_reader_t *readers, size_t max, size_t *count,
                 char *err, size_t err_size)
{
    *count = 0;
    char *names = calloc (1, S_READER_LIST_MAX);
    DWORD names_size = S_READER_LIST_MAX;
    if (!names) {
        snprintf (err, err_size, "out of memory");
        return -1;
    }
    LONG rc = s_list_names (self, names, &names_size);
    if (rc == SCARD_E_NO_READERS_AVAILABLE) {
        free (names);
        return 0;
    }
    if (rc != SCARD_S_SUCCESS) {
        snprintf (err, err_size, "PC/SC: %s", pcsc_stringify_error (rc));
        free (names);
        return -1;
    }
    names [S_READER_LIST_MAX - 1] = 0;
    SCARD_READERSTATE states [PERSO_READERS_MAX];
    memset (states, 0, sizeof states);
    for (const char *name = names; *name && *count < max && *count < PERSO_READERS_MAX;
         name += strlen (name) + 1) {
        perso_reader_t *reader = &readers [*count];
        memset (reader, 0, sizeof *reader);
        snprintf (reader->name, sizeof reader->name, "%s", name);
        states [*count].szReader = reader->name;
        states [*count].dwCurrentState = SCARD_STATE_UNAWARE;
        (*count)++;
    }
    //  The current state of each, at once (timeout 0).
    if (*count && SCardGetStatusChange (self->context, 0, states, (DWORD) *count) == SCARD_S_SUCCESS)
        for (size_t i = 0; i < *count; i++) {
            readers [i].card_present = (states [i].dwEventState & SCARD_STATE_PRESENT)
                                    && !(states [i].dwEventState & SCARD_STATE_MUTE);
            if (readers [i].card_present && states [i].cbAtr <= PERSO_ATR_MAX)
                s_hex (states [i].rgbAtr, states [i].cbAtr, readers [i].atr_hex);
        }
    free (names);
    return 0;
}

//  Waits for a responsive card in reader. SCARD_S_SUCCESS or the error.
static LONG
s_wait_card (perso_pcsc_t *self, const char *reader, int timeout_ms)
{
    SCARD_READERSTATE state;
    memset (&state, 0, sizeof state);
    state.szReader = reader;
    state.dwCurrentState = SCARD_STATE_UNAWARE;
    int waited_ms = 0;
    while (true) {
        //  A first call with timeout 0 reports the state now; then wait in
        //  slices, so a pcscd restart is noticed within one.
        int slice = state.dwCurrentState == SCARD_STATE_UNAWARE ? 0
                  : timeout_ms - waited_ms < S_WAIT_SLICE_MS ? timeout_ms - waited_ms
                  : S_WAIT_SLICE_MS;
        LONG rc = SCardGetStatusChange (self->context, (DWORD) slice, &state, 1);
        if (rc == SCARD_E_TIMEOUT)
            rc = SCARD_S_SUCCESS;
        if (rc != SCARD_S_SUCCESS)
            return rc;
        if (state.dwEventState & SCARD_STATE_UNKNOWN)
            return SCARD_E_UNKNOWN_READER;
        if ((state.dwEventState & SCARD_STATE_PRESENT) && !(state.dwEventState & SCARD_STATE_MUTE))
            return SCARD_S_SUCCESS;
        waited_ms += slice;
        if (waited_ms >= timeout_ms)
            return SCARD_E_TIMEOUT;
        state.dwCurrentState = state.dwEventState & ~SCARD_STATE_CHANGED;
    }
}

perso_io_t
perso_pcsc_connect (perso_pcsc_t *self, const char *reader, int timeout_ms,
                    char atr_hex [PERSO_ATR_HEX_SIZE], char *err, size_t err_size)
{
    perso_pcsc_disconnect (self);
    atr_hex [0] = 0;
    LONG rc = SCARD_E_NO_SERVICE;
    for (int attempt = 0; attempt < 2; attempt++) {
        rc = s_context (self);
        if (rc == SCARD_S_SUCCESS)
            rc = s_wait_card (self, reader, timeout_ms);
        if (rc == SCARD_S_SUCCESS)
            rc = SCardConnect (self->context, reader, SCARD_SHARE_EXCLUSIVE,
                               SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0, &self->card,
                               &self->protocol);
        if (!s_service_lost (rc))
            break;
        s_release (self);
    }
    if (rc == SCARD_E_TIMEOUT) {
        snprintf (err, err_size, "no card in reader %s after %d s", reader, timeout_ms / 1000);
        return PERSO_IO_REMOVED;
    }
    if (rc == SCARD_E_UNKNOWN_READER || rc == SCARD_E_READER_UNAVAILABLE) {
        snprintf (err, err_size, "no reader %s", reader);
        return PERSO_IO_READER;
    }
    if (rc != SCARD_S_SUCCESS) {
        snprintf (err, err_size, "cannot connect to the card in %s: %s", reader,
                  pcsc_stringify_error (rc));
        return s_service_lost (rc) ? PERSO_IO_NO_SERVICE
             : s_card_gone (rc) ? PERSO_IO_REMOVED : PERSO_IO_READER;
    }
    self->have_card = true;
    snprintf (self->reader, sizeof self->reader, "%s", reader);
    char name [PERSO_READER_NAME_MAX];
    DWORD name_size = sizeof name, state = 0, protocol = 0;
    BYTE atr [MAX_ATR_SIZE];
    DWORD atr_size = sizeof atr;
    rc = SCardStatus (self->card, name, &name_size, &state, &protocol, atr, &atr_size);
    if (rc != SCARD_S_SUCCESS || atr_size > PERSO_ATR_MAX || atr_size < 2) {
        snprintf (err, err_size, "cannot read the card's ATR: %s",
                  rc != SCARD_S_SUCCESS ? pcsc_stringify_error (rc) : "bad length");
        perso_pcsc_disconnect (self);
        return s_card_gone (rc) ? PERSO_IO_REMOVED : PERSO_IO_READER;
    }
    s_hex (atr, atr_size, atr_hex);
    return PERSO_IO_OK;
}

void
perso_pcsc_disconnect (perso_pcsc_t *self)
{
    if (self->have_card)
        SCardDisconnect (self->card, SCARD_LEAVE_CARD);
    self->have_card = false;
}

//  After a transport error: is the card still there?
static perso_io_t
s_classify (perso_pcsc_t *self, LONG rc)
{
    if (s_service_lost (rc))
        return PERSO_IO_NO_SERVICE;
    if (s_card_gone (rc))
        return PERSO_IO_REMOVED;
    char name [PERSO_READER_NAME_MAX];
    DWORD name_size = sizeof name, state = 0, protocol = 0, atr_size = MAX_ATR_SIZE;
    BYTE atr [MAX_ATR_SIZE];
    LONG status = SCardStatus (self->card, name, &name_size, &state, &protocol, atr, &atr_size);
    if (s_service_lost (status))
        return PERSO_IO_NO_SERVICE;
    if (s_card_gone (status) || (status == SCARD_S_SUCCESS && !(state & SCARD_PRESENT)))
        return PERSO_IO_REMOVED;
    return PERSO_IO_READER;
}

//  An empty answer: was the card pulled mid-command? pcscd may take a
//  moment to notice, so watch the reader for up to S_REMOVAL_WAIT_MS.
static bool
s_removed_meanwhile (perso_pcsc_t *self)
{
    SCARD_READERSTATE state;
    memset (&state, 0, sizeof state);
    state.szReader = self->reader;
    state.dwCurrentState = SCARD_STATE_UNAWARE;
    for (int round = 0; round < 2; round++) {
        LONG rc = SCardGetStatusChange (self->context, round ? S_REMOVAL_WAIT_MS : 0, &state, 1);
        if (rc != SCARD_S_SUCCESS && rc != SCARD_E_TIMEOUT)
            return s_service_lost (rc) ? false : true;
        if (!(state.dwEventState & SCARD_STATE_PRESENT) || (state.dwEventState & SCARD_STATE_EMPTY))
            return true;
        state.dwCurrentState = state.dwEventState & ~SCARD_STATE_CHANGED;
    }
    return false;
}

perso_io_t
perso_pcsc_transmit (void *io, const uint8_t *command, size_t command_size, uint8_t *response,
                     size_t *response_size, char *err, size_t err_size)
{
    perso_pcsc_t *self = io;
    if (!self->have_card) {
        snprintf (err, err_size, "no card session");
        return PERSO_IO_READER;
    }
    uint8_t *buffer = malloc (S_RESPONSE_MAX);
    if (!buffer) {
        snprintf (err, err_size, "out of memory");
        return PERSO_IO_READER;
    }
    DWORD size = S_RESPONSE_MAX;
    const SCARD_IO_REQUEST *pci = self->protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    LONG rc = SCardTransmit (self->card, pci, command, (DWORD) command_size, NULL, buffer, &size);
    perso_io_t result = PERSO_IO_OK;
    if (rc == SCARD_E_INSUFFICIENT_BUFFER) {
        snprintf (err, err_size, "the card's answer is longer than %d bytes", S_RESPONSE_MAX);
        result = PERSO_IO_MALFORMED;
    }
    else
    if (rc != SCARD_S_SUCCESS) {
        result = s_classify (self, rc);
        snprintf (err, err_size, "%s", pcsc_stringify_error (rc));
        if (result != PERSO_IO_READER)
            perso_pcsc_disconnect (self);
        if (result == PERSO_IO_NO_SERVICE)
            s_release (self);
    }
    else
    if (size < 2 && s_removed_meanwhile (self)) {
        snprintf (err, err_size, "the card left the reader during the command");
        perso_pcsc_disconnect (self);
        result = PERSO_IO_REMOVED;
    }
    else
    if (size > *response_size) {
        snprintf (err, err_size, "the card answered %lu bytes; at most %zu fit a response",
                  (unsigned long) size, *response_size);
        result = PERSO_IO_MALFORMED;
    }
    else {
        memcpy (response, buffer, size);
        *response_size = size;
    }
    OPENSSL_cleanse (buffer, S_RESPONSE_MAX);
    free (buffer);
    return result;
}
