/*  The perso service's bus methods (table in main.c). Each runs inside
    the request's transaction (see tsr_call_t); call->state is the
    perso_state_t.
*/
#ifndef PERSO_HANDLERS_H
#define PERSO_HANDLERS_H

#include "tessera/bus.h"
#include "tessera/v1/events.pb-c.h"
#include "tessera/v1/perso.pb-c.h"

//  Jobs (perso_handle_jobs.c, perso_handle_job_reads.c).
tsr_status_t perso_handle_list_readers (tsr_call_t *call);
tsr_status_t perso_handle_start_job (tsr_call_t *call);
tsr_status_t perso_handle_retry_job (tsr_call_t *call);
tsr_status_t perso_handle_abandon_job (tsr_call_t *call);
tsr_status_t perso_handle_get_job (tsr_call_t *call);
tsr_status_t perso_handle_list_jobs (tsr_call_t *call);

//  Cards (perso_handle_cards.c).
tsr_status_t perso_handle_get_card (tsr_call_t *call);
tsr_status_t perso_handle_list_cards (tsr_call_t *call);
tsr_status_t perso_handle_list_transitions (tsr_call_t *call);
tsr_status_t perso_handle_change_card_state (tsr_call_t *call);

//  Activation (perso_handle_activation.c).
tsr_status_t perso_handle_activate_card (tsr_call_t *call);
tsr_status_t perso_handle_reissue_code (tsr_call_t *call);

//  Software certificates, level * (perso_handle_software.c, perso_pkcs12.c).
tsr_status_t perso_handle_issue_from_csr (tsr_call_t *call);
tsr_status_t perso_handle_issue_pkcs12 (tsr_call_t *call);

//  Mail's events (perso_follow.c): "card.shipped", "shipment.returned".
int perso_follow_mail (void *state, tsr_db_t *db, const Tessera__V1__Event *event);

//  The pure first steps: every bound of a request that needs no database.
//  STATUS_OK, or the refusal with the call's message set. The handlers call
//  them first; so does tests/fuzz/fuzz_payload_perso.c.
tsr_status_t perso_start_job_check (tsr_call_t *call, const Tessera__V1__StartJobRequest *in);
tsr_status_t perso_change_card_state_check (tsr_call_t *call,
                                            const Tessera__V1__ChangeCardStateRequest *in);
tsr_status_t perso_activate_card_check (tsr_call_t *call,
                                        const Tessera__V1__ActivateCardRequest *in);
tsr_status_t perso_issue_from_csr_check (tsr_call_t *call,
                                         const Tessera__V1__IssueFromCsrRequest *in);
//  The password: PERSO_PASSWORD_MIN to _MAX characters of UTF-8.
tsr_status_t perso_issue_pkcs12_check (tsr_call_t *call,
                                       const Tessera__V1__IssuePkcs12Request *in);

#endif
