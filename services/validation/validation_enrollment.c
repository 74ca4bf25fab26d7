/*  validation_enrollment: calls to enrollment (see validation_enrollment.h).
*/
#include "validation_enrollment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tsr_status_t
validation_enrollment_card_request (tsr_peer_t *self, const char *trace_id,
                                    const char *card_request_id,
                                    Tessera__V1__CardRequest **reply_p,
                                    char *message, size_t message_size)
{
    Tessera__V1__GetCardRequestRequest request = TESSERA__V1__GET_CARD_REQUEST_REQUEST__INIT;
    request.card_request_id = (char *) card_request_id;
    return tsr_peer_call (self, "GetCardRequest", &request.base,
                          &tessera__v1__card_request__descriptor, NULL, trace_id,
                          (ProtobufCMessage **) reply_p, message, message_size);
}

tsr_status_t
validation_enrollment_operator_by_key (tsr_peer_t *self, const char *trace_id,
                                       const char *public_key, Tessera__V1__Operator **reply_p,
                                       char *message, size_t message_size)
{
    Tessera__V1__GetOperatorRequest request = TESSERA__V1__GET_OPERATOR_REQUEST__INIT;
    request.public_key = (char *) public_key;
    return tsr_peer_call (self, "GetOperator", &request.base,
                          &tessera__v1__operator__descriptor, NULL, trace_id,
                          (ProtobufCMessage **) reply_p, message, message_size);
}

tsr_status_t
validation_enrollment_person (tsr_peer_t *self, const char *trace_id,
                              const char *person_id, Tessera__V1__Person **reply_p,
                              char *message, size_t message_size)
{
    Tessera__V1__GetPersonRequest request = TESSERA__V1__GET_PERSON_REQUEST__INIT;
    request.person_id = (char *) person_id;
    return tsr_peer_call (self, "GetPerson", &request.base,
                          &tessera__v1__person__descriptor, NULL, trace_id,
                          (ProtobufCMessage **) reply_p, message, message_size);
}

tsr_status_t
validation_enrollment_organisation (tsr_peer_t *self, const char *trace_id,
                                    const char *organisation_id,
                                    Tessera__V1__Organisation **reply_p,
                                    char *message, size_t message_size)
{
    Tessera__V1__GetOrganisationRequest request = TESSERA__V1__GET_ORGANISATION_REQUEST__INIT;
    request.organisation_id = (char *) organisation_id;
    return tsr_peer_call (self, "GetOrganisation", &request.base,
                          &tessera__v1__organisation__descriptor, NULL, trace_id,
                          (ProtobufCMessage **) reply_p, message, message_size);
}

tsr_status_t
validation_enrollment_batch (tsr_peer_t *self, const char *trace_id,
                             const char *batch_id, Tessera__V1__Batch **reply_p,
                             char *message, size_t message_size)
{
    Tessera__V1__GetBatchRequest request = TESSERA__V1__GET_BATCH_REQUEST__INIT;
    request.batch_id = (char *) batch_id;
    return tsr_peer_call (self, "GetBatch", &request.base,
                          &tessera__v1__batch__descriptor, NULL, trace_id,
                          (ProtobufCMessage **) reply_p, message, message_size);
}

tsr_status_t
validation_enrollment_check_dossier (tsr_peer_t *self, const char *trace_id,
                                     const char *dossier_id, Tessera__V1__PolicyLevel level,
                                     Tessera__V1__DossierCheck **reply_p,
                                     char *message, size_t message_size)
{
    Tessera__V1__CheckDossierRequest request = TESSERA__V1__CHECK_DOSSIER_REQUEST__INIT;
    request.dossier_id = (char *) dossier_id;
    request.level = level;
    return tsr_peer_call (self, "CheckDossier", &request.base,
                          &tessera__v1__dossier_check__descriptor, NULL, trace_id,
                          (ProtobufCMessage **) reply_p, message, message_size);
}

tsr_status_t
validation_enrollment_submitted (tsr_peer_t *self, const char *trace_id,
                                 const char *batch_id, const char *organisation_id,
                                 uint32_t limit, const char *page_token,
                                 Tessera__V1__ListCardRequestsReply **reply_p,
                                 char *message, size_t message_size)
{
    Tessera__V1__ListCardRequestsRequest request = TESSERA__V1__LIST_CARD_REQUESTS_REQUEST__INIT;
    request.batch_id = (char *) batch_id;
    request.organisation_id = (char *) organisation_id;
    request.state = TESSERA__V1__CARD_REQUEST_STATE__CARD_REQUEST_STATE_SUBMITTED;
    request.limit = limit;
    request.page_token = (char *) page_token;
    return tsr_peer_call (self, "ListCardRequests", &request.base,
                          &tessera__v1__list_card_requests_reply__descriptor, NULL,
                          trace_id, (ProtobufCMessage **) reply_p, message,
                          message_size);
}
