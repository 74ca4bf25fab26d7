/*  publisher_ca: the publisher's client to the ca service, which signs its
    CRLs, certifies its OCSP responder key and tells each certificate's
    status.

    Calls go out under the publisher's own key (TSR_ROLE_SERVICE at the
    ca), on one DEALER guarded by a mutex: bus clients are not thread-safe,
    and the scheduler and the event consumer share this one. Replies are
    unpacked into the message type the method returns; the caller frees
    them.

    Configuration: TSR_CA_ENDPOINT, TSR_CA_CERT (the same the event
    consumer reads), TSR_CA_TIMEOUT_MS (per attempt, default 5000; one
    retry with the same request id).
*/
#ifndef PUBLISHER_CA_H
#define PUBLISHER_CA_H

#include <czmq.h>
#include "tessera/bus.h"
#include "tessera/config.h"
#include "tessera/v1/ca.pb-c.h"

typedef struct _publisher_ca_t publisher_ca_t;

//  Reads the configuration above. cert: the publisher's certificate
//  (borrowed, outlives the client). NULL with the reason in err.
publisher_ca_t *publisher_ca_new (tsr_config_t *config, zcert_t *cert, char *err,
                                  size_t err_size);
void publisher_ca_destroy (publisher_ca_t **self_p);

//  Calls method(request). On STATUS_OK, *reply_p is the reply unpacked as
//  reply_descriptor (free with protobuf_c_message_free_unpacked). Returns
//  the ca's status, with its message in message; UNAVAILABLE when the ca
//  did not answer or its reply does not decode.
tsr_status_t publisher_ca_call (publisher_ca_t *self, const char *method,
                                const ProtobufCMessage *request,
                                const ProtobufCMessageDescriptor *reply_descriptor,
                                const char *trace_id, ProtobufCMessage **reply_p,
                                char *message, size_t message_size);

#endif
