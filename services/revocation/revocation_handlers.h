/*  The revocation service's bus methods (table in main.c). Each runs
    inside the request's transaction (see tsr_call_t); call->state is the
    revocation_state_t.
*/
#ifndef REVOCATION_HANDLERS_H
#define REVOCATION_HANDLERS_H

#include "tessera/bus.h"

//  Channels (revocation_online.c, revocation_phone.c,
//  revocation_phone_record.c, revocation_paper.c).
tsr_status_t revocation_handle_revoke_online (tsr_call_t *call);
tsr_status_t revocation_handle_start_phone (tsr_call_t *call);
tsr_status_t revocation_handle_answer_phone (tsr_call_t *call);
tsr_status_t revocation_handle_record_phone (tsr_call_t *call);
tsr_status_t revocation_handle_record_paper (tsr_call_t *call);

//  Decision (revocation_decide.c).
tsr_status_t revocation_handle_decide (tsr_call_t *call);

//  Reads (revocation_read.c; revocation_lockout.c; revocation_archive.c).
tsr_status_t revocation_handle_get (tsr_call_t *call);
tsr_status_t revocation_handle_list (tsr_call_t *call);
tsr_status_t revocation_handle_phone_status (tsr_call_t *call);
tsr_status_t revocation_handle_export_archive (tsr_call_t *call);

#endif
