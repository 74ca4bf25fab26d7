/*  ExportDossierArchive: the dossier archive read back, page by page.

    A dossier is archived as soon as it is closed (enrollment_decisions.c:
    every card request it justified was rejected or cancelled) and kept 5
    years (retain_until). Each archived dossier comes with its documents
    and their scans' digests, its organisation, its person and the card
    requests it justified, as they stand in the registry.
*/
#include "enrollment_calls.h"
#include "enrollment_input.h"
#include "enrollment_records.h"
#include "enrollment_registry.h"

#include <stdio.h>
#include <string.h>

//  One archived dossier with what it justified, or NULL.
static Tessera__V1__ArchivedDossier *
s_archived (tsr_call_t *call, enrollment_arena_t *arena, PGresult *res, int row)
{
    Tessera__V1__ArchivedDossier *archived = enrollment_arena_alloc (arena, sizeof *archived);
    Tessera__V1__Dossier *dossier = enrollment_dossier_row (arena, res, row);
    if (!archived || !dossier || enrollment_dossier_documents (arena, call->db, dossier))
        return NULL;
    tessera__v1__archived_dossier__init (archived);
    archived->dossier = dossier;
    archived->archived_at_unix = dossier->archived_at_unix;
    archived->retain_until_unix = dossier->retain_until_unix;
    const char *org [] = { dossier->organisation_id };
    PGresult *found = enrollment_arena_keep (arena, tsr_db_query (call->db,
        ENROLLMENT_ORGANISATION_SELECT " WHERE o.organisation_id = $1", 1, org));
    if (!found || PQntuples (found) != 1
    ||  !(archived->organisation = enrollment_organisation_row (arena, found, 0)))
        return NULL;
    const char *dossier_key [] = { dossier->dossier_id };
    if (*dossier->person_id) {
        const char *person [] = { dossier->person_id };
        found = enrollment_arena_keep (arena, tsr_db_query (call->db,
            ENROLLMENT_PERSON_SELECT " WHERE p.person_id = $1", 1, person));
        if (!found || PQntuples (found) != 1 || !(archived->person = enrollment_person_row (arena, found, 0)))
            return NULL;
    }
    found = enrollment_arena_keep (arena, tsr_db_query (call->db,
        ENROLLMENT_CARD_REQUEST_SELECT " WHERE r.dossier_id = $1 ORDER BY r.row_seq", 1, dossier_key));
    if (!found)
        return NULL;
    size_t requests = (size_t) PQntuples (found);
    archived->card_requests = enrollment_arena_alloc (arena, (requests + 1) * sizeof *archived->card_requests);
    if (!archived->card_requests)
        return NULL;
    for (size_t i = 0; i < requests; i++)
        if (!(archived->card_requests [i] = enrollment_card_request_row (arena, found, (int) i)))
            return NULL;
    archived->n_card_requests = requests;
    return archived;
}

static tsr_status_t
s_export (tsr_call_t *call, Tessera__V1__ExportDossierArchiveRequest *request, enrollment_arena_t *arena)
{
    int64_t after;
    if (request->archived_from_unix < 0 || request->archived_to_unix < 0
    ||  (request->archived_to_unix && request->archived_to_unix <= request->archived_from_unix))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "archived_from_unix, archived_to_unix: a range"
                              " of unix seconds, 0 for an open end");
    if (*request->organisation_id && !enrollment_id_valid (request->organisation_id, "org-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "organisation_id: org- and 16 hex digits");
    if (!enrollment_page_token_parse (request->page_token, &after))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "page_token: as given by the previous page");
    uint32_t limit = enrollment_page_limit (request->limit);
    char from [24], to [24], after_text [24], limit_text [16];
    snprintf (from, sizeof from, "%lld", (long long) request->archived_from_unix);
    snprintf (to, sizeof to, "%lld", (long long) request->archived_to_unix);
    snprintf (after_text, sizeof after_text, "%lld", (long long) after);
    snprintf (limit_text, sizeof limit_text, "%u", limit + 1);
    const char *values [] = { from, to, request->organisation_id, after_text, limit_text };
    PGresult *res = enrollment_arena_keep (arena, tsr_db_query (call->db,
        ENROLLMENT_DOSSIER_SELECT " WHERE x.state = 3"
        " AND ($1::bigint = 0 OR x.archived_at >= to_timestamp($1::bigint))"
        " AND ($2::bigint = 0 OR x.archived_at < to_timestamp($2::bigint))"
        " AND ($3 = '' OR x.organisation_id = $3)"
        " AND x.row_seq > $4::bigint ORDER BY x.row_seq LIMIT $5::int", 5, values));
    size_t count;
    Tessera__V1__ExportDossierArchiveReply reply = TESSERA__V1__EXPORT_DOSSIER_ARCHIVE_REPLY__INIT;
    if (!res)
        return enrollment_db_failed (call, "read the archive");
    if (enrollment_page (arena, res, limit, &count, &reply.next_page_token)
    ||  !(reply.dossiers = enrollment_arena_alloc (arena, (count + 1) * sizeof *reply.dossiers)))
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    for (size_t i = 0; i < count; i++)
        if (!(reply.dossiers [i] = s_archived (call, arena, res, (int) i)))
            return enrollment_db_failed (call, "read an archived dossier");
    reply.n_dossiers = count;
    return tsr_call_reply (call, &reply.base, "archived dossiers");
}

tsr_status_t
enrollment_export_dossier_archive (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ExportDossierArchiveRequest *request = (Tessera__V1__ExportDossierArchiveRequest *)
        tsr_call_unpack (call, &tessera__v1__export_dossier_archive_request__descriptor, &status);
    if (!request)
        return status;
    enrollment_arena_t *arena = enrollment_arena_new ();
    status = arena ? s_export (call, request, arena) : tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    enrollment_arena_destroy (&arena);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}
