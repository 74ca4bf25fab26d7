/*  RecordDocument, WithdrawDocument.

    A document is recorded in an open dossier as received and checked: its
    type (which must fit the dossier: a person's documents, the MC
    designation in an MC's, the K-bis extract for a company, the SIRENE
    notice and delegation for an administration), its reference, dates,
    who checked it (the caller unless another operator is named), who
    signed it (persons of the organisation, operators for the AE) and the
    SHA-256 of its scan. A K-bis extract 3 months old or more at the
    registration, or an identity document already expired, is refused: it
    could never count. A withdrawn document stays, marked, and no longer
    counts.
*/
#include "enrollment_calls.h"
#include "enrollment_input.h"
#include "enrollment_records.h"
#include "enrollment_registry.h"
#include "enrollment_rules.h"

#include "tessera/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_SIGNERS_MAX 8
#define S_IDENTITY TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_IDENTITY_DOCUMENT
#define S_KBIS TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_KBIS_EXTRACT

typedef Tessera__V1__RecordDocumentRequest s_request_t;

//  What the document is recorded into.
typedef struct {
    bool organisation;
    int organisation_kind;
    int person_role;
    int64_t opened_unix;
    char organisation_id [ENROLLMENT_ID_SIZE];
} s_dossier_t;

static tsr_status_t
s_reply (tsr_call_t *call, const char *document_id, const char *text)
{
    enrollment_arena_t *arena = enrollment_arena_new ();
    const char *values [] = { document_id };
    PGresult *res = arena ? enrollment_arena_keep (arena, tsr_db_query (call->db,
        ENROLLMENT_DOCUMENT_SELECT " WHERE d.document_id = $1", 1, values)) : NULL;
    tsr_status_t status;
    if (!res || PQntuples (res) != 1)
        status = enrollment_db_failed (call, "read the document back");
    else {
        Tessera__V1__Document *document = enrollment_document_row (arena, res, 0);
        status = document ? tsr_call_reply (call, &document->base, text)
                          : tsr_call_fail (call, ENROLLMENT_INTERNAL, "out of memory");
    }
    enrollment_arena_destroy (&arena);
    return status;
}

static int
s_record (tsr_call_t *call, const char *document_id, const char *dossier_id, int type,
          const char *scan_sha256, const char *action, const char *event_type, const char *reason)
{
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "dossier_id", dossier_id);
    tsr_json_int (json, "type", type);
    tsr_json_str (json, "scan_sha256", scan_sha256);
    if (reason)
        tsr_json_str (json, "reason", reason);
    char *details = tsr_json_finish (&json);
    Tessera__V1__DocumentChanged event = TESSERA__V1__DOCUMENT_CHANGED__INIT;
    event.document_id = (char *) document_id;
    event.dossier_id = (char *) dossier_id;
    event.type = (Tessera__V1__DocumentType) type;
    event.scan_sha256 = (char *) scan_sha256;
    int rc = details ? enrollment_record (call->db, call->caller_key, call->request->trace_id, action,
                                          document_id, details, event_type, &event.base) : -1;
    free (details);
    return rc;
}

//  Every bound that needs no database.
tsr_status_t
enrollment_document_check (tsr_call_t *call, const Tessera__V1__RecordDocumentRequest *request,
                           int64_t now)
{
    if (!enrollment_id_valid (request->dossier_id, "dos-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "dossier_id: dos- and 16 hex digits");
    if (request->type < 1 || request->type > TESSERA__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_DELEGATION)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "type: a DocumentType");
    bool identity = request->type == S_IDENTITY;
    if (identity && (request->identity_document_kind < 1 || request->identity_document_kind > 3))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "identity_document_kind: national ID card,"
                              " passport or residence permit");
    if (!identity && request->identity_document_kind != 0)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "identity_document_kind: only for an identity document");
    if (!tsr_text_valid (request->reference, ENROLLMENT_REFERENCE_MAX))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "reference: 1 to 64 characters of valid UTF-8,"
                              " no control character, no space at either end");
    if (!enrollment_date_valid (request->received_unix, now))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "received_unix: a date in the past (unix seconds)");
    if (request->issued_unix != 0 && !enrollment_date_valid (request->issued_unix, now))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "issued_unix: a date in the past (unix seconds), or 0");
    if (request->issued_unix > request->received_unix)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "issued_unix: after received_unix");
    if (request->type == S_KBIS && request->issued_unix == 0)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "issued_unix: the K-bis extract's date is required");
    if (!identity && request->expires_unix != 0)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "expires_unix: only for an identity document");
    char date [16];
    enrollment_date_format (request->expires_unix, date);
    if (request->expires_unix < 0 || (request->expires_unix != 0 && request->expires_unix <= now))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "expires_unix: the identity document expired"
                              " on %s", date);
    if (*request->scan_sha256 && !enrollment_sha256_hex_valid (request->scan_sha256))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "scan_sha256: 64 lower-case hex digits, or empty");
    if (*request->checked_by_operator_id && !enrollment_id_valid (request->checked_by_operator_id, "op-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "checked_by_operator_id: op- and 16 hex digits, or empty");
    if (!tsr_free_text_valid (request->note, ENROLLMENT_NOTE_MAX))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "note: at most 512 characters, no control character");
    if (request->n_signed_by > S_SIGNERS_MAX)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "signed_by: at most %d signatories", S_SIGNERS_MAX);
    for (size_t i = 0; i < request->n_signed_by; i++) {
        const char *id = request->signed_by [i];
        if (!enrollment_id_valid (id, "per-") && !enrollment_id_valid (id, "op-"))
            return tsr_call_fail (call, ENROLLMENT_INVALID, "signed_by[%zu]: a person id (per-) or an"
                                  " operator id (op-)", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp (request->signed_by [j], id) == 0)
                return tsr_call_fail (call, ENROLLMENT_INVALID, "signed_by[%zu]: %s is listed twice", i, id);
    }
    return ENROLLMENT_OK;
}

//  The open dossier the document goes into, locked against closing.
static tsr_status_t
s_dossier (tsr_call_t *call, const char *dossier_id, s_dossier_t *dossier)
{
    const char *values [] = { dossier_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT x.state, x.person_id IS NULL, o.kind, coalesce(p.role, 0), "
        ENROLLMENT_UNIX ("x.opened_at") ", x.organisation_id FROM dossiers x"
        " JOIN organisations o USING (organisation_id) LEFT JOIN persons p ON p.person_id = x.person_id"
        " WHERE x.dossier_id = $1 FOR SHARE OF x", 1, values);
    if (!res)
        return enrollment_db_failed (call, "read the dossier");
    tsr_status_t status = ENROLLMENT_OK;
    if (PQntuples (res) == 0)
        status = tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "dossier_id: no dossier %s", dossier_id);
    else
    if (strcmp (PQgetvalue (res, 0, 0), "1") != 0)
        status = tsr_call_fail (call, ENROLLMENT_PRECONDITION, "dossier %s is closed; open a new one",
                                dossier_id);
    else {
        dossier->organisation = PQgetvalue (res, 0, 1) [0] == 't';
        dossier->organisation_kind = (int) strtol (PQgetvalue (res, 0, 2), NULL, 10);
        dossier->person_role = (int) strtol (PQgetvalue (res, 0, 3), NULL, 10);
        dossier->opened_unix = strtoll (PQgetvalue (res, 0, 4), NULL, 10);
        snprintf (dossier->organisation_id, sizeof dossier->organisation_id, "%s", PQgetvalue (res, 0, 5));
    }
    PQclear (res);
    return status;
}

//  Each signatory: a person of the dossier's organisation (kept with their
//  role) or an operator. Stored in order.
static tsr_status_t
s_signers (tsr_call_t *call, s_request_t *request, const s_dossier_t *dossier, const char *document_id)
{
    for (size_t i = 0; i < request->n_signed_by; i++) {
        const char *id = request->signed_by [i];
        char position [24], role [8] = "";
        snprintf (position, sizeof position, "%zu", i);
        if (strncmp (id, "per-", 4) == 0) {
            const char *values [] = { id, dossier->organisation_id };
            PGresult *res = tsr_db_query (call->db,
                "SELECT role FROM persons WHERE person_id = $1 AND organisation_id = $2", 2, values);
            if (!res)
                return enrollment_db_failed (call, "read the persons");
            if (PQntuples (res) == 1)
                snprintf (role, sizeof role, "%s", PQgetvalue (res, 0, 0));
            PQclear (res);
        }
        else {
            int exists = enrollment_operator_exists (call->db, id);
            if (exists < 0)
                return enrollment_db_failed (call, "read the operators");
            if (exists)
                snprintf (role, sizeof role, "0");
        }
        if (!*role)
            return tsr_call_fail (call, ENROLLMENT_INVALID, "signed_by[%zu]: %s is neither a person of"
                                  " this organisation nor an operator", i, id);
        bool person = strcmp (role, "0") != 0;
        const char *values [] = { document_id, position, id, person ? "person" : "operator",
                                  person ? role : NULL };
        PGresult *res = tsr_db_query (call->db,
            "INSERT INTO document_signatures (document_id, position, signer_id, signer_kind, person_role)"
            " VALUES ($1, $2::smallint, $3, $4, $5::smallint)", 5, values);
        if (!res)
            return enrollment_db_failed (call, "store the signatures");
        PQclear (res);
    }
    return ENROLLMENT_OK;
}

static tsr_status_t
s_record_document (tsr_call_t *call, s_request_t *request)
{
    int64_t now = (int64_t) time (NULL);
    s_dossier_t dossier = { .organisation = false };
    char why [160], operator_id [ENROLLMENT_OPERATOR_ID_MAX], document_id [ENROLLMENT_ID_SIZE];
    tsr_status_t status = enrollment_document_check (call, request, now);
    if (status != ENROLLMENT_OK || (status = s_dossier (call, request->dossier_id, &dossier)) != ENROLLMENT_OK)
        return status;
    if (!enrollment_document_fits (dossier.organisation, dossier.organisation_kind, dossier.person_role,
                                   request->type, why, sizeof why))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "type: %s", why);
    if (request->type == S_KBIS && enrollment_kbis_out_of_date (request->issued_unix, dossier.opened_unix)) {
        char issued [16], registered [16];
        enrollment_date_format (request->issued_unix, issued);
        enrollment_date_format (dossier.opened_unix, registered);
        return tsr_call_fail (call, ENROLLMENT_INVALID, "issued_unix: the K-bis extract dated %s is out of"
                              " date: older than %d months at registration (%s)", issued,
                              ENROLLMENT_KBIS_MAX_AGE_MONTHS, registered);
    }
    if ((status = enrollment_caller_operator (call, operator_id)) != ENROLLMENT_OK)
        return status;
    const char *checked_by = *request->checked_by_operator_id ? request->checked_by_operator_id : operator_id;
    int exists = enrollment_operator_exists (call->db, checked_by);
    if (exists <= 0)
        return exists < 0 ? enrollment_db_failed (call, "read the operators")
                          : tsr_call_fail (call, ENROLLMENT_INVALID, "checked_by_operator_id: no operator %s",
                                           checked_by);
    if (enrollment_id_new ("doc-", document_id))
        return tsr_call_fail (call, ENROLLMENT_INTERNAL, "cannot make a document id");
    char type [8], kind [8], received [24], issued [24], expires [24];
    snprintf (type, sizeof type, "%d", (int) request->type);
    snprintf (kind, sizeof kind, "%d", (int) request->identity_document_kind);
    snprintf (received, sizeof received, "%lld", (long long) request->received_unix);
    snprintf (issued, sizeof issued, "%lld", (long long) request->issued_unix);
    snprintf (expires, sizeof expires, "%lld", (long long) request->expires_unix);
    const char *values [] = { document_id, request->dossier_id, type, kind, request->reference, received,
                              request->issued_unix ? issued : NULL, request->expires_unix ? expires : NULL,
                              checked_by, operator_id, request->scan_sha256, request->note };
    PGresult *res = tsr_db_query (call->db,
        "INSERT INTO documents (document_id, dossier_id, type, identity_kind, reference, received_at,"
        " issued_at, expires_at, checked_by, recorded_by, scan_sha256, note)"
        " VALUES ($1, $2, $3::smallint, $4::smallint, $5, to_timestamp($6::bigint),"
        " to_timestamp($7::bigint), to_timestamp($8::bigint), $9, $10, $11, $12)", 12, values);
    if (!res)
        return enrollment_db_failed (call, "store the document");
    PQclear (res);
    if ((status = s_signers (call, request, &dossier, document_id)) != ENROLLMENT_OK)
        return status;
    if (s_record (call, document_id, request->dossier_id, request->type, request->scan_sha256,
                  "enrollment.document_recorded", "document.recorded", NULL))
        return enrollment_db_failed (call, "record the document");
    return s_reply (call, document_id, "document recorded");
}

tsr_status_t
enrollment_record_document (tsr_call_t *call)
{
    tsr_status_t status;
    s_request_t *request = (s_request_t *)
        tsr_call_unpack (call, &tessera__v1__record_document_request__descriptor, &status);
    if (!request)
        return status;
    status = s_record_document (call, request);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}

static tsr_status_t
s_withdraw (tsr_call_t *call, Tessera__V1__WithdrawDocumentRequest *request)
{
    if (!enrollment_id_valid (request->document_id, "doc-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "document_id: doc- and 16 hex digits");
    if (!tsr_text_valid (request->reason, ENROLLMENT_NOTE_MAX))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "reason: required, at most 512 characters,"
                              " no control character");
    const char *values [] = { request->document_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT d.withdrawn, x.state, d.dossier_id, d.type, d.scan_sha256 FROM documents d"
        " JOIN dossiers x USING (dossier_id) WHERE d.document_id = $1 FOR UPDATE OF d FOR SHARE OF x",
        1, values);
    if (!res)
        return enrollment_db_failed (call, "read the document");
    tsr_status_t status = ENROLLMENT_OK;
    if (PQntuples (res) == 0)
        status = tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "no document %s", request->document_id);
    else
    if (PQgetvalue (res, 0, 0) [0] == 't')
        status = tsr_call_fail (call, ENROLLMENT_PRECONDITION, "document %s is withdrawn already",
                                request->document_id);
    else
    if (strcmp (PQgetvalue (res, 0, 1), "1") != 0)
        status = tsr_call_fail (call, ENROLLMENT_PRECONDITION, "dossier %s is closed", PQgetvalue (res, 0, 2));
    char operator_id [ENROLLMENT_OPERATOR_ID_MAX];
    if (status == ENROLLMENT_OK)
        status = enrollment_caller_operator (call, operator_id);
    if (status == ENROLLMENT_OK) {
        const char *update [] = { request->document_id, request->reason, operator_id };
        PGresult *done = tsr_db_query (call->db,
            "UPDATE documents SET withdrawn = true, withdrawn_reason = $2, withdrawn_at = now(),"
            " withdrawn_by = $3 WHERE document_id = $1", 3, update);
        if (!done || s_record (call, request->document_id, PQgetvalue (res, 0, 2),
                               (int) strtol (PQgetvalue (res, 0, 3), NULL, 10), PQgetvalue (res, 0, 4),
                               "enrollment.document_withdrawn", "document.withdrawn", request->reason))
            status = enrollment_db_failed (call, "withdraw the document");
        PQclear (done);
    }
    PQclear (res);
    return status == ENROLLMENT_OK ? s_reply (call, request->document_id, "document withdrawn") : status;
}

tsr_status_t
enrollment_withdraw_document (tsr_call_t *call)
{
    tsr_status_t status;
    Tessera__V1__WithdrawDocumentRequest *request = (Tessera__V1__WithdrawDocumentRequest *)
        tsr_call_unpack (call, &tessera__v1__withdraw_document_request__descriptor, &status);
    if (!request)
        return status;
    status = s_withdraw (call, request);
    protobuf_c_message_free_unpacked (&request->base, NULL);
    return status;
}
