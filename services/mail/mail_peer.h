/*  mail_peer: mail's client to another tessera service (enrollment for
    persons and operators, perso for cards, validation for holder accounts,
    ca for its certificate).

    Calls go out under the mail service's own key (TSR_ROLE_SERVICE at the
    other end), on one DEALER guarded by a mutex: bus clients are not
    thread-safe, and the workers, the event consumers and the background
    jobs share it. Each call carries the caller's trace id. Where the peer
    is and who it is come from TSR_<PEER>_ENDPOINT and TSR_<PEER>_CERT
    (defaults: tcp://127.0.0.1:71NN, $TSR_KEYRING_DIR/<peer>.cert), the
    variables every service uses to find another.
*/
#ifndef MAIL_PEER_H
#define MAIL_PEER_H

#include <czmq.h>
#include "tessera/bus.h"
#include "tessera/config.h"

typedef struct _mail_peer_t mail_peer_t;

//  name: "enrollment", "perso" ...; cert: ours (borrowed, outlives the
//  peer). NULL with the reason in err (the peer's certificate unreadable).
mail_peer_t *mail_peer_new (tsr_config_t *config, const char *name, zcert_t *cert,
                            int timeout_ms, int retries, char *err, size_t err_size);
void mail_peer_destroy (mail_peer_t **self_p);

//  Calls method(request). On STATUS_OK, *reply_p is the reply unpacked as
//  reply_descriptor (free with protobuf_c_message_free_unpacked). Returns
//  the peer's status with its message in message; UNAVAILABLE when the
//  peer did not answer or its reply does not decode.
tsr_status_t mail_peer_call (mail_peer_t *self, const char *method,
                             const ProtobufCMessage *request,
                             const ProtobufCMessageDescriptor *reply_descriptor,
                             const char *trace_id, ProtobufCMessage **reply_p,
                             char *message, size_t message_size);

#endif
