/*  tessera-vcard: a virtual PIV card (NIST SP 800-73-4) for pcscd's vpcd
    reader driver (Debian package vsmartcard-vpcd), so tests and the demo run
    the real PC/SC stack without hardware.

    Usage:
        tessera-vcard --state FILE [--init] [--show] [--host 127.0.0.1]
                      [--port 35963] [--wait SECONDS] [--once]
                      [--fault truncate-after=N|garbage-after=N|drop-after=N|stall-after=N]...
                      [--log-level debug|info|warn|error]

    --state FILE    the card: keys, data objects, PIN, PUK and their retry
                    counters, management key, GUID and serial. Written
                    after every change (atomically), read at start.
    --init          formats the card first: a new GUID and serial, PIN
                    123456, PUK 12345678, 3DES management key
                    010203040506070801020304050607080102030405060708,
                    no keys, a Discovery object and a CHUID. Erases FILE.
    --show          prints the card's identity and contents as one JSON
                    line on stdout and exits without inserting the card.
    --host, --port  where pcscd's vpcd driver listens (CHANNELID in its
                    reader.conf; Debian's default is 35963).
    --wait SECONDS  how long to keep trying to reach vpcd (default 30,
                    0 forever); also used to reconnect when pcscd restarts.
    --once          exit when the reader closes the connection instead of
                    waiting for pcscd to come back.
    --fault SPEC    test faults, counted in C-APDUs from 1 (see vc_vpcd.h):
                    truncate-after=N, garbage-after=N, drop-after=N,
                    stall-after=N (with stall-seconds=S, default 5).

    Inserting the card = starting this process; removing it = ending it
    (SIGTERM exits 0) or drop-after; reinserting = starting it again with
    the same state file. Each APDU is logged at level debug with its index,
    header and status word (never its data), so a test can choose N.
    Exit status: 0 on SIGTERM, on drop-after and when --once ends; 1 when
    vpcd could not be reached or the state file is unusable; 2 for usage.
*/
#include "vc_card.h"
#include "vc_state.h"
#include "vc_vpcd.h"
#include "tessera/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t s_stop = 0;

static void
s_on_signal (int signum)
{
    (void) signum;
    s_stop = 1;
}

static void
s_usage (void)
{
    fprintf (stderr,
             "usage: tessera-vcard --state FILE [--init] [--show] [--host HOST] [--port PORT]\n"
             "                     [--wait SECONDS] [--once] [--fault SPEC]... [--log-level LEVEL]\n"
             "  SPEC: truncate-after=N | garbage-after=N | drop-after=N | stall-after=N"
             " [stall-seconds=S]\n");
}

static void
s_hex (char *out, const uint8_t *bytes, size_t len)
{
    for (size_t i = 0; i < len; i++)
        snprintf (out + 2 * i, 3, "%02x", bytes [i]);
}

static const char *
s_alg_name (uint8_t alg)
{
    switch (alg) {
        case VC_ALG_3DES:    return "3des";
        case VC_ALG_AES128:  return "aes128";
        case VC_ALG_AES192:  return "aes192";
        case VC_ALG_AES256:  return "aes256";
        case VC_ALG_RSA2048: return "rsa2048";
        case VC_ALG_ECCP256: return "eccp256";
        case VC_ALG_ECCP384: return "eccp384";
        default:             return "unknown";
    }
}

//  One JSON line: identity, counters, management key algorithm, keys and
//  object ids. No secret is printed.
static void
s_show (const vc_state_t *state)
{
    static const uint8_t refs [VC_SLOT_COUNT] = { 0x9A, 0x9C, 0x9D, 0x9E };
    char guid [2 * VC_GUID_LEN + 1];
    s_hex (guid, state->guid, VC_GUID_LEN);
    printf ("{\"guid\":\"%s\",\"serial\":%lu,\"pin_tries_left\":%u,\"puk_tries_left\":%u,"
            "\"mgmt_alg\":\"%s\",\"keys\":{",
            guid, (unsigned long) state->serial, state->pin.tries_left, state->puk.tries_left,
            s_alg_name (state->mgmt_alg));
    bool first = true;
    for (int i = 0; i < VC_SLOT_COUNT; i++) {
        if (!state->slots [i].key)
            continue;
        printf ("%s\"%02x\":\"%s\"", first ? "" : ",", refs [i], s_alg_name (state->slots [i].alg));
        first = false;
    }
    printf ("},\"objects\":[");
    for (size_t i = 0; i < state->object_count; i++)
        printf ("%s\"%06lx\"", i ? "," : "", (unsigned long) state->objects [i].id);
    printf ("]}\n");
    fflush (stdout);
}

int
main (int argc, char **argv)
{
    const char *state_path = NULL;
    const char *host = "127.0.0.1";
    const char *port = "35963";
    const char *log_level = "info";
    unsigned long wait_s = 30;
    bool init = false, show = false, once = false;
    vc_faults_t faults = { 0 };

    for (int i = 1; i < argc; i++) {
        const char *arg = argv [i];
        const char *value = i + 1 < argc ? argv [i + 1] : NULL;
        bool takes_value = true;
        if (strcmp (arg, "--state") == 0 && value)
            state_path = value;
        else
        if (strcmp (arg, "--host") == 0 && value)
            host = value;
        else
        if (strcmp (arg, "--port") == 0 && value)
            port = value;
        else
        if (strcmp (arg, "--log-level") == 0 && value)
            log_level = value;
        else
        if (strcmp (arg, "--wait") == 0 && value) {
            char *end = NULL;
            errno = 0;
            wait_s = strtoul (value, &end, 10);
            if (errno || *end || value [0] == '-') {
                fprintf (stderr, "tessera-vcard: --wait wants a number of seconds\n");
                return 2;
            }
        }
        else
        if (strcmp (arg, "--fault") == 0 && value) {
            if (vc_faults_parse (&faults, value)) {
                fprintf (stderr, "tessera-vcard: unknown fault '%s'\n", value);
                s_usage ();
                return 2;
            }
        }
        else {
            takes_value = false;
            if (strcmp (arg, "--init") == 0)
                init = true;
            else
            if (strcmp (arg, "--show") == 0)
                show = true;
            else
            if (strcmp (arg, "--once") == 0)
                once = true;
            else {
                s_usage ();
                return 2;
            }
        }
        if (takes_value)
            i++;
    }
    if (!state_path) {
        s_usage ();
        return 2;
    }
    int level = tsr_log_level_parse (log_level);
    if (level < 0) {
        fprintf (stderr, "tessera-vcard: unknown log level '%s'\n", log_level);
        return 2;
    }
    tsr_log_init ("vcard", (tsr_log_level_t) level);

    vc_state_t *state = NULL;
    if (init) {
        state = vc_state_new ();
        if (!state || vc_state_save (state, state_path)) {
            tsr_log_error (NULL, "vcard.init_failed", "state", state_path, NULL);
            vc_state_destroy (&state);
            return 1;
        }
        tsr_log_info (NULL, "vcard.initialised", "state", state_path, NULL);
    }
    else {
        state = vc_state_load (state_path);
        if (!state) {
            tsr_log_error (NULL, "vcard.state_unreadable", "state", state_path, "hint",
                           "a new card is made with --init", NULL);
            return 1;
        }
    }
    if (show) {
        s_show (state);
        vc_state_destroy (&state);
        return 0;
    }

    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_signal;
    sigemptyset (&action.sa_mask);
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);
    signal (SIGPIPE, SIG_IGN);

    vc_card_t *card = vc_card_new (&state, state_path);
    if (!card) {
        vc_state_destroy (&state);
        return 1;
    }
    int status = 0;
    unsigned long apdu_count = 0;
    bool connected_once = false;
    while (!s_stop) {
        int fd = vc_vpcd_connect (host, port, wait_s * 1000UL, &s_stop);
        if (fd < 0) {
            if (!s_stop) {
                tsr_log_error (NULL, "vcard.unreachable", "host", host, "port", port, "hint",
                               "is pcscd running with the vpcd driver on this port?", NULL);
                status = 1;
            }
            break;
        }
        tsr_log_info (NULL, connected_once ? "vcard.reinserted" : "vcard.inserted",
                      "host", host, "port", port, NULL);
        connected_once = true;
        vc_vpcd_end_t end = vc_vpcd_serve (card, fd, &faults, &apdu_count, &s_stop);
        close (fd);
        vc_card_power_off (card);
        if (end == VC_VPCD_PULLED) {
            tsr_log_info (NULL, "vcard.pulled", NULL);
            break;
        }
        if (end == VC_VPCD_STOPPED)
            break;
        tsr_log_info (NULL, "vcard.disconnected", "reason",
                      end == VC_VPCD_CLOSED ? "reader closed" : "connection failed", NULL);
        if (once)
            break;
    }
    tsr_log_info (NULL, "vcard.stopped", NULL);
    vc_card_destroy (&card);
    return status;
}
