/*  enrollment_calls: what every registry handler shares. The caller's
    operator id (the registry records who did what by operator id, resolved
    from the authenticated key, never from a payload), the audit row and
    outbox event that go with each change in its transaction, and the
    status codes under short names.
*/
#ifndef ENROLLMENT_CALLS_H
#define ENROLLMENT_CALLS_H

#include <protobuf-c/protobuf-c.h>
#include "tessera/bus.h"

#define ENROLLMENT_OK TESSERA__V1__STATUS__STATUS_OK
#define ENROLLMENT_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define ENROLLMENT_NOT_FOUND TESSERA__V1__STATUS__STATUS_NOT_FOUND
#define ENROLLMENT_EXISTS TESSERA__V1__STATUS__STATUS_ALREADY_EXISTS
#define ENROLLMENT_PRECONDITION TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION
#define ENROLLMENT_DENIED TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED
#define ENROLLMENT_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE
#define ENROLLMENT_INTERNAL TESSERA__V1__STATUS__STATUS_INTERNAL

//  Operator ids ("op-" and 16 hex digits) fit with room to spare.
#define ENROLLMENT_OPERATOR_ID_MAX 64

//  The operator id of the caller's key (the operators table's operator_id
//  for public_key = call->caller_key). STATUS_OK, or the refusal with the
//  call's message set: PERMISSION_DENIED when the key is no operator's.
tsr_status_t enrollment_caller_operator (tsr_call_t *call, char id [ENROLLMENT_OPERATOR_ID_MAX]);

//  Is id an operator's id? 1 yes, 0 no, -1 the database failed.
int enrollment_operator_exists (tsr_db_t *db, const char *id);

//  Appends, in the open transaction, the audit row (actor, action "enrollment.*",
//  subject, details as JSON text) and the event (event_type with payload
//  packed, or no payload when NULL). 0, or -1.
int enrollment_record (tsr_db_t *db, const char *actor, const char *trace_id,
                       const char *action, const char *subject, const char *details,
                       const char *event_type, const ProtobufCMessage *payload);

//  The database failed: STATUS_UNAVAILABLE, "cannot <what>".
tsr_status_t enrollment_db_failed (tsr_call_t *call, const char *what);


#endif
