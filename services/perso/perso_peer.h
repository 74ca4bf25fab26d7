/*  perso_peer: perso's client to another tessera service (enrollment,
    validation, ca), under perso's own key (TSR_ROLE_SERVICE there).

    One DEALER guarded by a mutex: bus clients are not thread-safe, and
    the bus workers and job runners share it. A call may name its request
    id: the job runner does, so a retried IssueCertificate after a lost
    reply gets the first reply back from the bus's store instead of a
    second effect. Replies are unpacked into the method's reply type; the
    caller frees them.
*/
#ifndef PERSO_PEER_H
#define PERSO_PEER_H

#include <czmq.h>
#include "tessera/bus.h"

typedef struct _perso_peer_t perso_peer_t;

//  cert: perso's certificate (borrowed, outlives the peer).
perso_peer_t *perso_peer_new (const char *name, const char *endpoint, zcert_t *cert,
                              const char *server_public_key, int timeout_ms);
void perso_peer_destroy (perso_peer_t **self_p);

//  Calls method(request). On STATUS_OK, *reply_p is the reply unpacked as
//  reply_descriptor. Returns the peer's status with its message in
//  message; UNAVAILABLE when it did not answer or the reply does not
//  decode. request_id NULL: a fresh one.
tsr_status_t perso_peer_call (perso_peer_t *self, const char *method,
                              const ProtobufCMessage *request,
                              const ProtobufCMessageDescriptor *reply_descriptor,
                              const char *trace_id, const char *request_id,
                              ProtobufCMessage **reply_p, char *message, size_t message_size);

#endif
