/*  enrollment_records: rows of the registry's tables as protobuf messages.

    Messages are built in an arena: their strings point into PGresults the
    arena keeps, their arrays and sub-messages are allocated in it, and one
    enrollment_arena_destroy frees everything once the reply is packed.

        enrollment_arena_t *arena = enrollment_arena_new ();
        PGresult *res = enrollment_arena_keep (arena, tsr_db_query (db,
            ENROLLMENT_PERSON_SELECT " WHERE p.person_id = $1", 1, values));
        Tessera__V1__Person *person = enrollment_person_row (arena, res, 0);
        ...
        enrollment_arena_destroy (&arena);

    Each SELECT ends with the row's row_seq, the paging key.
*/
#ifndef ENROLLMENT_RECORDS_H
#define ENROLLMENT_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include "tessera/db.h"
#include "tessera/v1/enrollment.pb-c.h"

typedef struct _enrollment_arena_t enrollment_arena_t;

enrollment_arena_t *enrollment_arena_new (void);
void enrollment_arena_destroy (enrollment_arena_t **self_p);
//  Zeroed memory that lives as long as the arena; NULL when out of memory.
void *enrollment_arena_alloc (enrollment_arena_t *self, size_t size);
//  The arena clears res when destroyed. Returns res (may be NULL).
PGresult *enrollment_arena_keep (enrollment_arena_t *self, PGresult *res);

//  Seconds since the epoch of a timestamptz column, rounded down; NULL
//  stays NULL.
#define ENROLLMENT_UNIX(column) "floor(extract(epoch FROM " column "))::bigint"

#define ENROLLMENT_ORGANISATION_SELECT \
    "SELECT o.organisation_id, o.legal_name, o.siret, o.kind, o.address_lines, o.postal_code," \
    " o.city, o.country_code, coalesce((SELECT d.dossier_id FROM dossiers d" \
    " WHERE d.organisation_id = o.organisation_id AND d.person_id IS NULL" \
    " ORDER BY d.row_seq DESC LIMIT 1), ''), " ENROLLMENT_UNIX ("o.created_at") ", o.created_by, " \
    ENROLLMENT_UNIX ("o.updated_at") ", o.row_seq FROM organisations o"

#define ENROLLMENT_PERSON_SELECT \
    "SELECT p.person_id, p.organisation_id, p.role, p.given_name, p.surname, p.email," \
    " p.address_lines, p.postal_code, p.city, p.country_code, p.language," \
    " coalesce(p.designated_by, ''), coalesce((SELECT d.dossier_id FROM dossiers d" \
    " WHERE d.person_id = p.person_id ORDER BY d.row_seq DESC LIMIT 1), ''), " \
    ENROLLMENT_UNIX ("p.created_at") ", p.created_by, " ENROLLMENT_UNIX ("p.updated_at") \
    ", p.row_seq FROM persons p"

#define ENROLLMENT_DOSSIER_SELECT \
    "SELECT x.dossier_id, x.organisation_id, coalesce(x.person_id, ''), x.state, " \
    ENROLLMENT_UNIX ("x.opened_at") ", coalesce(" ENROLLMENT_UNIX ("x.closed_at") ", 0)," \
    " coalesce(" ENROLLMENT_UNIX ("x.archived_at") ", 0), coalesce(" \
    ENROLLMENT_UNIX ("x.retain_until") ", 0), x.row_seq FROM dossiers x"

#define ENROLLMENT_DOCUMENT_SELECT \
    "SELECT d.document_id, d.dossier_id, d.type, d.identity_kind, d.reference, " \
    ENROLLMENT_UNIX ("d.received_at") ", coalesce(" ENROLLMENT_UNIX ("d.issued_at") ", 0)," \
    " coalesce(" ENROLLMENT_UNIX ("d.expires_at") ", 0), d.checked_by, d.recorded_by, " \
    ENROLLMENT_UNIX ("d.recorded_at") ", d.scan_sha256, array_to_string(ARRAY(SELECT s.signer_id" \
    " FROM document_signatures s WHERE s.document_id = d.document_id ORDER BY s.position), ',')," \
    " d.note, d.withdrawn, d.withdrawn_reason, coalesce(" ENROLLMENT_UNIX ("d.withdrawn_at") \
    ", 0), d.row_seq FROM documents d"

//  card_request_ids: the batch's requests but the cancelled ones (they
//  left the batch).
#define ENROLLMENT_BATCH_SELECT \
    "SELECT b.batch_id, b.organisation_id, b.label, b.state, array_to_string(ARRAY(" \
    "SELECT r.card_request_id FROM card_requests r WHERE r.batch_id = b.batch_id AND r.state <> 5" \
    " ORDER BY r.row_seq), ','), b.created_by, " ENROLLMENT_UNIX ("b.created_at") \
    ", coalesce(b.submitted_by, ''), coalesce(" ENROLLMENT_UNIX ("b.submitted_at") ", 0)," \
    " b.row_seq FROM batches b"

#define ENROLLMENT_CARD_REQUEST_SELECT \
    "SELECT r.card_request_id, r.batch_id, r.person_id, r.organisation_id, r.dossier_id, r.level," \
    " r.use_authentication, r.use_signature, r.software_certificate, r.state, r.entered_by, " \
    ENROLLMENT_UNIX ("r.created_at") ", coalesce(" ENROLLMENT_UNIX ("r.submitted_at") ", 0)," \
    " r.decided_by, coalesce(" ENROLLMENT_UNIX ("r.decided_at") ", 0), r.rejection_reason," \
    " r.cancel_reason, r.row_seq, r.kind, coalesce(r.previous_card_request_id, '')," \
    " r.replacement_reason, r.dossier_reused, r.use_encryption FROM card_requests r"

//  One row of the matching SELECT as a message, or NULL when out of memory.
Tessera__V1__Organisation *enrollment_organisation_row (enrollment_arena_t *arena, PGresult *res, int row);
Tessera__V1__Person *enrollment_person_row (enrollment_arena_t *arena, PGresult *res, int row);
//  Without its documents (see enrollment_dossier_documents).
Tessera__V1__Dossier *enrollment_dossier_row (enrollment_arena_t *arena, PGresult *res, int row);
Tessera__V1__Document *enrollment_document_row (enrollment_arena_t *arena, PGresult *res, int row);
Tessera__V1__Batch *enrollment_batch_row (enrollment_arena_t *arena, PGresult *res, int row);
Tessera__V1__CardRequest *enrollment_card_request_row (enrollment_arena_t *arena, PGresult *res, int row);

//  Reads the dossier's documents (withdrawn included, oldest first) into
//  dossier->documents. 0, or -1 (database or memory).
int enrollment_dossier_documents (enrollment_arena_t *arena, tsr_db_t *db,
                                  Tessera__V1__Dossier *dossier);

//  A PostalAddress's lines as stored: joined by newlines into out (the
//  lines hold no control character). 0, or -1 when out is too small.
#define ENROLLMENT_ADDRESS_LINES_SIZE 768
int enrollment_address_join (const Tessera__V1__PostalAddress *address, char *out, size_t size);

//  Paging: how many rows of res to list (at most limit), and in
//  *next_token the row_seq (last column) of the last one listed when res
//  holds more than limit rows (queries ask for limit + 1), "" otherwise.
//  *next_token is arena-owned. 0, or -1 when out of memory.
int enrollment_page (enrollment_arena_t *arena, PGresult *res, uint32_t limit,
                     size_t *count, char **next_token);

#endif
