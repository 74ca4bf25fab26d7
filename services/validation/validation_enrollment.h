/*  validation_enrollment: validation's client to enrollment, which keeps
    the card requests, persons, organisations, dossiers and operators.

    Calls go out under the validation service's own key (TSR_ROLE_SERVICE
    at enrollment), on one DEALER guarded by a mutex: bus clients are not
    thread-safe, and the workers share this one. Each call carries the
    caller's trace id. Replies are unpacked into the message type the
    method returns; the caller frees them.

    Configuration (the same variables common's role client reads):
    TSR_ENROLLMENT_ENDPOINT, TSR_ENROLLMENT_CERT, and
    TSR_ENROLLMENT_TIMEOUT_MS (per attempt, default 5000; one retry with the
    same request id).
*/
#ifndef VALIDATION_ENROLLMENT_H
#define VALIDATION_ENROLLMENT_H

#include <czmq.h>
#include "tessera/bus.h"
#include "tessera/v1/enrollment.pb-c.h"

typedef struct _validation_enrollment_t validation_enrollment_t;

//  cert: the validation service's certificate (borrowed, outlives the client).
validation_enrollment_t *validation_enrollment_new (const char *endpoint, zcert_t *cert,
                                                    const char *server_public_key,
                                                    int timeout_ms);
void validation_enrollment_destroy (validation_enrollment_t **self_p);

//  Calls method(request). On STATUS_OK, *reply_p is the reply unpacked as
//  reply_descriptor (free with protobuf_c_message_free_unpacked). Returns
//  enrollment's status, with its message in message; UNAVAILABLE when
//  enrollment did not answer or its reply does not decode.
tsr_status_t validation_enrollment_call (validation_enrollment_t *self, const char *method,
                                         const ProtobufCMessage *request,
                                         const ProtobufCMessageDescriptor *reply_descriptor,
                                         const char *trace_id, ProtobufCMessage **reply_p,
                                         char *message, size_t message_size);

//  The typed calls validation makes (same contract).
tsr_status_t validation_enrollment_card_request (validation_enrollment_t *self,
                                                 const char *trace_id, const char *card_request_id,
                                                 Tessera__V1__CardRequest **reply_p,
                                                 char *message, size_t message_size);
tsr_status_t validation_enrollment_operator_by_key (validation_enrollment_t *self,
                                                    const char *trace_id, const char *public_key,
                                                    Tessera__V1__Operator **reply_p,
                                                    char *message, size_t message_size);
tsr_status_t validation_enrollment_person (validation_enrollment_t *self, const char *trace_id,
                                           const char *person_id, Tessera__V1__Person **reply_p,
                                           char *message, size_t message_size);
tsr_status_t validation_enrollment_organisation (validation_enrollment_t *self,
                                                 const char *trace_id, const char *organisation_id,
                                                 Tessera__V1__Organisation **reply_p,
                                                 char *message, size_t message_size);
tsr_status_t validation_enrollment_batch (validation_enrollment_t *self, const char *trace_id,
                                          const char *batch_id, Tessera__V1__Batch **reply_p,
                                          char *message, size_t message_size);
tsr_status_t validation_enrollment_check_dossier (validation_enrollment_t *self,
                                                  const char *trace_id, const char *dossier_id,
                                                  Tessera__V1__PolicyLevel level,
                                                  Tessera__V1__DossierCheck **reply_p,
                                                  char *message, size_t message_size);
tsr_status_t validation_enrollment_submitted (validation_enrollment_t *self, const char *trace_id,
                                              const char *batch_id, const char *organisation_id,
                                              uint32_t limit, const char *page_token,
                                              Tessera__V1__ListCardRequestsReply **reply_p,
                                              char *message, size_t message_size);

#endif
