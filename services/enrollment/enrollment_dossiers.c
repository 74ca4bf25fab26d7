/*  OpenDossier, GetDossier, ListDossiers, CheckDossier.

    A dossier (DDC) holds the documents that justify a person's card
    requests, or the organisation's own documents. Registering a person or
    an organisation opens their first; OpenDossier opens the next one once
    the previous is closed (renewal), never two open at once. CheckDossier
    answers what enrollment_completeness finds, the organisation's dossier
    included for a person's.
*/
#include "enrollment_calls.h"
#include "enrollment_completeness.h"
#include "enrollment_registry.h"

#include "tessera/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_OPEN TESSERA__V1__DOSSIER_STATE__DOSSIER_STATE_OPEN

int
enrollment_dossier_open (tsr_call_t *call, const char *organisation_id, const char *person_id,
                         const char *operator_id, char *dossier_id)
{
    if (enrollment_id_new ("dos-", dossier_id))
        return -1;
    const char *values [] = { dossier_id, organisation_id, person_id, operator_id };
    PGresult *res = tsr_db_query (call->db,
        "INSERT INTO dossiers (dossier_id, organisation_id, person_id, opened_by)"
        " VALUES ($1, $2, $3, $4)", 4, values);
    if (!res)
        return -1;
    PQclear (res);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "organisation_id", organisation_id);
    tsr_json_str (json, "person_id", person_id);
    char *details = tsr_json_finish (&json);
    Tessera__V1__DossierChanged event = TESSERA__V1__DOSSIER_CHANGED__INIT;
    event.dossier_id = dossier_id;
    event.organisation_id = (char *) organisation_id;
    event.person_id = (char *) (person_id ? person_id : "");
    event.state = S_OPEN;
    int rc = details ? enrollment_record (call->db, call->caller_key, call->request->trace_id,
                                          "enrollment.dossier_opened", dossier_id, details,
                                          "dossier.opened", &event.base) : -1;
    free (details);
    return rc;
}

//  The dossier of row with its documents, or NULL.
static Tessera__V1__Dossier *
s_dossier (tsr_call_t *call, enrollment_arena_t *arena, PGresult *res, int row)
{
    Tessera__V1__Dossier *dossier = enrollment_dossier_row (arena, res, row);
    if (!dossier || enrollment_dossier_documents (arena, call->db, dossier))
        return NULL;
    return dossier;
}

tsr_status_t
enrollment_reply_dossier (tsr_call_t *call, const char *dossier_id, const char *text)
{
    enrollment_arena_t *arena = enrollment_arena_new ();
    const char *values [] = { dossier_id };
    PGresult *res = arena ? enrollment_arena_keep (arena, tsr_db_query (call->db,
        ENROLLMENT_DOSSIER_SELECT " WHERE x.dossier_id = $1", 1, values)) : NULL;
    tsr_status_t status;
    if (!res)
        status = enrollment_db_failed (call, "read the dossier");
    else
    if (PQntuples (res) == 0)
        status = tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "no dossier %s", dossier_id);
    else {
        Tessera__V1__Dossier *dossier = s_dossier (call, arena, res, 0);
        status = dossier ? tsr_call_reply (call, &dossier->base, text)
                         : enrollment_db_failed (call, "read the documents");
    }
    enrollment_arena_destroy (&arena);
    return status;
}

static tsr_status_t
s_open (tsr_call_t *call, Tessera__V1__OpenDossierRequest *request)
{
    bool for_person = *request->person_id != 0;
    if (for_person == (*request->organisation_id != 0))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "give exactly one of person_id and organisation_id");
    if (for_person && !enrollment_id_valid (request->person_id, "per-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "person_id: per- and 16 hex digits");
    if (!for_person && !enrollment_id_valid (request->organisation_id, "org-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "organisation_id: org- and 16 hex digits");
    //  The person's organisation, or the organisation itself; locked so
    //  that two openings are serialised.
    const char *values [] = { for_person ? request->person_id : request->organisation_id };
    PGresult *res = tsr_db_query (call->db, for_person
        ? "SELECT organisation_id FROM persons WHERE person_id = $1 FOR UPDATE"
        : "SELECT organisation_id FROM organisations WHERE organisation_id = $1 FOR UPDATE", 1, values);
    if (!res)
        return enrollment_db_failed (call, "read the registry");
    char organisation_id [ENROLLMENT_ID_SIZE] = "";
    if (PQntuples (res) == 1)
        snprintf (organisation_id, sizeof organisation_id, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    if (!*organisation_id)
        return tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "%s: no %s %s",
                              for_person ? "person_id" : "organisation_id",
                              for_person ? "person" : "organisation", values [0]);
    res = tsr_db_query (call->db, for_person
        ? "SELECT dossier_id FROM dossiers WHERE person_id = $1 AND state = 1"
        : "SELECT dossier_id FROM dossiers WHERE organisation_id = $1 AND person_id IS NULL AND state = 1",
        1, values);
    if (!res)
        return enrollment_db_failed (call, "read the dossiers");
    tsr_status_t status = ENROLLMENT_OK;
    if (PQntuples (res) > 0)
        status = tsr_call_fail (call, ENROLLMENT_PRECONDITION, "dossier %s is still open; one open"
                                " dossier at a time", PQgetvalue (res, 0, 0));
    PQclear (res);
    char operator_id [ENROLLMENT_OPERATOR_ID_MAX], dossier_id [ENROLLMENT_ID_SIZE];
    if (status != ENROLLMENT_OK || (status = enrollment_caller_operator (call, operator_id)) != ENROLLMENT_OK)
        return status;
    if (enrollment_dossier_open (call, organisation_id, for_person ? request->person_id : NULL,
                                 operator_id, dossier_id))
        return enrollment_db_failed (call, "open the dossier");
    return enrollment_reply_dossier (call, dossier_id, "dossier opened");
}

tsr_status_t
enrollment_open_dossier (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__OpenDossierRequest *request = (Tessera__V1__OpenDossierRequest *)
        tsr_call_unpack (call, &tessera__v1__open_dossier_request__descriptor, &status);
    if (!request)
        return status;
    status = s_open (call, request);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

tsr_status_t
enrollment_get_dossier (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__GetDossierRequest *request = (Tessera__V1__GetDossierRequest *)
        tsr_call_unpack (call, &tessera__v1__get_dossier_request__descriptor, &status);
    if (!request)
        return status;
    status = enrollment_id_valid (request->dossier_id, "dos-")
        ? enrollment_reply_dossier (call, request->dossier_id, "found")
        : tsr_call_fail (call, ENROLLMENT_INVALID, "dossier_id: dos- and 16 hex digits");
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

static tsr_status_t
s_list (tsr_call_t *call, Tessera__V1__ListDossiersRequest *request, enrollment_arena_t *arena)
{
    int64_t after;
    if (*request->organisation_id && !enrollment_id_valid (request->organisation_id, "org-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "organisation_id: org- and 16 hex digits");
    if (*request->person_id && !enrollment_id_valid (request->person_id, "per-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "person_id: per- and 16 hex digits");
    if (request->state < 0 || request->state > TESSERA__V1__DOSSIER_STATE__DOSSIER_STATE_ARCHIVED)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "state: a DossierState");
    if (!enrollment_page_token_parse (request->page_token, &after))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "page_token: as given by the previous page");
    uint32_t limit = enrollment_page_limit (request->limit);
    char state [8], after_text [24], limit_text [16];
    snprintf (state, sizeof state, "%d", (int) request->state);
    snprintf (after_text, sizeof after_text, "%lld", (long long) after);
    snprintf (limit_text, sizeof limit_text, "%u", limit + 1);
    const char *values [] = { request->organisation_id, request->person_id, state, after_text, limit_text };
    PGresult *res = enrollment_arena_keep (arena, tsr_db_query (call->db,
        ENROLLMENT_DOSSIER_SELECT " WHERE ($1 = '' OR x.organisation_id = $1)"
        " AND ($2 = '' OR x.person_id = $2) AND ($3::smallint = 0 OR x.state = $3::smallint)"
        " AND x.row_seq > $4::bigint ORDER BY x.row_seq LIMIT $5::int", 5, values));
    size_t count;
    Tessera__V1__ListDossiersReply reply = TESSERA__V1__LIST_DOSSIERS_REPLY__INIT;
    if (!res)
        return enrollment_db_failed (call, "read the dossiers");
    if (enrollment_page (arena, res, limit, &count, &reply.next_page_token)
    ||  !(reply.dossiers = enrollment_arena_alloc (arena, (count + 1) * sizeof *reply.dossiers)))
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    for (size_t i = 0; i < count; i++)
        if (!(reply.dossiers [i] = s_dossier (call, arena, res, (int) i)))
            return enrollment_db_failed (call, "read the documents");
    reply.n_dossiers = count;
    return tsr_call_reply (call, &reply.base, "dossiers");
}

tsr_status_t
enrollment_list_dossiers (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ListDossiersRequest *request = (Tessera__V1__ListDossiersRequest *)
        tsr_call_unpack (call, &tessera__v1__list_dossiers_request__descriptor, &status);
    if (!request)
        return status;
    enrollment_arena_t *arena = enrollment_arena_new ();
    status = arena ? s_list (call, request, arena) : tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    enrollment_arena_destroy (&arena);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

static tsr_status_t
s_check (tsr_call_t *call, Tessera__V1__CheckDossierRequest *request, enrollment_arena_t *arena)
{
    if (!enrollment_id_valid (request->dossier_id, "dos-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "dossier_id: dos- and 16 hex digits");
    if (request->level < 0 || request->level > TESSERA__V1__POLICY_LEVEL__POLICY_LEVEL_THREE_STARS)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "level: a PolicyLevel");
    int64_t now = (int64_t) time (NULL);
    enrollment_completeness_t *checks = enrollment_arena_alloc (arena, 2 * sizeof *checks);
    if (!checks)
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    int found = enrollment_completeness_check (call->db, request->dossier_id, request->level, now, &checks [0]);
    if (found < 0)
        return enrollment_db_failed (call, "check the dossier");
    if (found == 0)
        return tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "no dossier %s", request->dossier_id);
    size_t check_count = 1;
    if (*checks [0].person_id) {
        char organisation_dossier [ENROLLMENT_ID_SIZE];
        if (enrollment_organisation_dossier (call->db, checks [0].organisation_id, organisation_dossier) != 1
        ||  enrollment_completeness_check (call->db, organisation_dossier, request->level, now,
                                           &checks [1]) != 1)
            return enrollment_db_failed (call, "check the organisation's dossier");
        check_count = 2;
    }
    Tessera__V1__DossierCheck reply = TESSERA__V1__DOSSIER_CHECK__INIT;
    reply.dossier_id = request->dossier_id;
    reply.defects = enrollment_arena_alloc (arena, (size_t) 2 * ENROLLMENT_DEFECTS_MAX * sizeof *reply.defects);
    if (!reply.defects)
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    for (size_t i = 0; i < check_count; i++) {
        if (enrollment_completeness_defects (arena, &checks [i], NULL, reply.defects + reply.n_defects))
            return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
        reply.n_defects += checks [i].defect_count;
    }
    reply.complete = reply.n_defects == 0;
    return tsr_call_reply (call, &reply.base, reply.complete ? "complete" : "incomplete");
}

tsr_status_t
enrollment_check_dossier (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__CheckDossierRequest *request = (Tessera__V1__CheckDossierRequest *)
        tsr_call_unpack (call, &tessera__v1__check_dossier_request__descriptor, &status);
    if (!request)
        return status;
    enrollment_arena_t *arena = enrollment_arena_new ();
    status = arena ? s_check (call, request, arena) : tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    enrollment_arena_destroy (&arena);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}
