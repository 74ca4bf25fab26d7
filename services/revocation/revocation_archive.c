/*  revocation_archive: archiving closed requests, and reading the archive
    back (see revocation_archive.h).
*/
#include "revocation_archive.h"
#include "revocation_input.h"
#include "revocation_records.h"
#include "revocation_state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

int
revocation_archive (tsr_db_t *db, const char *revocation_id, const char *actor,
                    const char *trace_id)
{
    const char *values [] = { revocation_id };
    PGresult *res = tsr_db_query (db,
        "UPDATE revocations SET archived_at = date_trunc('second', now()),"
        " retain_until = date_trunc('second', now()) + interval '" REVOCATION_RETENTION "'"
        " WHERE revocation_id = $1 AND state IN (3, 4) AND archived_at IS NULL"
        " RETURNING extract(epoch FROM retain_until)::bigint", 1, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    int64_t retain_until = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    res = tsr_db_query (db, "UPDATE revocation_serials SET open = false WHERE revocation_id = $1",
                        1, values);
    PQclear (res);
    if (!res)
        return -1;
    tsr_json_t *json = tsr_json_new ();
    tsr_json_int (json, "retain_until_unix", retain_until);
    if (revocation_audit (db, actor, "revocation.archived", revocation_id, trace_id, &json))
        return -1;
    return revocation_emit_change (db, "revocation.archived", trace_id, revocation_id);
}

tsr_status_t
revocation_handle_export_archive (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__ExportRevocationArchiveRequest *request =
        (Tessera__V1__ExportRevocationArchiveRequest *) tsr_call_unpack (
            call, &tessera__v1__export_revocation_archive_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status;
    PGresult *res = NULL;
    revocation_row_t *rows = NULL;
    Tessera__V1__RevocationRecord **list = NULL;
    size_t shown = 0;
    int64_t after_seconds = 0, after_seq = 0;
    if (request->archived_from_unix < 0 || request->archived_to_unix < 0
    ||  (request->archived_to_unix && request->archived_to_unix < request->archived_from_unix)) {
        status = tsr_call_fail (call, S_INVALID, "archived_from_unix and archived_to_unix are "
                                "seconds since 1970 (0: open end), from before to");
        goto done;
    }
    if (!revocation_page_token_parse (request->page_token, &after_seconds, &after_seq)) {
        status = tsr_call_fail (call, S_INVALID, "page_token must come from the previous reply");
        goto done;
    }
    if (request->limit > REVOCATION_LIST_MAX) {
        status = tsr_call_fail (call, S_INVALID, "limit must be 0 to %d", REVOCATION_LIST_MAX);
        goto done;
    }
    uint32_t page = request->limit ? request->limit : REVOCATION_LIST_MAX;
    char from [24], to [24], token_seconds [24], token_seq [24], limit [16];
    snprintf (from, sizeof from, "%" PRId64, request->archived_from_unix);
    snprintf (to, sizeof to, "%" PRId64, request->archived_to_unix);
    snprintf (token_seconds, sizeof token_seconds, "%" PRId64, after_seconds);
    snprintf (token_seq, sizeof token_seq, "%" PRId64, after_seq);
    snprintf (limit, sizeof limit, "%u", page + 1);
    const char *values [] = { from, to, token_seconds, token_seq, limit };
    res = tsr_db_query (call->db,
        REVOCATION_SELECT
        " WHERE r.archived_at IS NOT NULL"
        " AND ($1::bigint = 0 OR r.archived_at >= to_timestamp($1::bigint))"
        " AND ($2::bigint = 0 OR r.archived_at < to_timestamp($2::bigint))"
        " AND ($4::bigint = 0 OR (r.archived_at, r.seq) > (to_timestamp($3::bigint), $4::bigint))"
        " ORDER BY r.archived_at, r.seq LIMIT $5::int", 5, values);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read the revocation archive");
        goto done;
    }
    size_t found = (size_t) PQntuples (res);
    shown = found > page ? page : found;
    if (revocation_rows_from (res, shown, &rows, &list)) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
        goto done;
    }
    char next [REVOCATION_PAGE_TOKEN_MAX + 1] = "";
    if (found > page)
        snprintf (next, sizeof next, "%s:%s",
                  PQgetvalue (res, (int) shown - 1, REVOCATION_COLUMN_ARCHIVED),
                  PQgetvalue (res, (int) shown - 1, REVOCATION_COLUMN_SEQ));
    Tessera__V1__ExportRevocationArchiveReply reply =
        TESSERA__V1__EXPORT_REVOCATION_ARCHIVE_REPLY__INIT;
    reply.n_revocations = shown;
    reply.revocations = list;
    reply.next_page_token = next;
    status = tsr_call_reply (call, &reply.base, "archived revocation requests");
done:
    revocation_rows_free (&rows, &list, shown);
    PQclear (res);
    tessera__v1__export_revocation_archive_request__free_unpacked (request, NULL);
    return status;
}
