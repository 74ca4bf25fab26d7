/*  mail_records: the audit and outbox writes every mail handler, consumer
    and background job makes (in the transaction of the db it is given),
    and who the caller is as an operator.
*/
#ifndef MAIL_RECORDS_H
#define MAIL_RECORDS_H

#include <stdint.h>
#include "mail_input.h"
#include "tessera/bus.h"
#include "tessera/db.h"
#include "tessera/json.h"

//  The audit actor of work nobody called for: the sender, the sweeper.
#define MAIL_ACTOR_SYSTEM "mail"

//  Appends an audit row with the JSON object *json_p (consumed; NULL for
//  "{}"). 0, or -1.
int mail_audit (tsr_db_t *db, const char *actor, const char *action, const char *subject,
                const char *trace_id, tsr_json_t **json_p);
//  Appends an event with event packed as its payload. 0, or -1.
int mail_emit (tsr_db_t *db, const char *type, const char *subject, const char *trace_id,
               const ProtobufCMessage *event);

//  The caller's operator id from enrollment (GetOperator by their key) into
//  operator_id. A caller that is a service (no operator record) gets its
//  key. OK, or a refusal already written into call.
tsr_status_t mail_caller_operator (tsr_call_t *call, char operator_id [MAIL_ID_MAX + 1]);

//  Status of a peer's answer turned into ours: NOT_FOUND and
//  INVALID_ARGUMENT (a malformed id finds nothing) stay NOT_FOUND, the rest
//  is UNAVAILABLE.
tsr_status_t mail_peer_status (tsr_status_t status);

//  Reads an int64 / bool column.
int64_t mail_row_int (PGresult *res, int row, int column);
bool mail_row_bool (PGresult *res, int row, int column);

#endif
