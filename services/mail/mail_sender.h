/*  mail_sender: the background job that empties the outbox.

    An actor with its own database connection. Every TSR_MAIL_POLL_MS it
    takes back stale claims (mail_outbox_reclaim), then, while the signer
    is ready, claims due e-mails one by one and for each: renders the body
    (opening the sealed one-time password, if any, only now), builds and
    signs the message, hands it to SMTP, wipes it, and records the
    outcome. Nothing is sent while the signer has no certificate: every
    notice is signed or not sent.
*/
#ifndef MAIL_SENDER_H
#define MAIL_SENDER_H

#include <czmq.h>
#include <stdbool.h>
#include "mail_outbox.h"
#include "mail_state.h"

//  Starts the sender (state borrowed for its life). NULL on failure.
zactor_t *mail_sender_new (mail_state_t *state);

//  One claimed e-mail rendered and signed: the whole message (heap; wipe
//  and free), or NULL with the reason in err. *transient tells whether a
//  later attempt may succeed (the signer not ready) or not (a secret that
//  does not open, a template without a value: to the dead letters).
char *mail_sender_compose (mail_state_t *state, const mail_claim_t *claim, size_t *size,
                           bool *transient, char *err, size_t err_size);

#endif
