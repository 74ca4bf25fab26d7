/*  publisher_status: certificates' status as the ca's events tell it.

    The ca's outbox is followed with catch-up (common's event consumer, one
    transaction per event with the cursor), so a publisher restarted after
    a revocation, or down while it happened, still knows it:
    - certificate.issued: the serial becomes known. The event does not say
      whether it was issued on hold, so the certificate's record is asked
      of the ca (GetCertificate) and its state, issuer and notAfter kept;
      the ca not answering makes the event wait (it is tried again).
    - certificate.revoked: revoked with its reason and time, or on hold for
      certificateHold.
    - certificate.hold_released: good again.
    A revocation, hold or release is also written to status_changes: the
    scheduler publishes a full CRL once it has waited the coalescing delay.
    ca.key.activated and ca.ceremony.completed wake the scheduler (what
    waited for the ca can go on).

    The lookup answers OCSP from the same table.
*/
#ifndef PUBLISHER_STATUS_H
#define PUBLISHER_STATUS_H

#include "publisher_ocsp.h"
#include "tessera/db.h"
#include "tessera/v1/events.pb-c.h"

//  The subscription's apply function (tsr_event_apply_fn) for "ca".
int publisher_on_ca_event (void *state, tsr_db_t *db, const Tessera__V1__Event *event);

//  publisher_status_lookup_fn over a database connection (arg: tsr_db_t *).
int publisher_status_lookup (void *arg, const char *issuer_sha256, const char *serial_hex,
                             publisher_cert_status_t *status);

#endif
