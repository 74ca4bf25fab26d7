/*  The ca service's bus methods (table in main.c). Each runs inside the
    request's transaction (see tsr_call_t); call->state is the ca_state_t.
*/
#ifndef CA_HANDLERS_H
#define CA_HANDLERS_H

#include "tessera/bus.h"

tsr_status_t ca_handle_ceremony (tsr_call_t *call);
tsr_status_t ca_handle_activate (tsr_call_t *call);
tsr_status_t ca_handle_deactivate (tsr_call_t *call);
tsr_status_t ca_handle_activation_status (tsr_call_t *call);
tsr_status_t ca_handle_issue (tsr_call_t *call);
tsr_status_t ca_handle_revoke (tsr_call_t *call);
tsr_status_t ca_handle_get_status (tsr_call_t *call);
tsr_status_t ca_handle_get_certificate (tsr_call_t *call);
tsr_status_t ca_handle_ca_certificates (tsr_call_t *call);
tsr_status_t ca_handle_sign_crl (tsr_call_t *call);
tsr_status_t ca_handle_list_revoked (tsr_call_t *call);

#endif
