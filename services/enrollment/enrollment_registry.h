/*  enrollment_registry: the handlers of the registry's methods, one file
    per group, gathered in the method table of enrollment_registry.c with
    the roles each admits.

    enrollment_organisations.c  RegisterOrganisation, UpdateOrganisation,
                                GetOrganisation, ListOrganisations
    enrollment_persons.c        RegisterPerson, UpdatePerson, GetPerson,
                                ListPersons
    enrollment_dossiers.c       OpenDossier, GetDossier, ListDossiers,
                                CheckDossier
    enrollment_documents.c      RecordDocument, WithdrawDocument
    enrollment_requests.c       CreateCardRequest, CancelCardRequest,
                                GetCardRequest, ListCardRequests
    enrollment_batches.c        CreateBatch, GetBatch, ListBatches
    enrollment_submission.c     CheckBatch, SubmitBatch
    enrollment_archive.c        ExportDossierArchive
    enrollment_decisions.c      validation's decisions, applied from its events
*/
#ifndef ENROLLMENT_REGISTRY_H
#define ENROLLMENT_REGISTRY_H

#include "tessera/bus.h"
#include "tessera/v1/enrollment.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

tsr_status_t enrollment_register_organisation (tsr_call_t *call);
tsr_status_t enrollment_update_organisation (tsr_call_t *call);
tsr_status_t enrollment_get_organisation (tsr_call_t *call);
tsr_status_t enrollment_list_organisations (tsr_call_t *call);

tsr_status_t enrollment_register_person (tsr_call_t *call);
tsr_status_t enrollment_update_person (tsr_call_t *call);
tsr_status_t enrollment_get_person (tsr_call_t *call);
tsr_status_t enrollment_list_persons (tsr_call_t *call);

tsr_status_t enrollment_open_dossier (tsr_call_t *call);
tsr_status_t enrollment_get_dossier (tsr_call_t *call);
tsr_status_t enrollment_list_dossiers (tsr_call_t *call);
tsr_status_t enrollment_check_dossier (tsr_call_t *call);

tsr_status_t enrollment_record_document (tsr_call_t *call);
tsr_status_t enrollment_withdraw_document (tsr_call_t *call);

tsr_status_t enrollment_create_card_request (tsr_call_t *call);
tsr_status_t enrollment_cancel_card_request (tsr_call_t *call);
tsr_status_t enrollment_get_card_request (tsr_call_t *call);
tsr_status_t enrollment_list_card_requests (tsr_call_t *call);

tsr_status_t enrollment_create_batch (tsr_call_t *call);
tsr_status_t enrollment_get_batch (tsr_call_t *call);
tsr_status_t enrollment_list_batches (tsr_call_t *call);
tsr_status_t enrollment_check_batch (tsr_call_t *call);
tsr_status_t enrollment_submit_batch (tsr_call_t *call);

tsr_status_t enrollment_export_dossier_archive (tsr_call_t *call);

//  Replies with the stored entity (read back in the call's transaction),
//  text as the status message; NOT_FOUND when there is none.
tsr_status_t enrollment_reply_organisation (tsr_call_t *call, const char *organisation_id, const char *text);
tsr_status_t enrollment_reply_person (tsr_call_t *call, const char *person_id, const char *text);
tsr_status_t enrollment_reply_dossier (tsr_call_t *call, const char *dossier_id, const char *text);
tsr_status_t enrollment_reply_batch (tsr_call_t *call, const char *batch_id, const char *text);
tsr_status_t enrollment_reply_card_request (tsr_call_t *call, const char *card_request_id, const char *text);

//  Opens a new dossier for the organisation (person_id NULL) or a person,
//  in the call's transaction, with its audit row and "dossier.opened"
//  event. 0 with the id, or -1 (database).
int enrollment_dossier_open (tsr_call_t *call, const char *organisation_id, const char *person_id,
                             const char *operator_id, char *dossier_id);

//  The audit row (action) and the CardRequestChanged event (event_type) of
//  a change to a card request, with its state as stored now. reason may be
//  NULL. 0, or -1.
int enrollment_card_request_record (tsr_db_t *db, const char *actor, const char *trace_id,
                                    const char *card_request_id, const char *action,
                                    const char *event_type, const char *reason);

//  A submitted batch none of whose requests awaits a decision any more
//  becomes decided ("batch.decided"). 0 (also when nothing changed), or -1.
int enrollment_batch_settle (tsr_db_t *db, const char *actor, const char *trace_id,
                             const char *batch_id);

//  The pure first steps: every bound of a request that needs no database.
//  STATUS_OK, or the refusal with the call's message set. The handlers call
//  them first; so does tests/fuzz/fuzz_payload_enrollment.c.
tsr_status_t enrollment_organisation_check (tsr_call_t *call,
                                            const Tessera__V1__RegisterOrganisationRequest *request);
tsr_status_t enrollment_person_check (tsr_call_t *call,
                                      const Tessera__V1__RegisterPersonRequest *request);
//  now: the time dates are checked against (unix seconds).
tsr_status_t enrollment_document_check (tsr_call_t *call,
                                        const Tessera__V1__RecordDocumentRequest *request,
                                        int64_t now);
//  *level gets the request's level (UNSPECIFIED read as **), the flags its
//  uses.
tsr_status_t enrollment_card_request_check (tsr_call_t *call,
                                            const Tessera__V1__CreateCardRequestRequest *request,
                                            int *level, bool *authentication, bool *signature);

#endif
