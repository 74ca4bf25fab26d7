/*  mail_smtp: one message to one recipient over SMTP, with libcurl.

    TSR_SMTP_URL says where (smtp://host:port, or smtps:// for TLS from the
    first byte); TSR_SMTP_STARTTLS (none, try, required) whether the
    connection is upgraded with STARTTLS, checked against the system's CAs
    or TSR_SMTP_CA_FILE; TSR_SMTP_USER and TSR_SMTP_PASSWORD_FILE the
    login, refused at start over a connection that could be in clear.
    Each call is a fresh connection (a handle per call: the sender is one
    thread and the rate is small), bounded by TSR_SMTP_TIMEOUT_MS.

    The outcome tells the outbox what to do: SENT (the server accepted the
    DATA with 2xx), TRANSIENT (no answer, a 4xx, a refused login: try
    again later) or PERMANENT (a 5xx the message itself earned, such as an
    unknown mailbox: retrying will not help). reply holds the server's
    last line or the transport error.
*/
#ifndef MAIL_SMTP_H
#define MAIL_SMTP_H

#include <stddef.h>
#include "tessera/config.h"

typedef enum {
    MAIL_SMTP_SENT = 0,
    MAIL_SMTP_TRANSIENT = 1,
    MAIL_SMTP_PERMANENT = 2
} mail_smtp_outcome_t;

typedef struct _mail_smtp_t mail_smtp_t;

//  Reads TSR_SMTP_*; curl_global_init must have run. NULL with err.
mail_smtp_t *mail_smtp_new (tsr_config_t *config, char *err, size_t err_size);
void mail_smtp_destroy (mail_smtp_t **self_p);
//  The SMTP timeout, for the outbox's claim lease.
long mail_smtp_timeout_ms (const mail_smtp_t *self);

//  Sends message (size bytes, CRLF, ready) from from_address to
//  to_address. reply: the server's last reply line or the error.
mail_smtp_outcome_t mail_smtp_send (mail_smtp_t *self, const char *from_address,
                                    const char *to_address, const char *message, size_t size,
                                    char *reply, size_t reply_size);

#endif
