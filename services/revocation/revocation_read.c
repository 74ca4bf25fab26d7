/*  GetRevocation and ListRevocations: the requests as recorded and
    decided, with whether each is overdue now. Lists page in deadline
    order (oldest first, the order in which they must be decided), the page
    token being the last request's deadline and sequence number.
*/
#include "revocation_handlers.h"
#include "revocation_input.h"
#include "revocation_records.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT

tsr_status_t
revocation_handle_get (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__GetRevocationRequest *request = (Tessera__V1__GetRevocationRequest *) tsr_call_unpack (
        call, &tessera__v1__get_revocation_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    tsr_status_t status = revocation_id_valid (request->revocation_id)
        ? revocation_reply_record (call, request->revocation_id, "revocation request")
        : tsr_call_fail (call, S_INVALID, "revocation_id must be 1 to %d of [A-Za-z0-9._:-]",
                         REVOCATION_ID_MAX);
    tessera__v1__get_revocation_request__free_unpacked (request, NULL);
    return status;
}

//  Every bound of the request that needs no database; the page token read.
tsr_status_t
revocation_list_check (tsr_call_t *call, const Tessera__V1__ListRevocationsRequest *request,
                       int64_t *after_seconds, int64_t *after_seq)
{
    if (request->state < 0 || request->state > 4)
        return tsr_call_fail (call, S_INVALID, "state must be a RevocationState (0 to 4)");
    if (request->channel < 0 || request->channel > 3)
        return tsr_call_fail (call, S_INVALID, "channel must be a RevocationChannel (0 to 3)");
    if (!revocation_optional_id_valid (request->holder_person_id))
        return tsr_call_fail (call, S_INVALID, "holder_person_id must be empty or 1 to %d of "
                              "[A-Za-z0-9._:-]", REVOCATION_ID_MAX);
    if (!revocation_optional_id_valid (request->organisation_id))
        return tsr_call_fail (call, S_INVALID, "organisation_id must be empty or 1 to %d of "
                              "[A-Za-z0-9._:-]", REVOCATION_ID_MAX);
    if (request->limit > REVOCATION_LIST_MAX)
        return tsr_call_fail (call, S_INVALID, "limit must be 0 to %d", REVOCATION_LIST_MAX);
    if (!revocation_page_token_parse (request->page_token, after_seconds, after_seq))
        return tsr_call_fail (call, S_INVALID, "page_token must come from the previous reply");
    return TESSERA__V1__STATUS__STATUS_OK;
}

tsr_status_t
revocation_handle_list (tsr_call_t *call)
{
    tsr_status_t unpack_status;
    Tessera__V1__ListRevocationsRequest *request = (Tessera__V1__ListRevocationsRequest *) tsr_call_unpack (
        call, &tessera__v1__list_revocations_request__descriptor, &unpack_status);
    if (!request)
        return unpack_status;
    PGresult *res = NULL;
    revocation_row_t *rows = NULL;
    Tessera__V1__RevocationRecord **list = NULL;
    size_t shown = 0;
    int64_t after_seconds = 0, after_seq = 0;
    tsr_status_t status = revocation_list_check (call, request, &after_seconds, &after_seq);
    if (status != TESSERA__V1__STATUS__STATUS_OK)
        goto done;
    uint32_t page = request->limit ? request->limit : REVOCATION_LIST_MAX;
    char state [12], channel [12], token_seconds [24], token_seq [24], limit [16];
    snprintf (state, sizeof state, "%d", (int) request->state);
    snprintf (channel, sizeof channel, "%d", (int) request->channel);
    snprintf (token_seconds, sizeof token_seconds, "%" PRId64, after_seconds);
    snprintf (token_seq, sizeof token_seq, "%" PRId64, after_seq);
    snprintf (limit, sizeof limit, "%u", page + 1);
    const char *values [] = { state, channel, request->overdue_only ? "true" : "false",
                              request->holder_person_id, request->organisation_id,
                              token_seconds, token_seq, limit };
    res = tsr_db_query (call->db,
        REVOCATION_SELECT
        " WHERE ($1::smallint = 0 OR r.state = $1::smallint)"
        " AND ($2::smallint = 0 OR r.channel = $2::smallint)"
        " AND (NOT $3::boolean OR (r.state IN (1, 2) AND r.deadline_at < now()))"
        " AND ($4 = '' OR r.holder_person_id = $4)"
        " AND ($5 = '' OR r.organisation_id = $5)"
        " AND ($7::bigint = 0 OR (r.deadline_at, r.seq) > (to_timestamp($6::bigint), $7::bigint))"
        " ORDER BY r.deadline_at, r.seq LIMIT $8::int", 8, values);
    if (!res) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_UNAVAILABLE,
                                "cannot read the revocation requests");
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
                  PQgetvalue (res, (int) shown - 1, REVOCATION_COLUMN_DEADLINE),
                  PQgetvalue (res, (int) shown - 1, REVOCATION_COLUMN_SEQ));
    Tessera__V1__ListRevocationsReply reply = TESSERA__V1__LIST_REVOCATIONS_REPLY__INIT;
    reply.n_revocations = shown;
    reply.revocations = list;
    reply.next_page_token = next;
    status = tsr_call_reply (call, &reply.base, "revocation requests");
done:
    revocation_rows_free (&rows, &list, shown);
    PQclear (res);
    tessera__v1__list_revocations_request__free_unpacked (request, NULL);
    return status;
}
