/*  enrollment_completeness: one dossier read from the database and put
    through the rules of enrollment_rules.h. CheckDossier, CheckBatch and
    SubmitBatch all go through here, so they can not disagree.
*/
#ifndef ENROLLMENT_COMPLETENESS_H
#define ENROLLMENT_COMPLETENESS_H

#include "enrollment_input.h"
#include "enrollment_records.h"
#include "enrollment_rules.h"
#include "tessera/db.h"

//  "Given name Surname" or the legal name, in UTF-8.
#define ENROLLMENT_WHO_SIZE (4 * ENROLLMENT_LEGAL_NAME_MAX + 2)

typedef struct {
    char dossier_id [ENROLLMENT_ID_SIZE];
    char organisation_id [ENROLLMENT_ID_SIZE];
    char person_id [ENROLLMENT_ID_SIZE];    //  "" for the organisation's dossier
    int state;                              //  DossierState
    char who [ENROLLMENT_WHO_SIZE];
    enrollment_defect_t defects [ENROLLMENT_DEFECTS_MAX];
    size_t defect_count;
} enrollment_completeness_t;

//  Checks the dossier at level (PolicyLevel, 0: **) as of now_unix.
//  1 when checked, 0 when there is no such dossier, -1 on a database or
//  memory failure.
int enrollment_completeness_check (tsr_db_t *db, const char *dossier_id, int level, int64_t now_unix,
                                   enrollment_completeness_t *result);

//  The organisation's current dossier into dossier_id. 1, 0 (none), -1.
int enrollment_organisation_dossier (tsr_db_t *db, const char *organisation_id,
                                     char dossier_id [ENROLLMENT_ID_SIZE]);

//  The result's defects as DossierDefect messages (arena-owned) into
//  defects [0 .. defect_count), card_request_id set when given. 0, or -1.
int enrollment_completeness_defects (enrollment_arena_t *arena, const enrollment_completeness_t *result,
                                     const char *card_request_id, Tessera__V1__DossierDefect **defects);

#endif
