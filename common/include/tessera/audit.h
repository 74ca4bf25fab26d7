/*  tsr_audit: the append-only, hash-chained audit trail of a service schema.

    Each row's hash covers its canonical content and the previous row's
    hash, so changing, removing or reordering any row breaks the chain from
    that row on; tsr_audit_verify names the first broken row. Appends lock
    the chain head, so they are serialised and gapless, and they happen in
    the caller's transaction: the audit record exists exactly when the change
    it records does.

    Canonical content, hashed with SHA-256:
      "tessera-audit-v1" 0x00, seq (8 bytes big-endian), at_unix_us (8 bytes
      big-endian), then actor, action, subject, trace_id, details each as a
      4-byte big-endian length and its bytes, then the previous row's hash
      (32 zero bytes before the first row).

    An append is one statement: PostgreSQL moves the head on and hashes the
    row (the fields' bytes as the client sent them), so the head's row lock,
    held until the caller's transaction ends, is taken by one round trip;
    append as late in the transaction as the work allows. tsr_audit_hash is
    the same function in C, and verify uses it.
*/
#ifndef TSR_AUDIT_H
#define TSR_AUDIT_H

#include <stdint.h>
#include "tessera/db.h"
#include "tessera/json.h"

#define TSR_AUDIT_HASH_SIZE 32

typedef struct {
    int64_t seq;
    int64_t at_unix_us;
    const char *actor;      //  the caller's CURVE key or a named system actor
    const char *action;     //  dotted name: "bus.request", "ca.key_activated"
    const char *subject;    //  what it is about (request id, serial ...)
    const char *trace_id;
    const char *details;    //  JSON text; values that are secrets never go here
} tsr_audit_entry_t;

typedef struct {
    int64_t rows_checked;
    int64_t first_broken_seq;   //  0 when the chain is intact
    char reason [256];
} tsr_audit_report_t;

void tsr_audit_hash (const tsr_audit_entry_t *entry,
                     const uint8_t prev_hash [TSR_AUDIT_HASH_SIZE],
                     uint8_t hash [TSR_AUDIT_HASH_SIZE]);

//  Appends one row inside the caller's open transaction. details may be NULL
//  ("{}"). Returns 0, or -1 (see tsr_db_error).
int tsr_audit_append (tsr_db_t *db, const char *actor, const char *action,
                      const char *subject, const char *trace_id, const char *details);
//  The same, the details being a JSON object still built (*json_p is
//  finished and freed; json_p or *json_p NULL: no details). -1, and no row,
//  when they cannot be finished (out of memory).
int tsr_audit_append_json (tsr_db_t *db, const char *actor, const char *action,
                           const char *subject, const char *trace_id, tsr_json_t **json_p);
//  tsr_audit_append sent with the transaction's COMMIT (tsr_db_at_commit), so the
//  head is locked only through the commit; a failure then rolls the
//  transaction back. at_unix_us is when this is called: rows are chained in
//  the order their transactions commit, so the times of neighbouring rows
//  may be out of order by the length of a transaction.
int tsr_audit_append_at_commit (tsr_db_t *db, const char *actor, const char *action,
                                const char *subject, const char *trace_id,
                                const char *details);

//  Walks the whole chain in seq order. Returns 0 when intact, 1 when broken
//  (report says where and why), -1 when the table could not be read.
int tsr_audit_verify (tsr_db_t *db, tsr_audit_report_t *report);

#endif
