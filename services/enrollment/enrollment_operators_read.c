/*  GetOperator and ListOperators: read-only (roles in
    enrollment_operators.c). GetOperator is also how every other service
    resolves its callers' roles (tessera/role_client.h): NOT_FOUND means "no
    roles", and a disabled operator is returned with disabled set.
*/
#include "enrollment_operators.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OK TESSERA__V1__STATUS__STATUS_OK
#define S_INVALID TESSERA__V1__STATUS__STATUS_INVALID_ARGUMENT
#define S_UNAVAILABLE TESSERA__V1__STATUS__STATUS_UNAVAILABLE

tsr_status_t
enrollment_handle_get_operator (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__GetOperatorRequest *request = (Tessera__V1__GetOperatorRequest *)
        tsr_call_unpack (call, &tessera__v1__get_operator_request__descriptor, &status);
    if (!request)
        return status;
    PGresult *res = NULL;
    bool by_id = *request->operator_id != 0;
    if (by_id == (*request->public_key != 0)) {
        status = tsr_call_fail (call, S_INVALID, "give exactly one of operator_id and public_key");
        goto done;
    }
    if (by_id && !enrollment_operator_id_valid (request->operator_id)) {
        status = tsr_call_fail (call, S_INVALID, "operator_id must be op- and 16 hex digits");
        goto done;
    }
    if (!by_id && !enrollment_operator_key_valid (request->public_key)) {
        status = tsr_call_fail (call, S_INVALID,
                                "public_key must be a Z85 CURVE public key of 40 characters");
        goto done;
    }
    const char *values [] = { by_id ? request->operator_id : request->public_key };
    res = tsr_db_query (call->db, by_id
        ? "SELECT " ENROLLMENT_OPERATOR_COLUMNS " FROM operators WHERE operator_id = $1"
        : "SELECT " ENROLLMENT_OPERATOR_COLUMNS " FROM operators WHERE public_key = $1", 1, values);
    if (!res)
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read operators");
    else
    if (PQntuples (res) == 0)
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_NOT_FOUND, by_id
                                ? "no operator %s" : "no operator holds the public key %s",
                                values [0]);
    else {
        enrollment_operator_t found;
        enrollment_operator_from_row (res, 0, &found);
        status = tsr_call_reply (call, &found.message.base,
                                 found.message.disabled ? "operator (disabled)" : "operator");
    }
done:
    PQclear (res);
    tessera__v1__get_operator_request__free_unpacked (request, NULL);
    return status;
}

tsr_status_t
enrollment_handle_list_operators (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ListOperatorsRequest *request = (Tessera__V1__ListOperatorsRequest *)
        tsr_call_unpack (call, &tessera__v1__list_operators_request__descriptor,
                                    &status);
    if (!request)
        return status;
    PGresult *res = NULL;
    enrollment_operator_t *found = NULL;
    Tessera__V1__Operator **list = NULL;
    uint32_t role = enrollment_operator_role_bit ((int) request->role);
    if (request->role != TESSERA__V1__OPERATOR_ROLE__OPERATOR_ROLE_UNSPECIFIED && !role) {
        status = tsr_call_fail (call, S_INVALID, "role must be an operator role (1..%d) or unset",
                                TSR_ROLE_MAX_VALUE);
        goto done;
    }
    if (*request->page_token && !enrollment_operator_id_valid (request->page_token)) {
        status = tsr_call_fail (call, S_INVALID, "page_token must come from a previous reply");
        goto done;
    }
    uint32_t limit = request->limit == 0 || request->limit > ENROLLMENT_OPERATOR_LIST_MAX
                   ? ENROLLMENT_OPERATOR_LIST_MAX : request->limit;
    char role_text [16], limit_text [16];
    snprintf (role_text, sizeof role_text, "%u", role);
    //  One row more than the page says whether there is a next page.
    snprintf (limit_text, sizeof limit_text, "%u", limit + 1);
    const char *values [] = { role_text, request->include_disabled ? "t" : "f",
                              request->page_token, limit_text };
    res = tsr_db_query (call->db,
        "SELECT " ENROLLMENT_OPERATOR_COLUMNS " FROM operators"
        " WHERE ($1::integer = 0 OR roles & $1::integer <> 0)"
        "   AND ($2::boolean OR NOT disabled)"
        "   AND operator_id > $3"
        " ORDER BY operator_id LIMIT $4::integer", 4, values);
    if (!res) {
        status = tsr_call_fail (call, S_UNAVAILABLE, "cannot read operators");
        goto done;
    }
    int rows = PQntuples (res);
    bool more = rows > (int) limit;
    if (more)
        rows = (int) limit;
    found = calloc ((size_t) rows + 1, sizeof *found);
    list = calloc ((size_t) rows + 1, sizeof *list);
    if (!found || !list) {
        status = tsr_call_fail (call, TESSERA__V1__STATUS__STATUS_INTERNAL, "out of memory");
        goto done;
    }
    for (int i = 0; i < rows; i++) {
        enrollment_operator_from_row (res, i, &found [i]);
        list [i] = &found [i].message;
    }
    Tessera__V1__ListOperatorsReply reply = TESSERA__V1__LIST_OPERATORS_REPLY__INIT;
    reply.n_operators = (size_t) rows;
    reply.operators = list;
    reply.next_page_token = more ? found [rows - 1].message.operator_id : (char *) "";
    status = tsr_call_reply (call, &reply.base, more ? "operators (more on the next page)"
                                                     : "operators");
done:
    free (found);
    free (list);
    PQclear (res);
    tessera__v1__list_operators_request__free_unpacked (request, NULL);
    return status;
}
