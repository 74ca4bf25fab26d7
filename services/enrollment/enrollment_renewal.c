/*  enrollment_renewal: the checks of a RENEWAL or REPLACEMENT request (see
    enrollment_renewal.h and docs/enrollment.md).
*/
#include "enrollment_renewal.h"
#include "enrollment_calls.h"
#include "enrollment_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NEW TESSERA__V1__CARD_REQUEST_KIND__CARD_REQUEST_KIND_NEW
#define S_RENEWAL TESSERA__V1__CARD_REQUEST_KIND__CARD_REQUEST_KIND_RENEWAL
#define S_REPLACEMENT TESSERA__V1__CARD_REQUEST_KIND__CARD_REQUEST_KIND_REPLACEMENT
#define S_VALIDATED 3
#define S_COMPLETED 6

tsr_status_t
enrollment_renewal_check_fields (tsr_call_t *call,
                                 const Tessera__V1__CreateCardRequestRequest *request)
{
    int kind = request->kind ? (int) request->kind : S_NEW;
    if (kind < S_NEW || kind > S_REPLACEMENT)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "kind: a CardRequestKind");
    if (kind == S_NEW) {
        if (*request->previous_card_request_id || request->replacement_reason)
            return tsr_call_fail (call, ENROLLMENT_INVALID, "previous_card_request_id,"
                                  " replacement_reason: only for a renewal or a replacement");
        return ENROLLMENT_OK;
    }
    if (!enrollment_id_valid (request->previous_card_request_id, "req-"))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "previous_card_request_id: req- and 16 hex"
                              " digits, required for a renewal or a replacement");
    if (request->software_certificate)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "software_certificate: a renewal or a"
                              " replacement is for a card");
    if (kind == S_RENEWAL && request->replacement_reason)
        return tsr_call_fail (call, ENROLLMENT_INVALID, "replacement_reason: only for a replacement");
    if (kind == S_REPLACEMENT
    &&  (request->replacement_reason < TESSERA__V1__REPLACEMENT_REASON__REPLACEMENT_REASON_LOST
    ||   request->replacement_reason > TESSERA__V1__REPLACEMENT_REASON__REPLACEMENT_REASON_DAMAGED))
        return tsr_call_fail (call, ENROLLMENT_INVALID, "replacement_reason: LOST, STOLEN or DAMAGED,"
                              " required for a replacement");
    return ENROLLMENT_OK;
}

void
enrollment_renewal_dossier_defect (int level, bool identity_valid, long face_to_face_age_days,
                                   char *why, size_t why_size)
{
    *why = 0;
    if (!identity_valid)
        snprintf (why, why_size, "its identity document has expired");
    else
    if (level >= TESSERA__V1__POLICY_LEVEL__POLICY_LEVEL_TWO_STARS && face_to_face_age_days < 0)
        snprintf (why, why_size, "it holds no face-to-face report");
    else
    if (level >= TESSERA__V1__POLICY_LEVEL__POLICY_LEVEL_TWO_STARS
    &&  face_to_face_age_days >= ENROLLMENT_FACE_TO_FACE_MAX_DAYS)
        snprintf (why, why_size, "its face-to-face report is %ld days old (%d at most)",
                  face_to_face_age_days, ENROLLMENT_FACE_TO_FACE_MAX_DAYS);
}

//  Is the previous request's dossier still valid at level? ENROLLMENT_OK
//  or the refusal.
static tsr_status_t
s_dossier_valid (tsr_call_t *call, const char *dossier_id, int level)
{
    const char *values [] = { dossier_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT EXISTS (SELECT 1 FROM documents WHERE dossier_id = $1 AND type = 4"
        "   AND NOT withdrawn AND expires_at > now()),"
        " coalesce((SELECT floor(extract(epoch FROM now() - max(coalesce(issued_at, received_at)))"
        "   / 86400)::bigint FROM documents WHERE dossier_id = $1 AND type = 5 AND NOT withdrawn), -1)",
        1, values);
    if (!res)
        return enrollment_db_failed (call, "read the dossier's documents");
    char why [128];
    enrollment_renewal_dossier_defect (level, strcmp (PQgetvalue (res, 0, 0), "t") == 0,
                                       strtol (PQgetvalue (res, 0, 1), NULL, 10), why, sizeof why);
    PQclear (res);
    if (!*why)
        return ENROLLMENT_OK;
    return tsr_call_fail (call, ENROLLMENT_PRECONDITION, "dossier %s is no longer valid: %s; open a"
                          " new dossier and record its documents", dossier_id, why);
}

tsr_status_t
enrollment_renewal_prepare (tsr_call_t *call, const Tessera__V1__CreateCardRequestRequest *request,
                            const char *open_dossier_id, int *level, char *dossier_id,
                            bool *reused)
{
    const char *previous_id = request->previous_card_request_id;
    const char *values [] = { previous_id };
    PGresult *res = tsr_db_query (call->db,
        "SELECT person_id, level, state, kind, dossier_id, software_certificate, dossier_reused,"
        " coalesce((SELECT n.card_request_id FROM card_requests n WHERE"
        "   n.previous_card_request_id = r.card_request_id AND n.state NOT IN (4, 5)), '')"
        " FROM card_requests r WHERE card_request_id = $1 FOR UPDATE", 1, values);
    if (!res)
        return enrollment_db_failed (call, "read the previous card request");
    tsr_status_t status = ENROLLMENT_OK;
    bool renewal = request->kind == S_RENEWAL;
    const char *what = renewal ? "renewed" : "replaced";
    int previous_level = 0, state = 0, previous_kind = 0;
    if (PQntuples (res) == 0) {
        status = tsr_call_fail (call, ENROLLMENT_NOT_FOUND, "previous_card_request_id: no card"
                                " request %s", previous_id);
        goto done;
    }
    previous_level = (int) strtol (PQgetvalue (res, 0, 1), NULL, 10);
    state = (int) strtol (PQgetvalue (res, 0, 2), NULL, 10);
    previous_kind = (int) strtol (PQgetvalue (res, 0, 3), NULL, 10);
    if (strcmp (PQgetvalue (res, 0, 0), request->person_id) != 0)
        status = tsr_call_fail (call, ENROLLMENT_INVALID, "previous_card_request_id: %s is not"
                                " person %s's", previous_id, request->person_id);
    else
    if (strcmp (PQgetvalue (res, 0, 5), "t") == 0)
        status = tsr_call_fail (call, ENROLLMENT_PRECONDITION, "card request %s is for software"
                                " certificates: no card to be %s", previous_id, what);
    else
    if (state != S_VALIDATED && state != S_COMPLETED)
        status = tsr_call_fail (call, ENROLLMENT_PRECONDITION, "card request %s was never"
                                " validated: no card to be %s", previous_id, what);
    else
    if (*PQgetvalue (res, 0, 7))
        status = tsr_call_fail (call, ENROLLMENT_EXISTS, "card request %s is %s already by %s",
                                previous_id, what, PQgetvalue (res, 0, 7));
    else
    if (request->level && (int) request->level != previous_level)
        status = tsr_call_fail (call, ENROLLMENT_PRECONDITION, "level: card request %s is at level"
                                " %d; another level needs a new request (kind NEW)", previous_id,
                                previous_level);
    if (status != ENROLLMENT_OK)
        goto done;
    *level = previous_level;
    const char *previous_dossier = PQgetvalue (res, 0, 4);
    if (*open_dossier_id && strcmp (open_dossier_id, previous_dossier) != 0) {
        //  A new dossier was opened since: it justifies the request, checked
        //  at submission as any (its face-to-face report included).
        snprintf (dossier_id, ENROLLMENT_ID_SIZE, "%s", open_dossier_id);
        *reused = false;
        goto done;
    }
    if (renewal && previous_level >= TESSERA__V1__POLICY_LEVEL__POLICY_LEVEL_TWO_STARS
    &&  previous_kind == S_RENEWAL && strcmp (PQgetvalue (res, 0, 6), "t") == 0) {
        status = tsr_call_fail (call, ENROLLMENT_PRECONDITION, "renewal refused: %s was itself"
                                " renewed without a new face-to-face meeting; at level %s the next"
                                " renewal needs a new dossier", previous_id,
                                previous_level == 2 ? "**" : "***");
        goto done;
    }
    if ((status = s_dossier_valid (call, previous_dossier, previous_level)) != ENROLLMENT_OK)
        goto done;
    snprintf (dossier_id, ENROLLMENT_ID_SIZE, "%s", previous_dossier);
    *reused = true;
done:
    PQclear (res);
    return status;
}
