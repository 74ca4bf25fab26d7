/*  enrollment_completeness: dossiers from the database through the rules
    (see enrollment_completeness.h).
*/
#include "enrollment_completeness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t
s_int (PGresult *res, int row, int column)
{
    return strtoll (PQgetvalue (res, row, column), NULL, 10);
}

//  The documents and their signers into arrays the rules read; the
//  strings stay in docs and sigs, which the caller clears.
static int
s_documents (tsr_db_t *db, const char *dossier_id, PGresult **docs, PGresult **sigs,
             enrollment_document_t **documents, enrollment_signer_t **signers, size_t *count)
{
    const char *values [] = { dossier_id };
    *docs = tsr_db_query (db,
        "SELECT d.document_id, d.type, coalesce(" ENROLLMENT_UNIX ("d.issued_at") ", 0),"
        " coalesce(" ENROLLMENT_UNIX ("d.expires_at") ", 0), d.withdrawn FROM documents d"
        " WHERE d.dossier_id = $1 ORDER BY d.row_seq", 1, values);
    *sigs = tsr_db_query (db,
        "SELECT s.document_id, s.signer_id, s.signer_kind, coalesce(s.person_role, 0)"
        " FROM document_signatures s JOIN documents d USING (document_id)"
        " WHERE d.dossier_id = $1 ORDER BY d.row_seq, s.position", 1, values);
    if (!*docs || !*sigs)
        return -1;
    size_t document_count = (size_t) PQntuples (*docs), signer_count = (size_t) PQntuples (*sigs);
    *documents = calloc (document_count + 1, sizeof **documents);
    *signers = calloc (signer_count + 1, sizeof **signers);
    if (!*documents || !*signers)
        return -1;
    //  Both are in document order: walk them together.
    size_t s = 0;
    for (size_t i = 0; i < document_count; i++) {
        enrollment_document_t *document = &(*documents) [i];
        const char *document_id = PQgetvalue (*docs, (int) i, 0);
        document->type = (int) s_int (*docs, (int) i, 1);
        document->issued_unix = s_int (*docs, (int) i, 2);
        document->expires_unix = s_int (*docs, (int) i, 3);
        document->withdrawn = PQgetvalue (*docs, (int) i, 4) [0] == 't';
        document->signers = &(*signers) [s];
        while (s < signer_count && strcmp (PQgetvalue (*sigs, (int) s, 0), document_id) == 0) {
            enrollment_signer_t *signer = &(*signers) [s];
            signer->id = PQgetvalue (*sigs, (int) s, 1);
            signer->kind = strcmp (PQgetvalue (*sigs, (int) s, 2), "operator") == 0
                ? ENROLLMENT_SIGNER_OPERATOR : ENROLLMENT_SIGNER_PERSON;
            signer->person_role = (int) s_int (*sigs, (int) s, 3);
            document->signer_count++;
            s++;
        }
    }
    *count = document_count;
    return 0;
}

int
enrollment_completeness_check (tsr_db_t *db, const char *dossier_id, int level, int64_t now_unix,
                               enrollment_completeness_t *result)
{
    memset (result, 0, sizeof *result);
    const char *values [] = { dossier_id };
    PGresult *res = tsr_db_query (db,
        "SELECT x.dossier_id, x.organisation_id, coalesce(x.person_id, ''), x.state, "
        ENROLLMENT_UNIX ("x.opened_at") ", o.kind, o.legal_name, coalesce(p.role, 0),"
        " coalesce(p.given_name || ' ' || p.surname, ''), coalesce(p.designated_by, '')"
        " FROM dossiers x JOIN organisations o USING (organisation_id)"
        " LEFT JOIN persons p ON p.person_id = x.person_id WHERE x.dossier_id = $1", 1, values);
    if (!res)
        return -1;
    if (PQntuples (res) == 0) {
        PQclear (res);
        return 0;
    }
    snprintf (result->dossier_id, sizeof result->dossier_id, "%s", PQgetvalue (res, 0, 0));
    snprintf (result->organisation_id, sizeof result->organisation_id, "%s", PQgetvalue (res, 0, 1));
    snprintf (result->person_id, sizeof result->person_id, "%s", PQgetvalue (res, 0, 2));
    result->state = (int) s_int (res, 0, 3);
    bool organisation = !*result->person_id;
    snprintf (result->who, sizeof result->who, "%s", PQgetvalue (res, 0, organisation ? 6 : 8));
    enrollment_dossier_t dossier = {
        .organisation = organisation,
        .organisation_kind = (int) s_int (res, 0, 5),
        .person_role = (int) s_int (res, 0, 7),
        .person_id = organisation ? NULL : result->person_id,
        .designated_by = *PQgetvalue (res, 0, 9) ? PQgetvalue (res, 0, 9) : NULL,
        .level = level,
        .registered_unix = s_int (res, 0, 4),
        .now_unix = now_unix,
    };
    PGresult *docs = NULL, *sigs = NULL;
    enrollment_document_t *documents = NULL;
    enrollment_signer_t *signers = NULL;
    int rc = -1;
    if (s_documents (db, dossier_id, &docs, &sigs, &documents, &signers, &dossier.document_count) == 0) {
        dossier.documents = documents;
        result->defect_count = enrollment_dossier_check (&dossier, result->defects, ENROLLMENT_DEFECTS_MAX);
        rc = 1;
    }
    free (documents);
    free (signers);
    PQclear (docs);
    PQclear (sigs);
    PQclear (res);
    return rc;
}

int
enrollment_organisation_dossier (tsr_db_t *db, const char *organisation_id,
                                 char dossier_id [ENROLLMENT_ID_SIZE])
{
    const char *values [] = { organisation_id };
    PGresult *res = tsr_db_query (db,
        "SELECT dossier_id FROM dossiers WHERE organisation_id = $1 AND person_id IS NULL"
        " ORDER BY row_seq DESC LIMIT 1", 1, values);
    if (!res)
        return -1;
    int found = PQntuples (res) == 1;
    if (found)
        snprintf (dossier_id, ENROLLMENT_ID_SIZE, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    return found;
}

int
enrollment_completeness_defects (enrollment_arena_t *arena, const enrollment_completeness_t *result,
                                 const char *card_request_id, Tessera__V1__DossierDefect **defects)
{
    for (size_t i = 0; i < result->defect_count; i++) {
        Tessera__V1__DossierDefect *defect = enrollment_arena_alloc (arena, sizeof *defect);
        if (!defect)
            return -1;
        tessera__v1__dossier_defect__init (defect);
        defect->dossier_id = (char *) result->dossier_id;
        defect->person_id = (char *) result->person_id;
        defect->organisation_id = (char *) result->organisation_id;
        defect->card_request_id = (char *) (card_request_id ? card_request_id : "");
        defect->document_type = (Tessera__V1__DocumentType) result->defects [i].document_type;
        defect->kind = (Tessera__V1__DossierDefectKind) result->defects [i].kind;
        defect->detail = (char *) result->defects [i].detail;
        defects [i] = defect;
    }
    return 0;
}
