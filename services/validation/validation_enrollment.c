/*  validation_enrollment: calls to enrollment (see validation_enrollment.h).
*/
#include "validation_enrollment.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _validation_enrollment_t {
    pthread_mutex_t lock;
    tsr_bus_client_t *client;
};

validation_enrollment_t *
validation_enrollment_new (const char *endpoint, zcert_t *cert, const char *server_public_key,
                           int timeout_ms)
{
    validation_enrollment_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init (&self->lock, NULL);
    self->client = tsr_bus_client_new (endpoint, cert, server_public_key, timeout_ms, 1);
    if (!self->client)
        validation_enrollment_destroy (&self);
    return self;
}

void
validation_enrollment_destroy (validation_enrollment_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    validation_enrollment_t *self = *self_p;
    tsr_bus_client_destroy (&self->client);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

tsr_status_t
validation_enrollment_call (validation_enrollment_t *self, const char *method,
                            const ProtobufCMessage *request,
                            const ProtobufCMessageDescriptor *reply_descriptor,
                            const char *trace_id, ProtobufCMessage **reply_p,
                            char *message, size_t message_size)
{
    *reply_p = NULL;
    size_t size = protobuf_c_message_get_packed_size (request);
    uint8_t *payload = malloc (size ? size : 1);
    if (!payload) {
        snprintf (message, message_size, "out of memory");
        return TESSERA__V1__STATUS__STATUS_INTERNAL;
    }
    protobuf_c_message_pack (request, payload);
    pthread_mutex_lock (&self->lock);
    tsr_envelope_t *reply = tsr_bus_client_call (self->client, method, payload, size, NULL,
                                                 trace_id && *trace_id ? trace_id : NULL);
    pthread_mutex_unlock (&self->lock);
    free (payload);
    tsr_status_t status = TESSERA__V1__STATUS__STATUS_UNAVAILABLE;
    if (!reply)
        snprintf (message, message_size, "enrollment did not answer %s", method);
    else
    if (reply->status != TESSERA__V1__STATUS__STATUS_OK) {
        status = reply->status;
        snprintf (message, message_size, "%s", reply->status_message);
    }
    else {
        *reply_p = protobuf_c_message_unpack (reply_descriptor, NULL, reply->payload.len,
                                              reply->payload.data);
        if (*reply_p)
            status = TESSERA__V1__STATUS__STATUS_OK;
        else
            snprintf (message, message_size, "enrollment's reply to %s does not decode", method);
    }
    tsr_envelope_free (&reply);
    return status;
}

tsr_status_t
validation_enrollment_card_request (validation_enrollment_t *self, const char *trace_id,
                                    const char *card_request_id,
                                    Tessera__V1__CardRequest **reply_p,
                                    char *message, size_t message_size)
{
    Tessera__V1__GetCardRequestRequest request = TESSERA__V1__GET_CARD_REQUEST_REQUEST__INIT;
    request.card_request_id = (char *) card_request_id;
    return validation_enrollment_call (self, "GetCardRequest", &request.base,
                                       &tessera__v1__card_request__descriptor, trace_id,
                                       (ProtobufCMessage **) reply_p, message, message_size);
}

tsr_status_t
validation_enrollment_operator_by_key (validation_enrollment_t *self, const char *trace_id,
                                       const char *public_key, Tessera__V1__Operator **reply_p,
                                       char *message, size_t message_size)
{
    Tessera__V1__GetOperatorRequest request = TESSERA__V1__GET_OPERATOR_REQUEST__INIT;
    request.public_key = (char *) public_key;
    return validation_enrollment_call (self, "GetOperator", &request.base,
                                       &tessera__v1__operator__descriptor, trace_id,
                                       (ProtobufCMessage **) reply_p, message, message_size);
}

tsr_status_t
validation_enrollment_person (validation_enrollment_t *self, const char *trace_id,
                              const char *person_id, Tessera__V1__Person **reply_p,
                              char *message, size_t message_size)
{
    Tessera__V1__GetPersonRequest request = TESSERA__V1__GET_PERSON_REQUEST__INIT;
    request.person_id = (char *) person_id;
    return validation_enrollment_call (self, "GetPerson", &request.base,
                                       &tessera__v1__person__descriptor, trace_id,
                                       (ProtobufCMessage **) reply_p, message, message_size);
}

tsr_status_t
validation_enrollment_organisation (validation_enrollment_t *self, const char *trace_id,
                                    const char *organisation_id,
                                    Tessera__V1__Organisation **reply_p,
                                    char *message, size_t message_size)
{
    Tessera__V1__GetOrganisationRequest request = TESSERA__V1__GET_ORGANISATION_REQUEST__INIT;
    request.organisation_id = (char *) organisation_id;
    return validation_enrollment_call (self, "GetOrganisation", &request.base,
                                       &tessera__v1__organisation__descriptor, trace_id,
                                       (ProtobufCMessage **) reply_p, message, message_size);
}

tsr_status_t
validation_enrollment_batch (validation_enrollment_t *self, const char *trace_id,
                             const char *batch_id, Tessera__V1__Batch **reply_p,
                             char *message, size_t message_size)
{
    Tessera__V1__GetBatchRequest request = TESSERA__V1__GET_BATCH_REQUEST__INIT;
    request.batch_id = (char *) batch_id;
    return validation_enrollment_call (self, "GetBatch", &request.base,
                                       &tessera__v1__batch__descriptor, trace_id,
                                       (ProtobufCMessage **) reply_p, message, message_size);
}

tsr_status_t
validation_enrollment_check_dossier (validation_enrollment_t *self, const char *trace_id,
                                     const char *dossier_id, Tessera__V1__PolicyLevel level,
                                     Tessera__V1__DossierCheck **reply_p,
                                     char *message, size_t message_size)
{
    Tessera__V1__CheckDossierRequest request = TESSERA__V1__CHECK_DOSSIER_REQUEST__INIT;
    request.dossier_id = (char *) dossier_id;
    request.level = level;
    return validation_enrollment_call (self, "CheckDossier", &request.base,
                                       &tessera__v1__dossier_check__descriptor, trace_id,
                                       (ProtobufCMessage **) reply_p, message, message_size);
}

tsr_status_t
validation_enrollment_submitted (validation_enrollment_t *self, const char *trace_id,
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
    return validation_enrollment_call (self, "ListCardRequests", &request.base,
                                       &tessera__v1__list_card_requests_reply__descriptor,
                                       trace_id, (ProtobufCMessage **) reply_p, message,
                                       message_size);
}
