/*  tsr_peer: a service's client to one other tessera service, under the
    calling service's own key (TSR_ROLE_SERVICE at the other end).

    One DEALER guarded by a mutex: bus clients are not thread-safe, and a
    service's workers, event consumers and background threads share one
    peer. Each call carries the caller's trace id and, when given, a
    request id of its own: a call with an effect names one derived from
    what it does, so that a retry, even after a crash, gets the first
    reply from the other service's store instead of a second effect.
    Replies are unpacked into the method's reply type; the caller frees
    them. The packed request is wiped once sent (it may hold secrets).

    Configuration (tsr_peer_new_configured), the variables every service
    reads to find another: TSR_<PEER>_ENDPOINT (default
    tcp://127.0.0.1:71NN), TSR_<PEER>_CERT (default
    $TSR_KEYRING_DIR/<peer>.cert), TSR_<PEER>_TIMEOUT_MS (per attempt,
    100 to 600000).
*/
#ifndef TESSERA_PEER_H
#define TESSERA_PEER_H

#include <czmq.h>
#include "tessera/bus.h"
#include "tessera/config.h"

typedef struct _tsr_peer_t tsr_peer_t;

//  A client of the service name at endpoint, whose public key is
//  server_public_key (Z85). cert: the calling service's certificate
//  (borrowed, outlives the peer). retries: attempts after the first, with
//  the same request id. NULL when the client cannot be made.
tsr_peer_t *tsr_peer_new (const char *name, const char *endpoint, zcert_t *cert,
                          const char *server_public_key, int timeout_ms, int retries);

//  The same, with the endpoint, the certificate and the timeout read from
//  config (see above; timeout_ms is the default). NULL with err.
tsr_peer_t *tsr_peer_new_configured (tsr_config_t *config, const char *name, zcert_t *cert,
                                     int timeout_ms, int retries, char *err, size_t err_size);

void tsr_peer_destroy (tsr_peer_t **self_p);

//  Calls method(request). On STATUS_OK, *reply_p is the reply unpacked as
//  reply_descriptor (free with protobuf_c_message_free_unpacked). Returns
//  the peer's status with its message in message; UNAVAILABLE when the
//  peer did not answer or its reply does not decode. request_id NULL or
//  empty: a fresh one; trace_id NULL or empty: the thread's current one.
tsr_status_t tsr_peer_call (tsr_peer_t *self, const char *method,
                            const ProtobufCMessage *request,
                            const ProtobufCMessageDescriptor *reply_descriptor,
                            const char *request_id, const char *trace_id,
                            ProtobufCMessage **reply_p, char *message, size_t message_size);

//  The reading of a reply envelope that tsr_peer_call ends with, for a
//  caller with clients of its own (the portal's pools). Returns the reply's
//  status; when it is not STATUS_OK, with the reply's message in message.
//  On STATUS_OK, *reply_p is the payload unpacked as reply_descriptor (free
//  with protobuf_c_message_free_unpacked), or NULL when it does not decode:
//  the caller says so, with the status its own callers expect.
tsr_status_t tsr_peer_unpack_reply (const tsr_envelope_t *reply,
                                    const ProtobufCMessageDescriptor *reply_descriptor,
                                    ProtobufCMessage **reply_p, char *message,
                                    size_t message_size);

#endif
