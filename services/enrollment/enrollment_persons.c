/*  RegisterPerson, UpdatePerson, GetPerson, ListPersons.

    A person belongs to one registered organisation, in one role: its legal
    representative (RL), a certification delegate (MC) designated by one of
    its RLs, or a card holder. Registering a person opens their dossier.
    Names are those of the identity document and change only through a new
    registration; contact details (e-mail, postal address, language) may be
    updated.
*/
#include "enrollment_calls.h"
#include "enrollment_input.h"
#include "enrollment_records.h"
#include "enrollment_registry.h"

#include "tessera/json.h"
#include "tessera/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NAME_RULE "1 to 64 characters of valid UTF-8, no control character, no space at either end"
#define S_RL TESSERA__V1__PERSON_ROLE__PERSON_ROLE_LEGAL_REPRESENTATIVE
#define S_MC TESSERA__V1__PERSON_ROLE__PERSON_ROLE_CERTIFICATION_DELEGATE
#define S_HOLDER TESSERA__V1__PERSON_ROLE__PERSON_ROLE_HOLDER

static tsr_status_t
s_check_contact (tsr_call_t *call, const char *email, bool email_required,
                 const Tessera__V1__PostalAddress *address, bool address_required, const char *language)
{
    char err [TSR_CALL_MESSAGE_MAX];
    if ((email_required || *email) && !enrollment_email_valid (email))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "email: a plain ASCII address local@domain"
                              " of at most %d characters", ENROLLMENT_EMAIL_MAX);
    if ((address_required || address) && !enrollment_address_valid (address, err, sizeof err))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "%s", err);
    if (!enrollment_language_valid (language))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "language: \"fr\" or \"en\"");
    return ENROLLMENT_OK;
}

static int
s_record (tsr_call_t *call, const char *person_id, const char *action, const char *event_type,
          const char *dossier_id)
{
    const char *values [] = { person_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT organisation_id, role, coalesce(designated_by, '') FROM persons WHERE person_id = $1",
        1, values);
    if (!res || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "organisation_id", PQgetvalue (res, 0, 0));
    tsr_json_int (json, "role", strtol (PQgetvalue (res, 0, 1), NULL, 10));
    if (*PQgetvalue (res, 0, 2))
        tsr_json_str (json, "designated_by_person_id", PQgetvalue (res, 0, 2));
    if (dossier_id)
        tsr_json_str (json, "dossier_id", dossier_id);
    char *details = tsr_json_finish (&json);
    Tessera__V1__PersonChanged event = TESSERA__V1__PERSON_CHANGED__INIT;
    event.person_id = (char *) person_id;
    event.organisation_id = PQgetvalue (res, 0, 0);
    event.role = (Tessera__V1__PersonRole) strtol (PQgetvalue (res, 0, 1), NULL, 10);
    int rc = details ? enrollment_record (call->db, call->caller_key, call->request->trace_id, action,
                                          person_id, details, event_type, &event.base) : -1;
    free (details);
    PQclear (res);
    return rc;
}

tsr_status_t
enrollment_reply_person (tsr_call_t *call, const char *person_id, const char *text)
{
    enrollment_arena_t *arena = enrollment_arena_new ();
    const char *values [] = { person_id };
    PGresult *res = arena ? enrollment_arena_keep (arena, tsr_db_query (call->db,
        ENROLLMENT_PERSON_SELECT " WHERE p.person_id = $1", 1, values)) : NULL;
    tsr_status_t status;
    if (!res)
        status = enrollment_db_failed (call, "read the person");
    else
    if (PQntuples (res) == 0)
        status = tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "no person %s", person_id);
    else {
        Tessera__V1__Person *person = enrollment_person_row (arena, res, 0);
        status = person ? tsr_call_reply (call, &person->base, text)
                        : tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    }
    enrollment_arena_destroy (&arena);
    return status;
}

//  An MC's designating RL: a person of the same organisation in the RL role.
static tsr_status_t
s_check_designation (tsr_call_t *call, Tessera__V1__RegisterPersonRequest *request)
{
    bool given = *request->designated_by_person_id != 0;
    if (request->role != S_MC)
        return given ? tsr_call_fail (call, ENROLLMENT_INVALID,
                                      "designated_by_person_id: only an MC is designated")
                     : ENROLLMENT_OK;
    if (!given)
        return tsr_call_fail (call, ENROLLMENT_INVALID,
                              "designated_by_person_id: an MC is designated by an RL of the organisation");
    if (!enrollment_id_valid (request->designated_by_person_id, "per-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "designated_by_person_id: per- and 16 hex digits");
    const char *values [] = { request->designated_by_person_id, request->organisation_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT role, organisation_id = $2 FROM persons WHERE person_id = $1", 2, values);
    if (!res)
        return enrollment_db_failed (call, "read the persons");
    tsr_status_t status = ENROLLMENT_OK;
    if (PQntuples (res) == 0)
        status = tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "designated_by_person_id: no person %s",
                                request->designated_by_person_id);
    else
    if (strtol (PQgetvalue (res, 0, 0), NULL, 10) != S_RL || PQgetvalue (res, 0, 1) [0] != 't')
        status = tsr_call_fail (call, ENROLLMENT_INVALID, "designated_by_person_id: %s is not an RL"
                                " of this organisation", request->designated_by_person_id);
    PQclear (res);
    return status;
}

//  Every bound of the request that needs no database.
tsr_status_t
enrollment_person_check (tsr_call_t *call, const Tessera__V1__RegisterPersonRequest *request)
{
    if (!enrollment_id_valid (request->organisation_id, "org-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "organisation_id: org- and 16 hex digits");
    if (request->role != S_RL && request->role != S_MC && request->role != S_HOLDER)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "role: PERSON_ROLE_LEGAL_REPRESENTATIVE,"
                              " PERSON_ROLE_CERTIFICATION_DELEGATE or PERSON_ROLE_HOLDER");
    if (!tsr_text_valid (request->given_name, ENROLLMENT_NAME_MAX))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "given_name: " S_NAME_RULE);
    if (!tsr_text_valid (request->surname, ENROLLMENT_NAME_MAX))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "surname: " S_NAME_RULE);
    //  Certificates carry CN = "Given SURNAME", at most 64 characters (X.520).
    char common_name [2 * 4 * ENROLLMENT_NAME_MAX + 2];
    snprintf (common_name, sizeof common_name, "%s %s", request->given_name, request->surname);
    if (!tsr_text_valid (common_name, ENROLLMENT_NAME_MAX))
        return tsr_call_fail (call, ENROLLMENT_INVALID,
                              "given_name and surname: together at most 63 characters (the certificate's common name)");
    return s_check_contact (call, request->email, true, request->postal_address, true,
                            request->language);
}

static tsr_status_t
s_register (tsr_call_t *call, Tessera__V1__RegisterPersonRequest *request)
{
    tsr_status_t status = enrollment_person_check (call, request);
    if (status != ENROLLMENT_OK)
        return status;
    const char *org [] = { request->organisation_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT 1 FROM organisations WHERE organisation_id = $1 FOR SHARE", 1, org);
    if (!res)
        return enrollment_db_failed (call, "read the organisations");
    bool known = PQntuples (res) == 1;
    PQclear (res);
    if (!known)
        return tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "organisation_id: no organisation %s",
                              request->organisation_id);
    if ((status = s_check_designation (call, request)) != ENROLLMENT_OK)
        return status;
    char operator_id [ENROLLMENT_OPERATOR_ID_MAX];
    if ((status = enrollment_caller_operator (call, operator_id)) != ENROLLMENT_OK)
        return status;
    char person_id [ENROLLMENT_ID_SIZE], dossier_id [ENROLLMENT_ID_SIZE];
    char lines [ENROLLMENT_ADDRESS_LINES_SIZE], role [8];
    if (enrollment_id_new ("per-", person_id)
    ||  enrollment_address_join (request->postal_address, lines, sizeof lines))
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "cannot make a person id");
    snprintf (role, sizeof role, "%d", (int) request->role);
    const Tessera__V1__PostalAddress *address = request->postal_address;
    const char *values [] = { person_id, request->organisation_id, role, request->given_name,
                              request->surname, request->email, lines, address->postal_code,
                              address->city, address->country_code,
                              *request->language ? request->language : "fr",
                              *request->designated_by_person_id ? request->designated_by_person_id : NULL,
                              operator_id };
    res = tsr_db_query (call->db,
        "INSERT INTO persons (person_id, organisation_id, role, given_name, surname, email,"
        " address_lines, postal_code, city, country_code, language, designated_by, created_by)"
        " VALUES ($1, $2, $3::smallint, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)", 13, values);
    if (!res)
        return enrollment_db_failed (call, "store the person");
    PQclear (res);
    if (enrollment_dossier_open (call, request->organisation_id, person_id, operator_id, dossier_id)
    ||  s_record (call, person_id, "enrollment.person_registered", "person.registered", dossier_id))
        return enrollment_db_failed (call, "record the registration");
    tsr_log_info (call->request->trace_id, "enrollment.person_registered", "person_id", person_id,
                  "organisation_id", request->organisation_id, "role", role, NULL);
    return enrollment_reply_person (call, person_id, "person registered");
}

tsr_status_t
enrollment_register_person (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__RegisterPersonRequest *request = (Tessera__V1__RegisterPersonRequest *)
        tsr_call_unpack (call, &tessera__v1__register_person_request__descriptor, &status);
    if (!request)
        return status;
    status = s_register (call, request);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

static tsr_status_t
s_update (tsr_call_t *call, Tessera__V1__UpdatePersonRequest *request)
{
    if (!enrollment_id_valid (request->person_id, "per-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "person_id: per- and 16 hex digits");
    const Tessera__V1__PostalAddress *address = request->postal_address;
    if (!*request->email && !address && !*request->language)
        return tsr_call_fail (call, ENROLLMENT_INVALID,
                              "nothing to change: give email, postal_address or language");
    tsr_status_t status = s_check_contact (call, request->email, false, address, false, request->language);
    if (status != ENROLLMENT_OK)
        return status;
    char lines [ENROLLMENT_ADDRESS_LINES_SIZE] = "";
    if (address && enrollment_address_join (address, lines, sizeof lines))
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "address too long");
    const char *values [] = { request->person_id, request->email, request->language,
                              address ? "1" : "", lines, address ? address->postal_code : "",
                              address ? address->city : "", address ? address->country_code : "" };
    PGresult *res = tsr_db_query (call->db,
        "UPDATE persons SET email = CASE WHEN $2 = '' THEN email ELSE $2 END,"
        " language = CASE WHEN $3 = '' THEN language ELSE $3 END,"
        " address_lines = CASE WHEN $4 = '' THEN address_lines ELSE $5 END,"
        " postal_code = CASE WHEN $4 = '' THEN postal_code ELSE $6 END,"
        " city = CASE WHEN $4 = '' THEN city ELSE $7 END,"
        " country_code = CASE WHEN $4 = '' THEN country_code ELSE $8 END, updated_at = now()"
        " WHERE person_id = $1", 8, values);
    if (!res)
        return enrollment_db_failed (call, "update the person");
    bool found = strcmp (PQcmdTuples (res), "1") == 0;
    PQclear (res);
    if (!found)
        return tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "no person %s", request->person_id);
    if (s_record (call, request->person_id, "enrollment.person_updated", "person.updated", NULL))
        return enrollment_db_failed (call, "record the update");
    return enrollment_reply_person (call, request->person_id, "person updated");
}

tsr_status_t
enrollment_update_person (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__UpdatePersonRequest *request = (Tessera__V1__UpdatePersonRequest *)
        tsr_call_unpack (call, &tessera__v1__update_person_request__descriptor, &status);
    if (!request)
        return status;
    status = s_update (call, request);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

tsr_status_t
enrollment_get_person (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__GetPersonRequest *request = (Tessera__V1__GetPersonRequest *)
        tsr_call_unpack (call, &tessera__v1__get_person_request__descriptor, &status);
    if (!request)
        return status;
    status = enrollment_id_valid (request->person_id, "per-")
        ? enrollment_reply_person (call, request->person_id, "found")
        : tsr_call_fail (call, ENROLLMENT_INVALID, "person_id: per- and 16 hex digits");
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

static tsr_status_t
s_list (tsr_call_t *call, Tessera__V1__ListPersonsRequest *request, enrollment_arena_t *arena)
{
    int64_t after;
    if (*request->organisation_id && !enrollment_id_valid (request->organisation_id, "org-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "organisation_id: org- and 16 hex digits");
    if (request->role < 0 || request->role > S_HOLDER)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "role: a PersonRole");
    if (!tsr_free_text_valid (request->surname_prefix, ENROLLMENT_NAME_MAX))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "surname_prefix: at most 64 characters,"
                              " no control character");
    if (!enrollment_page_token_parse (request->page_token, &after))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "page_token: as given by the previous page");
    uint32_t limit = enrollment_page_limit (request->limit);
    char role [8], after_text [24], limit_text [16];
    snprintf (role, sizeof role, "%d", (int) request->role);
    snprintf (after_text, sizeof after_text, "%lld", (long long) after);
    snprintf (limit_text, sizeof limit_text, "%u", limit + 1);
    const char *values [] = { request->organisation_id, role, request->surname_prefix, after_text,
                              limit_text };
    PGresult *res = enrollment_arena_keep (arena, tsr_db_query (call->db,
        ENROLLMENT_PERSON_SELECT " WHERE ($1 = '' OR p.organisation_id = $1)"
        " AND ($2::smallint = 0 OR p.role = $2::smallint)"
        " AND lower(left(p.surname, char_length($3))) = lower($3)"
        " AND p.row_seq > $4::bigint ORDER BY p.row_seq LIMIT $5::int", 5, values));
    size_t count;
    Tessera__V1__ListPersonsReply reply = TESSERA__V1__LIST_PERSONS_REPLY__INIT;
    if (!res)
        return enrollment_db_failed (call, "read the persons");
    if (enrollment_page (arena, res, limit, &count, &reply.next_page_token)
    ||  !(reply.persons = enrollment_arena_alloc (arena, (count + 1) * sizeof *reply.persons)))
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    for (size_t i = 0; i < count; i++)
        if (!(reply.persons [i] = enrollment_person_row (arena, res, (int) i)))
            return tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    reply.n_persons = count;
    return tsr_call_reply (call, &reply.base, "persons");
}

tsr_status_t
enrollment_list_persons (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__ListPersonsRequest *request = (Tessera__V1__ListPersonsRequest *)
        tsr_call_unpack (call, &tessera__v1__list_persons_request__descriptor, &status);
    if (!request)
        return status;
    enrollment_arena_t *arena = enrollment_arena_new ();
    status = arena ? s_list (call, request, arena) : tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    enrollment_arena_destroy (&arena);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}
