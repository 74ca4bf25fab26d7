/*  vc_vpcd: vpcd framing, the connection to pcscd's reader driver and the
    fault injection (see vc_vpcd.h).
*/
#include "vc_vpcd.h"
#include "tessera/log.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define S_POLL_MS       250
#define S_FRAME_MAX     65535

static int
s_parse_count (const char *text, unsigned long *count)
{
    if (!text || !*text)
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long value = strtoul (text, &end, 10);
    if (errno || *end != '\0' || value == 0 || text [0] == '-')
        return -1;
    *count = value;
    return 0;
}

int
vc_faults_parse (vc_faults_t *faults, const char *spec)
{
    static const struct {
        const char *prefix;
        size_t offset;
    } kinds [] = {
        { "truncate-after=", offsetof (vc_faults_t, truncate_at) },
        { "garbage-after=", offsetof (vc_faults_t, garbage_at) },
        { "drop-after=", offsetof (vc_faults_t, drop_at) },
        { "stall-after=", offsetof (vc_faults_t, stall_at) },
        { "stall-seconds=", offsetof (vc_faults_t, stall_seconds) },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds [0]; i++) {
        size_t prefix_len = strlen (kinds [i].prefix);
        if (strncmp (spec, kinds [i].prefix, prefix_len) == 0)
            return s_parse_count (spec + prefix_len,
                                  (unsigned long *) ((char *) faults + kinds [i].offset));
    }
    return -1;
}

static unsigned long
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (unsigned long) now.tv_sec * 1000UL + (unsigned long) now.tv_nsec / 1000000UL;
}

int
vc_vpcd_connect (const char *host, const char *port, unsigned long wait_ms,
                 volatile sig_atomic_t *stop)
{
    unsigned long start = s_now_ms ();
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    while (!*stop) {
        struct addrinfo *found = NULL;
        if (getaddrinfo (host, port, &hints, &found) == 0) {
            for (struct addrinfo *at = found; at; at = at->ai_next) {
                int fd = socket (at->ai_family, at->ai_socktype | SOCK_CLOEXEC, at->ai_protocol);
                if (fd < 0)
                    continue;
                if (connect (fd, at->ai_addr, at->ai_addrlen) == 0) {
                    int one = 1;
                    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    freeaddrinfo (found);
                    return fd;
                }
                close (fd);
            }
            freeaddrinfo (found);
        }
        if (wait_ms && s_now_ms () - start >= wait_ms)
            break;
        struct timespec pause = { 0, 200 * 1000000L };
        nanosleep (&pause, NULL);
    }
    return -1;
}

//  Reads exactly len bytes, waking every S_POLL_MS to look at *stop.
//  1 done, 0 peer closed (before any byte of this read), -1 error or stop.
static int
s_read_exact (int fd, uint8_t *buf, size_t len, volatile sig_atomic_t *stop)
{
    size_t at = 0;
    while (at < len) {
        if (*stop)
            return -1;
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int ready = poll (&pfd, 1, S_POLL_MS);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            return -1;
        if (ready == 0)
            continue;
        ssize_t n = recv (fd, buf + at, len - at, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n == 0)
            return at == 0 ? 0 : -1;
        if (n < 0)
            return -1;
        at += (size_t) n;
    }
    return 1;
}

static int
s_send_frame (int fd, const uint8_t *payload, size_t len)
{
    if (len > S_FRAME_MAX)
        return -1;
    uint8_t *frame = malloc (len + 2);
    if (!frame)
        return -1;
    frame [0] = (uint8_t) (len >> 8);
    frame [1] = (uint8_t) len;
    memcpy (frame + 2, payload, len);
    size_t at = 0;
    int rc = 0;
    while (at < len + 2) {
        ssize_t n = send (fd, frame + at, len + 2 - at, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = -1;
            break;
        }
        at += (size_t) n;
    }
    free (frame);
    return rc;
}

static void
s_log_apdu (unsigned long index, const uint8_t *capdu, size_t capdu_len, const vc_buf_t *answer)
{
    char number [24], header [16], sw [8], answer_len [24];
    snprintf (number, sizeof number, "%lu", index);
    snprintf (header, sizeof header, "%02X%02X%02X%02X", capdu [0], capdu [1],
              capdu_len > 2 ? capdu [2] : 0, capdu_len > 3 ? capdu [3] : 0);
    if (answer->len >= 2)
        snprintf (sw, sizeof sw, "%02X%02X", answer->data [answer->len - 2],
                  answer->data [answer->len - 1]);
    else
        snprintf (sw, sizeof sw, "-");
    snprintf (answer_len, sizeof answer_len, "%zu", answer->len);
    tsr_log_debug (NULL, "vcard.apdu", "index", number, "header", header, "sw", sw,
                   "answer_len", answer_len, NULL);
}

//  Applies truncate-after and garbage-after to the answer of APDU `index`.
static void
s_fault_answer (const vc_faults_t *faults, unsigned long index, vc_buf_t *answer)
{
    char number [24];
    snprintf (number, sizeof number, "%lu", index);
    if (faults->truncate_at == index && answer->len > 0) {
        answer->len = answer->len / 2 ? answer->len / 2 : 1;
        tsr_log_info (NULL, "vcard.fault", "kind", "truncate", "apdu", number, NULL);
    }
    if (faults->garbage_at == index && answer->len >= 2) {
        uint8_t sw [2] = { answer->data [answer->len - 2], answer->data [answer->len - 1] };
        size_t data_len = answer->len > 2 ? answer->len - 2 : 8;
        uint8_t garbage [S_FRAME_MAX];
        if (RAND_bytes (garbage, (int) data_len) != 1)
            memset (garbage, 0xA5, data_len);
        answer->len = 0;
        vc_buf_put (answer, garbage, data_len);
        vc_buf_put (answer, sw, 2);
        tsr_log_info (NULL, "vcard.fault", "kind", "garbage", "apdu", number, NULL);
    }
}

//  Waits seconds before the answer (a card that takes its time, so that a
//  test can act in the middle of a command), looking at *stop meanwhile.
static void
s_stall (unsigned long seconds, volatile sig_atomic_t *stop)
{
    unsigned long until = s_now_ms () + seconds * 1000UL;
    while (!*stop && s_now_ms () < until) {
        struct timespec pause = { 0, 50 * 1000000L };
        nanosleep (&pause, NULL);
    }
}

vc_vpcd_end_t
vc_vpcd_serve (vc_card_t *card, int fd, const vc_faults_t *faults, unsigned long *apdu_count,
               volatile sig_atomic_t *stop)
{
    vc_vpcd_end_t end = VC_VPCD_FAILED;
    uint8_t *payload = malloc (S_FRAME_MAX);
    vc_buf_t answer;
    vc_buf_init (&answer, VC_CARD_ANSWER_MAX);
    if (!payload)
        goto done;
    for (;;) {
        uint8_t head [2];
        int got = s_read_exact (fd, head, sizeof head, stop);
        if (got <= 0) {
            end = *stop ? VC_VPCD_STOPPED : got == 0 ? VC_VPCD_CLOSED : VC_VPCD_FAILED;
            goto done;
        }
        size_t len = ((size_t) head [0] << 8) | head [1];
        if (len == 0)
            continue;
        if (s_read_exact (fd, payload, len, stop) != 1) {
            end = *stop ? VC_VPCD_STOPPED : VC_VPCD_FAILED;
            goto done;
        }
        if (len == 1) {
            switch (payload [0]) {
                case 0x00:
                    vc_card_power_off (card);
                    break;
                case 0x01:
                    vc_card_power_on (card);
                    break;
                case 0x02:
                    vc_card_reset (card);
                    break;
                case 0x04: {
                    size_t atr_len;
                    const uint8_t *atr = vc_card_atr (&atr_len);
                    if (s_send_frame (fd, atr, atr_len))
                        goto done;
                    break;
                }
                default:
                    tsr_log_warn (NULL, "vcard.unknown_control", NULL);
                    break;
            }
            continue;
        }
        unsigned long index = ++*apdu_count;
        if (faults->drop_at == index) {
            char number [24];
            snprintf (number, sizeof number, "%lu", index);
            tsr_log_info (NULL, "vcard.fault", "kind", "drop", "apdu", number, NULL);
            end = VC_VPCD_PULLED;
            goto done;
        }
        if (faults->stall_at == index) {
            unsigned long seconds = faults->stall_seconds ? faults->stall_seconds
                                                          : VC_STALL_SECONDS_DEFAULT;
            char number [24], wait [24];
            snprintf (number, sizeof number, "%lu", index);
            snprintf (wait, sizeof wait, "%lu", seconds);
            tsr_log_info (NULL, "vcard.fault", "kind", "stall", "apdu", number, "seconds", wait,
                          NULL);
            s_stall (seconds, stop);
            if (*stop) {
                end = VC_VPCD_STOPPED;
                goto done;
            }
        }
        vc_card_process (card, payload, len, &answer);
        s_log_apdu (index, payload, len, &answer);
        s_fault_answer (faults, index, &answer);
        if (s_send_frame (fd, answer.data, answer.len))
            goto done;
    }
done:
    vc_buf_reset (&answer);
    free (payload);
    return end;
}
