/*  revocation_apply: an approved request applied in ca.

    Each certificate of the request not yet revoked is revoked in ca
    (RevokeCertificate under the revocation service's key, with the
    request's reason and id). The call's request id is derived from the
    request and the serial, so a retry, even after a crash or a rollback
    here, gets ca's first reply and never a second revocation. ca emits
    "certificate.revoked". A certificate that ca had revoked already (by
    another way) counts as done. Once all are, the request becomes applied
    ("revocation.applied") and is archived (revocation_archive.h). When ca
    refuses or does not answer, the request stays approved with the reason
    in last_apply_error; the timer (revocation_timer.h) tries again.

    Two steps, so that ca is asked before the request's transaction writes
    its audit rows and events: those lock the audit chain's head and the
    outbox counter until commit, and every other request of the service
    would wait for ca with them.

        revocation_apply_t apply;
        revocation_apply_load (db, revocation_id, reason, &apply);  // or fill serials
        revocation_apply_ask (state, &apply, trace_id);             // ca; writes nothing
        ... the caller's own writes ...
        revocation_apply_record (state, db, &apply, actor, trace_id);
*/
#ifndef REVOCATION_APPLY_H
#define REVOCATION_APPLY_H

#include <stddef.h>
#include "revocation_input.h"
#include "revocation_state.h"

typedef struct {
    char revocation_id [REVOCATION_ID_MAX + 1];
    int reason;                         //  RevocationReason
    size_t count;
    char serials [REVOCATION_SERIALS_MAX][REVOCATION_SERIAL_HEX_MAX + 1];
    //  After revocation_apply_ask: "revoked", "revoked already", or NULL
    //  when ca did not revoke it (why in message).
    const char *outcomes [REVOCATION_SERIALS_MAX];
    char message [200];
} revocation_apply_t;

//  The request's certificates not yet revoked, to revoke with reason. 0,
//  or -1 on a database error.
int revocation_apply_load (tsr_db_t *db, const char *revocation_id, int reason,
                           revocation_apply_t *apply);

//  Asks ca to revoke each certificate; writes nothing.
void revocation_apply_ask (revocation_state_t *state, revocation_apply_t *apply,
                           const char *trace_id);

//  In db's transaction (the request approved and its row locked): records
//  each certificate revoked (audit "revocation.certificate_revoked"), then
//  the request applied and archived when none is left, else the reason in
//  last_apply_error. Returns 1 applied, 0 waiting, -1 on a database error.
//  actor: the audit actor (the caller's key, or "system" for the timer).
int revocation_apply_record (revocation_state_t *state, tsr_db_t *db,
                             const revocation_apply_t *apply, const char *actor,
                             const char *trace_id);

#endif
