/*  portal_bus: the portal's calls to the services, under its own CURVE
    certificate (TSR_CERT, the "portal" key: its public certificate in the
    services' keyring gives it the service role).

    One small pool of DEALER clients per service, so the HTTP threads call
    at the same time without sharing a socket; a client that timed out is
    dropped, not reused. Each call carries the HTTP request's trace id.
    Request payloads may hold a password or an activation code: they are
    wiped once sent.

    Endpoints and keys as for the CLI: TSR_<SERVICE>_ENDPOINT (default
    tcp://127.0.0.1:71NN) and TSR_<SERVICE>_CERT (default
    $TSR_KEYRING_DIR/<service>.cert).
*/
#ifndef PORTAL_BUS_H
#define PORTAL_BUS_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#include "tessera/config.h"
#include "tessera/envelope.h"

typedef enum {
    PORTAL_SERVICE_ENROLLMENT = 0,
    PORTAL_SERVICE_VALIDATION,
    PORTAL_SERVICE_CA,
    PORTAL_SERVICE_PERSO,
    PORTAL_SERVICE_MAIL,
    PORTAL_SERVICE_REVOCATION,
    PORTAL_SERVICE_COUNT
} portal_service_t;

typedef struct _portal_bus_t portal_bus_t;

//  Reads the portal's certificate and the services' from the
//  configuration. NULL with the reason in err.
portal_bus_t *portal_bus_new (tsr_config_t *config, char *err, size_t err_size);
void portal_bus_destroy (portal_bus_t **self_p);
const char *portal_service_name (portal_service_t service);

//  Calls method with request; on STATUS_OK unpacks the reply as
//  reply_descriptor's message into *reply (free with
//  protobuf_c_message_free_unpacked). Otherwise returns the service's
//  status and its message (no reply at all: STATUS_UNAVAILABLE; a reply
//  that does not decode: STATUS_INTERNAL).
tsr_status_t portal_bus_call (portal_bus_t *self, portal_service_t service, const char *method,
                              const ProtobufCMessage *request,
                              const ProtobufCMessageDescriptor *reply_descriptor,
                              ProtobufCMessage **reply, const char *trace_id,
                              char *message, size_t message_size);

//  The same for reads a page can do without (a name, an acceptance date, a
//  certificate's status): a service that did not answer within the last
//  PORTAL_BUS_DOWN_MS is not asked again until then, and the call answers
//  STATUS_UNAVAILABLE at once, so a page does not wait on it every time.
#define PORTAL_BUS_DOWN_MS 30000
tsr_status_t portal_bus_call_if_up (portal_bus_t *self, portal_service_t service,
                                    const char *method, const ProtobufCMessage *request,
                                    const ProtobufCMessageDescriptor *reply_descriptor,
                                    ProtobufCMessage **reply, const char *trace_id,
                                    char *message, size_t message_size);

#endif
