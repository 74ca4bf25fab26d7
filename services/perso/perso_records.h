/*  perso_records: the audit and outbox writes every perso change makes,
    in the transaction of the db it is given, and small shared helpers.
*/
#ifndef PERSO_RECORDS_H
#define PERSO_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include "tessera/db.h"
#include "tessera/json.h"
#include <protobuf-c/protobuf-c.h>

//  The actor of what the job runners do on their own.
#define PERSO_RUNNER_ACTOR "perso.runner"

//  Appends an audit row with the JSON object *json_p (consumed; NULL for
//  "{}"). 0, or -1.
int perso_audit (tsr_db_t *db, const char *actor, const char *action, const char *subject,
                 const char *trace_id, tsr_json_t **json_p);
//  Appends an event with message packed as its payload. 0, or -1.
int perso_emit (tsr_db_t *db, const char *type, const char *subject, const char *trace_id,
                const ProtobufCMessage *message);
//  Lower-case hex of bytes into hex (2 * size + 1).
void perso_hex (const uint8_t *bytes, size_t size, char *hex);
//  Runs sql with no parameters and no result (SAVEPOINT ...). 0, or -1.
int perso_exec (tsr_db_t *db, const char *sql);

#endif
