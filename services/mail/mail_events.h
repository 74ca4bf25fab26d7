/*  mail_events: what mail does with the other services' events (the
    subscriptions in main.c; tsr_event_consumer applies each one exactly
    once, in a transaction that also moves the cursor).

    validation  "account.created", "account.password_reset": the one-time
                password to the person, kept sealed until it is sent.
    enrollment  "batch.submitted": a notice to every enabled validation
                operator with an e-mail address.
    ca          "certificate.issued": the holder's certificate is noted for
                the expiry sweep. "certificate.revoked" (not a hold): the
                holder is told. "certificate.hold_released": good again.
    perso       "pin_mailer.ready": the PIN mailer waits, sealed, for its
                release. Perso may not run yet: its consumer keeps asking.

    Each returns 0 (applied, or nothing to do: other types, a payload that
    does not decode or breaks its bounds, audited as mail.event_refused)
    or -1 (try again later: enrollment unavailable, a database error).
*/
#ifndef MAIL_EVENTS_H
#define MAIL_EVENTS_H

#include "mail_state.h"
#include "tessera/db.h"
#include "tessera/v1/events.pb-c.h"

int mail_apply_validation (void *state, tsr_db_t *db, const Tessera__V1__Event *event);
int mail_apply_enrollment (void *state, tsr_db_t *db, const Tessera__V1__Event *event);
int mail_apply_ca (void *state, tsr_db_t *db, const Tessera__V1__Event *event);
int mail_apply_perso (void *state, tsr_db_t *db, const Tessera__V1__Event *event);

//  Audits an event mail cannot use (mail.event_refused). 0, or -1.
int mail_event_refused (tsr_db_t *db, const Tessera__V1__Event *event, const char *reason);

//  The payload of an event carrying secrets sealed to mail (descriptor's
//  message, whose sealed_for_key names the key they are sealed to), unpacked
//  (free with protobuf_c_message_free_unpacked). NULL when it does not
//  decode or is sealed to another key (other_key says which secrets): the
//  event is refused, *rc what mail_event_refused returned.
ProtobufCMessage *mail_event_sealed (mail_state_t *state, tsr_db_t *db,
                                     const Tessera__V1__Event *event,
                                     const ProtobufCMessageDescriptor *descriptor,
                                     const char *other_key, int *rc);

#endif
