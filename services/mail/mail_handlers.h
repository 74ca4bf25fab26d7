/*  The mail service's bus methods (table in main.c). Each runs inside the
    request's transaction (see tsr_call_t); call->state is the
    mail_state_t.
*/
#ifndef MAIL_HANDLERS_H
#define MAIL_HANDLERS_H

#include "tessera/bus.h"
#include "tessera/v1/mail.pb-c.h"

//  The e-mail outbox (mail_emails.c, mail_sweep.c).
tsr_status_t mail_handle_list_emails (tsr_call_t *call);
tsr_status_t mail_handle_get_email (tsr_call_t *call);
tsr_status_t mail_handle_requeue_email (tsr_call_t *call);
tsr_status_t mail_handle_run_expiry_sweep (tsr_call_t *call);

//  Postal shipments (mail_shipments_prepare.c, mail_shipments_state.c,
//  mail_pin_mailer.c, mail_shipments_read.c).
tsr_status_t mail_handle_prepare_shipment (tsr_call_t *call);
tsr_status_t mail_handle_release_pin_mailer (tsr_call_t *call);
tsr_status_t mail_handle_set_shipment_state (tsr_call_t *call);
tsr_status_t mail_handle_get_shipment (tsr_call_t *call);
tsr_status_t mail_handle_list_shipments (tsr_call_t *call);

//  Acceptance returns (mail_acceptances.c).
tsr_status_t mail_handle_record_acceptance (tsr_call_t *call);
tsr_status_t mail_handle_list_acceptances (tsr_call_t *call);

//  The pure first steps: every bound of a request that needs no database.
//  STATUS_OK, or the refusal with the call's message set. The handlers call
//  them first; so does tests/fuzz/fuzz_payload_mail.c.
tsr_status_t mail_prepare_shipment_check (tsr_call_t *call,
                                          const Tessera__V1__PrepareShipmentRequest *request);
tsr_status_t mail_shipment_state_check (tsr_call_t *call,
                                        const Tessera__V1__SetShipmentStateRequest *request);
//  The fields for the request's channel, and the caller's roles for it.
tsr_status_t mail_acceptance_check (tsr_call_t *call,
                                    const Tessera__V1__RecordAcceptanceRequest *request,
                                    int64_t now);

#endif
