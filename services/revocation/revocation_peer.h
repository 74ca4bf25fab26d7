/*  revocation_peer: revocation's client to one other tessera service
    (enrollment, validation, ca), under the revocation service's own key
    (TSR_ROLE_SERVICE there).

    One DEALER guarded by a mutex: bus clients are not thread-safe, and the
    workers and the timer share it. Each call carries the caller's trace id
    and, when given, a request id of its own: calls with an effect (ca's
    RevokeCertificate) use one derived from what they do, so that a retry,
    even after a crash, has ca answer its first reply instead of acting
    twice. The packed request is wiped after sending (it may hold secret
    answers).

    Configuration: TSR_<PEER>_ENDPOINT, TSR_<PEER>_CERT (default
    $TSR_KEYRING_DIR/<peer>.cert), TSR_<PEER>_TIMEOUT_MS (per attempt,
    default 5000; one retry with the same request id).
*/
#ifndef REVOCATION_PEER_H
#define REVOCATION_PEER_H

#include <czmq.h>
#include "tessera/bus.h"
#include "tessera/config.h"

typedef struct _revocation_peer_t revocation_peer_t;

//  Reads the peer's configuration and connects. cert: the revocation
//  service's certificate (borrowed, outlives the peer). NULL with err.
revocation_peer_t *revocation_peer_new (tsr_config_t *config, const char *name, zcert_t *cert,
                                        char *err, size_t err_size);
void revocation_peer_destroy (revocation_peer_t **self_p);

//  Calls method(request). On STATUS_OK, *reply_p is the reply unpacked as
//  reply_descriptor (free with protobuf_c_message_free_unpacked). Returns
//  the peer's status with its message in message; UNAVAILABLE when the
//  peer did not answer or its reply does not decode. request_id NULL: a
//  fresh one.
tsr_status_t revocation_peer_call (revocation_peer_t *self, const char *method,
                                   const ProtobufCMessage *request,
                                   const ProtobufCMessageDescriptor *reply_descriptor,
                                   const char *request_id, const char *trace_id,
                                   ProtobufCMessage **reply_p, char *message,
                                   size_t message_size);

#endif
