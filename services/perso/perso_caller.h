/*  perso_caller: what a handler learns from other services about its
    caller and its request, and refusals that leave a trace.

    - The operator behind the caller's key (enrollment GetOperator), for
      the records that name who started a job or changed a card.
    - The validated card request (enrollment GetCardRequest), its holder
      and organisation (GetPerson, GetOrganisation: the certificates'
      subject) and the holder's account (validation GetDecision).
    - Refusals that must be kept although the handler's transaction rolls
      back (a portal call for another holder's card, a transition the
      caller's roles do not allow): written in a transaction of their own
      on the state's side connection, before the handler answers, while
      its own transaction has written nothing.
*/
#ifndef PERSO_CALLER_H
#define PERSO_CALLER_H

#include "perso_job.h"
#include "tessera/bus.h"
#include "tessera/json.h"
#include "tessera/v1/enrollment.pb-c.h"

//  The caller's operator id into operator_id (the key itself for a
//  service's key). STATUS_OK, or the refusal already set on call.
tsr_status_t perso_caller_operator (tsr_call_t *call, char operator_id [PERSO_ID_MAX + 1]);

//  Audit row action/subject with *json_p (consumed) in its own transaction.
void perso_refusal_record (tsr_call_t *call, const char *action, const char *subject,
                           tsr_json_t **json_p);

//  The card request, checked well formed. STATUS_OK and *request_p
//  (caller frees), or the refusal set on call (NOT_FOUND, UNAVAILABLE).
tsr_status_t perso_fetch_request (tsr_call_t *call, const char *card_request_id,
                                  Tessera__V1__CardRequest **request_p);
//  It must be VALIDATED, and (software) a software request at level *, or
//  (!software) a card request. STATUS_OK or FAILED_PRECONDITION set.
tsr_status_t perso_request_usable (tsr_call_t *call, const Tessera__V1__CardRequest *request,
                                   bool software);

//  The subject's fields from enrollment. STATUS_OK, or the refusal set.
typedef struct {
    char given_name [PERSO_NAME_MAX + 1];
    char surname [PERSO_NAME_MAX + 1];
    char organization [PERSO_NAME_MAX + 1];
    char organization_id [15];
    char email [PERSO_EMAIL_MAX + 1];   //  the holder's at enrollment, may be empty
} perso_subject_t;
tsr_status_t perso_fetch_subject (tsr_call_t *call, const Tessera__V1__CardRequest *request,
                                  perso_subject_t *subject);

//  The holder's account from validation's decision on the request (may
//  be empty). STATUS_OK, or the refusal set.
tsr_status_t perso_fetch_account (tsr_call_t *call, const char *card_request_id,
                                  char account_id [PERSO_ID_MAX + 1]);

#endif
