/*  revocation_records: the revocations table seen as RevocationRecord
    messages (with their serials and the authentication of their channel),
    and the audit and outbox writes every handler makes, in the transaction
    of the db it is given.
*/
#ifndef REVOCATION_RECORDS_H
#define REVOCATION_RECORDS_H

#include <stdint.h>
#include "tessera/bus.h"
#include "tessera/db.h"
#include "tessera/json.h"
#include "tessera/v1/revocation.pb-c.h"

//  The query revocation_row_from reads; add WHERE / ORDER BY.
#define REVOCATION_SELECT \
    "SELECT r.revocation_id, r.channel, r.state, r.requester_role, r.requester_person_id," \
    " r.holder_person_id, r.organisation_id," \
    " coalesce((SELECT string_agg(s.serial_hex, ',' ORDER BY s.position)" \
    "           FROM revocation_serials s WHERE s.revocation_id = r.revocation_id), '')," \
    " r.requested_reason, r.reason, r.level, r.statement," \
    " coalesce(r.challenge_id, ''), coalesce(c.caller_person_id, '')," \
    " coalesce(cardinality(c.question_ids), 0), coalesce(c.answered_by_operator_id, '')," \
    " coalesce(extract(epoch FROM c.answered_at)::bigint, 0)," \
    " coalesce(r.form_sha256, ''), coalesce(extract(epoch FROM r.form_received_at)::bigint, 0)," \
    " coalesce(r.signature_checked_by, ''), coalesce(r.reference_document_id, '')," \
    " coalesce(r.account_id, ''), coalesce(r.client_address, ''), coalesce(r.user_agent, '')," \
    " r.recorded_by_operator_id, extract(epoch FROM r.received_at)::bigint," \
    " extract(epoch FROM r.deadline_at)::bigint, (r.state IN (1, 2) AND r.deadline_at < now())," \
    " r.decided_by_operator_id, coalesce(extract(epoch FROM r.decided_at)::bigint, 0)," \
    " r.decision_note, coalesce(extract(epoch FROM r.applied_at)::bigint, 0)," \
    " coalesce(extract(epoch FROM r.archived_at)::bigint, 0)," \
    " coalesce(extract(epoch FROM r.retain_until)::bigint, 0)," \
    " extract(epoch FROM r.recorded_at)::bigint, r.last_apply_error, r.seq," \
    " coalesce(r.card_uuid, '')" \
    " FROM revocations r LEFT JOIN phone_challenges c ON c.challenge_id = r.challenge_id"

//  Columns of REVOCATION_SELECT that page tokens use.
#define REVOCATION_COLUMN_DEADLINE 26
#define REVOCATION_COLUMN_ARCHIVED 32
#define REVOCATION_COLUMN_SEQ 36
#define REVOCATION_COLUMN_CARD 37

//  One request as a message; strings borrowed from the result row (valid
//  while it lives), serials split into memory of its own.
typedef struct {
    Tessera__V1__RevocationRecord message;
    Tessera__V1__PhoneAuthentication phone;
    Tessera__V1__PaperAuthentication paper;
    Tessera__V1__OnlineAuthentication online;
    char *serials_text;
    char **serials;
} revocation_row_t;

//  Fills row from res's row; 0, or -1 when out of memory. Release with
//  revocation_row_release in every case.
int revocation_row_from (PGresult *res, int row, revocation_row_t *out);
void revocation_row_release (revocation_row_t *row);

//  Rows of res as records (for lists): *rows_p (count of them) and *list_p
//  (pointers into them); 0, or -1 when out of memory. Free with
//  revocation_rows_free.
int revocation_rows_from (PGresult *res, size_t count, revocation_row_t **rows_p,
                          Tessera__V1__RevocationRecord ***list_p);
void revocation_rows_free (revocation_row_t **rows_p, Tessera__V1__RevocationRecord ***list_p,
                           size_t count);

//  Replies with the request as stored now (in call's transaction), or
//  fails NOT_FOUND / UNAVAILABLE.
tsr_status_t revocation_reply_record (tsr_call_t *call, const char *revocation_id,
                                      const char *text);

//  Appends an audit row: actor, action, subject, and the JSON object
//  *json_p (consumed; may be NULL for "{}"). 0, or -1.
int revocation_audit (tsr_db_t *db, const char *actor, const char *action, const char *subject,
                      const char *trace_id, tsr_json_t **json_p);
//  Appends an event with message packed as its payload. 0, or -1.
int revocation_emit (tsr_db_t *db, const char *type, const char *subject, const char *trace_id,
                     const ProtobufCMessage *message);
//  "revocation.approved" ...: RevocationChanged of the request as stored
//  now; also "revocation.requested" (RevocationRequested). 0, or -1.
int revocation_emit_change (tsr_db_t *db, const char *type, const char *trace_id,
                            const char *revocation_id);

#endif
