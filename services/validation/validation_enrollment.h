/*  validation_enrollment: validation's client to enrollment, which keeps
    the card requests, persons, organisations, dossiers and operators.

    The typed calls validation makes to enrollment, through common's
    tsr_peer (tessera/peer.h): the same contract as tsr_peer_call.
*/
#ifndef VALIDATION_ENROLLMENT_H
#define VALIDATION_ENROLLMENT_H

#include <czmq.h>
#include "tessera/bus.h"
#include "tessera/peer.h"
#include "tessera/v1/enrollment.pb-c.h"

//  The typed calls validation makes (same contract).
tsr_status_t validation_enrollment_card_request (tsr_peer_t *self,
                                                 const char *trace_id, const char *card_request_id,
                                                 Tessera__V1__CardRequest **reply_p,
                                                 char *message, size_t message_size);
tsr_status_t validation_enrollment_operator_by_key (tsr_peer_t *self,
                                                    const char *trace_id, const char *public_key,
                                                    Tessera__V1__Operator **reply_p,
                                                    char *message, size_t message_size);
tsr_status_t validation_enrollment_person (tsr_peer_t *self, const char *trace_id,
                                           const char *person_id, Tessera__V1__Person **reply_p,
                                           char *message, size_t message_size);
tsr_status_t validation_enrollment_organisation (tsr_peer_t *self,
                                                 const char *trace_id, const char *organisation_id,
                                                 Tessera__V1__Organisation **reply_p,
                                                 char *message, size_t message_size);
tsr_status_t validation_enrollment_batch (tsr_peer_t *self, const char *trace_id,
                                          const char *batch_id, Tessera__V1__Batch **reply_p,
                                          char *message, size_t message_size);
tsr_status_t validation_enrollment_check_dossier (tsr_peer_t *self,
                                                  const char *trace_id, const char *dossier_id,
                                                  Tessera__V1__PolicyLevel level,
                                                  Tessera__V1__DossierCheck **reply_p,
                                                  char *message, size_t message_size);
tsr_status_t validation_enrollment_submitted (tsr_peer_t *self, const char *trace_id,
                                              const char *batch_id, const char *organisation_id,
                                              uint32_t limit, const char *page_token,
                                              Tessera__V1__ListCardRequestsReply **reply_p,
                                              char *message, size_t message_size);

#endif
