/*  publisher_handlers: the publisher's bus methods (publisher.proto).
    Who may call what is in main.c's table and docs/publisher.md.
*/
#ifndef PUBLISHER_HANDLERS_H
#define PUBLISHER_HANDLERS_H

#include "publisher_state.h"
#include "publisher_store.h"
#include "tessera/bus.h"
#include "tessera/v1/publisher.pb-c.h"

tsr_status_t publisher_handle_get_crl (tsr_call_t *call);
tsr_status_t publisher_handle_list_crls (tsr_call_t *call);
tsr_status_t publisher_handle_publish_now (tsr_call_t *call);
tsr_status_t publisher_handle_status (tsr_call_t *call);

//  Strings a CrlInfo points to (it borrows them).
typedef struct {
    char name [24];
    char url [320];
} publisher_crl_info_text_t;

//  Fills info from row (without DER), borrowing text.
void publisher_crl_info (publisher_state_t *state, const publisher_crl_row_t *row,
                         Tessera__V1__CrlInfo *info, publisher_crl_info_text_t *text);

//  ListCrls' pure first step: every bound of the request that needs no
//  database; the page token read into *generated and *number (0 and 0 for
//  the first page). STATUS_OK, or the refusal with the call's message set.
//  The handler calls it first; so does tests/fuzz/fuzz_payload_publisher.c.
tsr_status_t publisher_list_crls_check (tsr_call_t *call, const Tessera__V1__ListCrlsRequest *request,
                                        long long *generated, unsigned long long *number);

#endif
