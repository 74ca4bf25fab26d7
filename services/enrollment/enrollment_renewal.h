/*  enrollment_renewal: what CreateCardRequest checks for a RENEWAL or a
    REPLACEMENT request (docs/enrollment.md, "Renewal and replacement").

    The previous request must be the same person's, for a card, validated
    or completed, and not renewed or replaced already by a live request;
    the level is the previous one. The request is justified by the person's
    open dossier when one was opened since (checked at submission as any),
    otherwise by the previous request's dossier when it is still valid:
    an identity document not expired and, at levels ** and ***, a
    face-to-face report younger than ENROLLMENT_FACE_TO_FACE_MAX_DAYS (the
    holder certificates' 3-year lifetime). At ** and *** a renewal on a
    reused dossier whose previous request was itself such a renewal is
    refused: the next renewal needs a new dossier.
*/
#ifndef ENROLLMENT_RENEWAL_H
#define ENROLLMENT_RENEWAL_H

#include "tessera/bus.h"
#include "tessera/v1/enrollment.pb-c.h"

#include <stdbool.h>

#define ENROLLMENT_FACE_TO_FACE_MAX_DAYS 1095

//  Bounds of kind, previous_card_request_id and replacement_reason, no
//  database. ENROLLMENT_OK or the refusal.
tsr_status_t enrollment_renewal_check_fields (tsr_call_t *call,
                                              const Tessera__V1__CreateCardRequestRequest *request);

//  For a RENEWAL or REPLACEMENT (fields checked): locks and checks the
//  previous request, settles *level (0 in: the previous one) and the
//  dossier: open_dossier_id is the person's open dossier ("" for none);
//  dossier_id receives the one that justifies the request, *reused whether
//  it is the previous request's. ENROLLMENT_OK or the refusal.
tsr_status_t enrollment_renewal_prepare (tsr_call_t *call,
                                         const Tessera__V1__CreateCardRequestRequest *request,
                                         const char *open_dossier_id, int *level,
                                         char *dossier_id, bool *reused);

//  Why a reused dossier is no longer valid ("" when it is), pure: level,
//  whether an identity document is valid now, the age in days of the
//  newest face-to-face report (-1: none).
void enrollment_renewal_dossier_defect (int level, bool identity_valid, long face_to_face_age_days,
                                        char *why, size_t why_size);

#endif
