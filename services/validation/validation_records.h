/*  validation_records: the holder_accounts and decisions tables seen as
    HolderAccount and Decision messages, and the audit and outbox writes
    every handler makes (in the transaction of the db it is given).
*/
#ifndef VALIDATION_RECORDS_H
#define VALIDATION_RECORDS_H

#include <stdbool.h>
#include <stdint.h>
#include "tessera/bus.h"
#include "tessera/db.h"
#include "tessera/json.h"
#include "tessera/v1/validation.pb-c.h"

#define VALIDATION_STATE_PENDING_FIRST_LOGIN 1
#define VALIDATION_STATE_PASSWORD_CHANGE_REQUIRED 2
#define VALIDATION_STATE_ACTIVE 3
#define VALIDATION_STATE_DISABLED 5

//  One account row (strings borrowed from the result, valid while it lives).
typedef struct {
    Tessera__V1__HolderAccount message;
    PGresult *res;
    int stored_state;               //  1, 2, 3 or 5 (locked is not stored)
    bool locked;                    //  locked_until in the future
    bool lock_expired;              //  locked_until in the past: to clear
    const char *password_hash;      //  NULL when none
    const char *change_token_sha256;    //  NULL when none
    int64_t change_token_expires_unix;
    bool otp_expired;
} validation_account_t;

//  Which column finds the account.
typedef enum {
    VALIDATION_BY_ACCOUNT, VALIDATION_BY_PERSON, VALIDATION_BY_LOGIN
} validation_account_key_t;

//  Loads one account (FOR UPDATE when lock). Returns 1 and fills account,
//  0 when there is none, -1 on a database error. Release with
//  validation_account_release in every case.
int validation_account_load (tsr_db_t *db, validation_account_key_t key, const char *value,
                             bool lock, validation_account_t *account);
void validation_account_release (validation_account_t *account);

//  One decision row.
typedef struct {
    Tessera__V1__Decision message;
    PGresult *res;
} validation_decision_t;

//  The query validation_decision_from_row reads.
#define VALIDATION_DECISION_SELECT \
    "SELECT decision_id, card_request_id, batch_id, person_id, outcome, reason, note," \
    " decided_by_operator_id, entered_by_operator_id, extract(epoch FROM decided_at)::bigint," \
    " coalesce(account_id, ''), account_created, seq FROM decisions"

void validation_decision_from_row (PGresult *res, int row, Tessera__V1__Decision *decision);
//  The decision on card_request_id: 1 found, 0 none, -1 database error.
int validation_decision_load (tsr_db_t *db, const char *card_request_id,
                              validation_decision_t *decision);
void validation_decision_release (validation_decision_t *decision);

//  Appends an audit row: actor, action, subject, and the JSON object
//  *json_p (consumed; may be NULL for "{}"). 0, or -1.
int validation_audit (tsr_db_t *db, const char *actor, const char *action, const char *subject,
                      const char *trace_id, tsr_json_t **json_p);
//  Appends an event with event packed as its payload. 0, or -1.
int validation_emit (tsr_db_t *db, const char *type, const char *subject, const char *trace_id,
                     const ProtobufCMessage *event);
//  "account.locked" ...: HolderAccountChanged of the account as stored now.
int validation_emit_account (tsr_db_t *db, const char *type, const char *trace_id,
                             const char *account_id);

//  Lower-case hex of bytes into hex (2 * size + 1).
void validation_hex (const uint8_t *bytes, size_t size, char *hex);

#endif
