/*  RegisterOrganisation, UpdateOrganisation, GetOrganisation,
    ListOrganisations.

    An organisation is known by its SIRET, which never changes and is
    unique (see enrollment_siret.h for the check, La Poste included).
    Registering one opens its own dossier, where its K-bis extract (a
    company) or its SIRENE notice and delegation document (a public
    administration) are recorded.
*/
#include "enrollment_calls.h"
#include "enrollment_input.h"
#include "enrollment_records.h"
#include "enrollment_registry.h"
#include "enrollment_siret.h"

#include "tessera/json.h"
#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_LEGAL_NAME_RULE "1 to 64 characters of valid UTF-8, no control character," \
                          " no space at either end"

static tsr_status_t
s_check_legal_name (tsr_call_t *call, const char *legal_name)
{
    if (!tsr_text_valid (legal_name, ENROLLMENT_LEGAL_NAME_MAX))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "legal_name: " S_LEGAL_NAME_RULE);
    return ENROLLMENT_OK;
}

static tsr_status_t
s_check_address (tsr_call_t *call, const Tessera__V1__PostalAddress *address)
{
    char err [TSR_CALL_MESSAGE_MAX];
    if (!enrollment_address_valid (address, err, sizeof err))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "%s", err);
    return ENROLLMENT_OK;
}

//  The audit row and the event of a registration or an update.
static int
s_record (tsr_call_t *call, const char *organisation_id, const char *action, const char *event_type,
          const char *dossier_id)
{
    const char *values [] = { organisation_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT siret, legal_name, kind FROM organisations WHERE organisation_id = $1", 1, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "siret", PQgetvalue (res, 0, 0));
    tsr_json_str (json, "legal_name", PQgetvalue (res, 0, 1));
    tsr_json_int (json, "kind", strtol (PQgetvalue (res, 0, 2), NULL, 10));
    if (dossier_id)
        tsr_json_str (json, "dossier_id", dossier_id);
    char *details = tsr_json_finish (&json);
    Tessera__V1__OrganisationChanged event = TESSERA__V1__ORGANISATION_CHANGED__INIT;
    event.organisation_id = (char *) organisation_id;
    event.siret = PQgetvalue (res, 0, 0);
    event.legal_name = PQgetvalue (res, 0, 1);
    int rc = details ? enrollment_record (call->db, call->caller_key, call->request->trace_id, action,
                                          organisation_id, details, event_type, &event.base) : -1;
    free (details);
    PQclear (res);
    return rc;
}

tsr_status_t
enrollment_reply_organisation (tsr_call_t *call, const char *organisation_id, const char *text)
{
    enrollment_arena_t *arena = enrollment_arena_new ();
    const char *values [] = { organisation_id };
    PGresult *res = arena ? enrollment_arena_keep (arena, tsr_db_query (call->db,
        ENROLLMENT_ORGANISATION_SELECT " WHERE o.organisation_id = $1", 1, values)) : NULL;
    tsr_status_t status;
    if (!res)
        status = enrollment_db_failed (call, "read the organisation");
    else
    if (PQntuples (res) == 0)
        status = tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "no organisation %s", organisation_id);
    else {
        Tessera__V1__Organisation *organisation = enrollment_organisation_row (arena, res, 0);
        status = organisation ? tsr_call_reply (call, &organisation->base, text)
                              : tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    }
    enrollment_arena_destroy (&arena);
    return status;
}

//  Every bound of the request that needs no database.
tsr_status_t
enrollment_organisation_check (tsr_call_t *call,
                               const Tessera__V1__RegisterOrganisationRequest *request)
{
    tsr_status_t status = s_check_legal_name (call, request->legal_name);
    if (status != ENROLLMENT_OK)
        return status;
    const char *siret = request->siret;
    if (strlen (siret) != 14 || strspn (siret, "0123456789") != 14)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "siret: 14 digits, without spaces");
    if (!enrollment_siret_valid (siret))
        return tsr_call_fail (call, ENROLLMENT_INVALID,
                              "siret: %s fails the Luhn check; it is not a SIRET", siret);
    if (request->kind != TESSERA__V1__ORGANISATION_KIND__ORGANISATION_KIND_COMPANY
    &&  request->kind != TESSERA__V1__ORGANISATION_KIND__ORGANISATION_KIND_PUBLIC_ADMINISTRATION)
        return tsr_call_fail (call, ENROLLMENT_INVALID,
                              "kind: ORGANISATION_KIND_COMPANY or ORGANISATION_KIND_PUBLIC_ADMINISTRATION");
    return s_check_address (call, request->postal_address);
}

static tsr_status_t
s_register (tsr_call_t *call, Tessera__V1__RegisterOrganisationRequest *request)
{
    tsr_status_t status = enrollment_organisation_check (call, request);
    if (status != ENROLLMENT_OK)
        return status;
    const char *siret = request->siret;
    char operator_id [ENROLLMENT_OPERATOR_ID_MAX];
    if ((status = enrollment_caller_operator (call, operator_id)) != ENROLLMENT_OK)
        return status;
    const char *key [] = { siret };
    PGresult *res = tsr_db_query (call->db,
        "SELECT organisation_id FROM organisations WHERE siret = $1", 1, key);
    if (!res)
        return enrollment_db_failed (call, "read the organisations");
    if (PQntuples (res) > 0) {
        status = tsr_call_fail (call, ENROLLMENT_EXISTS, "siret: %s is registered already (%s)",
                                siret, PQgetvalue (res, 0, 0));
        PQclear (res);
        return status;
    }
    PQclear (res);
    char organisation_id [ENROLLMENT_ID_SIZE], dossier_id [ENROLLMENT_ID_SIZE];
    char lines [ENROLLMENT_ADDRESS_LINES_SIZE], kind [8];
    if (enrollment_id_new ("org-", organisation_id)
    ||  enrollment_address_join (request->postal_address, lines, sizeof lines))
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "cannot make an organisation id");
    snprintf (kind, sizeof kind, "%d", (int) request->kind);
    const Tessera__V1__PostalAddress *address = request->postal_address;
    const char *values [] = { organisation_id, request->legal_name, siret, kind, lines,
                              address->postal_code, address->city, address->country_code,
                              operator_id };
    res = tsr_db_query (call->db,
        "INSERT INTO organisations (organisation_id, legal_name, siret, kind, address_lines,"
        " postal_code, city, country_code, created_by)"
        " VALUES ($1, $2, $3, $4::smallint, $5, $6, $7, $8, $9)", 9, values);
    if (!res) {
        if (strcmp (tsr_db_sqlstate (call->db), "23505") == 0)
            return tsr_call_fail (call, ENROLLMENT_EXISTS, "siret: %s is registered already", siret);
        return enrollment_db_failed (call, "store the organisation");
    }
    PQclear (res);
    if (enrollment_dossier_open (call, organisation_id, NULL, operator_id, dossier_id)
    ||  s_record (call, organisation_id, "enrollment.organisation_registered",
                  "organisation.registered", dossier_id))
        return enrollment_db_failed (call, "record the registration");
    tsr_log_info (call->request->trace_id, "enrollment.organisation_registered",
                  "organisation_id", organisation_id, "siret", siret, NULL);
    return enrollment_reply_organisation (call, organisation_id, "organisation registered");
}

tsr_status_t
enrollment_register_organisation (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__RegisterOrganisationRequest *request = (Tessera__V1__RegisterOrganisationRequest *)
        tsr_call_unpack (call, &tessera__v1__register_organisation_request__descriptor, &status);
    if (!request)
        return status;
    status = s_register (call, request);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

static tsr_status_t
s_update (tsr_call_t *call, Tessera__V1__UpdateOrganisationRequest *request)
{
    tsr_status_t status;
    if (!enrollment_id_valid (request->organisation_id, "org-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "organisation_id: org- and 16 hex digits");
    bool new_name = *request->legal_name != 0;
    if (!new_name && !request->postal_address)
        return tsr_call_fail (call, ENROLLMENT_INVALID,
                              "nothing to change: give legal_name or postal_address");
    if (new_name && (status = s_check_legal_name (call, request->legal_name)) != ENROLLMENT_OK)
        return status;
    if (request->postal_address
    &&  (status = s_check_address (call, request->postal_address)) != ENROLLMENT_OK)
        return status;
    char lines [ENROLLMENT_ADDRESS_LINES_SIZE] = "";
    const Tessera__V1__PostalAddress *address = request->postal_address;
    if (address && enrollment_address_join (address, lines, sizeof lines))
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "address too long");
    const char *values [] = { request->organisation_id, request->legal_name, address ? "1" : "",
                              lines, address ? address->postal_code : "", address ? address->city : "",
                              address ? address->country_code : "" };
    PGresult *res = tsr_db_query (call->db,
        "UPDATE organisations SET legal_name = CASE WHEN $2 = '' THEN legal_name ELSE $2 END,"
        " address_lines = CASE WHEN $3 = '' THEN address_lines ELSE $4 END,"
        " postal_code = CASE WHEN $3 = '' THEN postal_code ELSE $5 END,"
        " city = CASE WHEN $3 = '' THEN city ELSE $6 END,"
        " country_code = CASE WHEN $3 = '' THEN country_code ELSE $7 END, updated_at = now()"
        " WHERE organisation_id = $1", 7, values);
    if (!res)
        return enrollment_db_failed (call, "update the organisation");
    bool found = strcmp (PQcmdTuples (res), "1") == 0;
    PQclear (res);
    if (!found)
        return tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "no organisation %s", request->organisation_id);
    if (s_record (call, request->organisation_id, "enrollment.organisation_updated",
                  "organisation.updated", NULL))
        return enrollment_db_failed (call, "record the update");
    return enrollment_reply_organisation (call, request->organisation_id, "organisation updated");
}

tsr_status_t
enrollment_update_organisation (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__UpdateOrganisationRequest *request = (Tessera__V1__UpdateOrganisationRequest *)
        tsr_call_unpack (call, &tessera__v1__update_organisation_request__descriptor, &status);
    if (!request)
        return status;
    status = s_update (call, request);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

tsr_status_t
enrollment_get_organisation (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__GetOrganisationRequest *request = (Tessera__V1__GetOrganisationRequest *)
        tsr_call_unpack (call, &tessera__v1__get_organisation_request__descriptor, &status);
    if (!request)
        return status;
    bool by_id = *request->organisation_id != 0, by_siret = *request->siret != 0;
    if (by_id == by_siret)
        status = tsr_call_fail (call, ENROLLMENT_INVALID, "give exactly one of organisation_id and siret");
    else
    if (by_id && !enrollment_id_valid (request->organisation_id, "org-"))
        status = tsr_call_fail (call, ENROLLMENT_INVALID, "organisation_id: org- and 16 hex digits");
    else
    if (by_siret && (strlen (request->siret) != 14 || strspn (request->siret, "0123456789") != 14))
        status = tsr_call_fail (call, ENROLLMENT_INVALID, "siret: 14 digits, without spaces");
    else
    if (by_id)
        status = enrollment_reply_organisation (call, request->organisation_id, "found");
    else {
        const char *values [] = { request->siret };
        PGresult *res = tsr_db_query (call->db,
            "SELECT organisation_id FROM organisations WHERE siret = $1", 1, values);
        if (!res)
            status = enrollment_db_failed (call, "read the organisations");
        else
        if (PQntuples (res) == 0)
            status = tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "no organisation with SIRET %s",
                                    request->siret);
        else
            status = enrollment_reply_organisation (call, PQgetvalue (res, 0, 0), "found");
        PQclear (res);
    }
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

static tsr_status_t
s_list (tsr_call_t *call, Tessera__V1__ListOrganisationsRequest *request, enrollment_arena_t *arena)
{
    int64_t after;
    if (!tsr_free_text_valid (request->name_contains, ENROLLMENT_LEGAL_NAME_MAX))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "name_contains: at most 128 characters,"
                              " no control character");
    if (!enrollment_page_token_parse (request->page_token, &after))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "page_token: as given by the previous page");
    uint32_t limit = enrollment_page_limit (request->limit);
    char after_text [24], limit_text [16];
    snprintf (after_text, sizeof after_text, "%lld", (long long) after);
    snprintf (limit_text, sizeof limit_text, "%u", limit + 1);
    const char *values [] = { request->name_contains, after_text, limit_text };
    PGresult *res = enrollment_arena_keep (arena, tsr_db_query (call->db,
        ENROLLMENT_ORGANISATION_SELECT " WHERE ($1 = '' OR strpos(lower(o.legal_name), lower($1)) > 0)"
        " AND o.row_seq > $2::bigint ORDER BY o.row_seq LIMIT $3::int", 3, values));
    size_t count;
    Tessera__V1__ListOrganisationsReply reply = TESSERA__V1__LIST_ORGANISATIONS_REPLY__INIT;
    if (!res)
        return enrollment_db_failed (call, "read the organisations");
    if (enrollment_page (arena, res, limit, &count, &reply.next_page_token)
    ||  !(reply.organisations = enrollment_arena_alloc (arena, (count + 1) * sizeof *reply.organisations)))
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    for (size_t i = 0; i < count; i++)
        if (!(reply.organisations [i] = enrollment_organisation_row (arena, res, (int) i)))
            return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    reply.n_organisations = count;
    return tsr_call_reply (call, &reply.base, "organisations");
}

tsr_status_t
enrollment_list_organisations (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ListOrganisationsRequest *request = (Tessera__V1__ListOrganisationsRequest *)
        tsr_call_unpack (call, &tessera__v1__list_organisations_request__descriptor, &status);
    if (!request)
        return status;
    enrollment_arena_t *arena = enrollment_arena_new ();
    status = arena ? s_list (call, request, arena) : tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    enrollment_arena_destroy (&arena);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}
