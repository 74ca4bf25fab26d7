/*  tsr_bus: the request side of the bus (CZMQ, CURVE on every TCP socket).

    Server: one ROUTER bound with CURVE; zauth admits only the public keys
    found in the keyring directory (certificates written by `tessera keygen`).
    A broker thread reads each request, takes the caller's identity from the
    frame's ZAP User-Id metadata (the authenticated CURVE public key, never a
    claim in the payload) and hands it to one of N worker threads. Each
    worker owns a database connection and runs the handler in one
    transaction together with the stored reply for (caller, request id), so
    a retried request id returns the first reply and never a second effect,
    also after a restart. Refused handshakes are logged (bus.refused).

    Client: a DEALER with CURVE, a timeout per attempt and bounded retries of
    the same envelope (same request id, so retries are safe).
*/
#ifndef TSR_BUS_H
#define TSR_BUS_H

#include <czmq.h>
#include <stdbool.h>
#include "tessera/db.h"
#include "tessera/envelope.h"
#include "tessera/metrics.h"

#define TSR_BUS_MESSAGE_MAX (2 * 1024 * 1024)   //  larger frames drop the connection;
                                                //  each method bounds its own fields below it
//  Replies may be larger than requests: a full CRL of a large CA travels in
//  one (about 49 bytes per revoked certificate: 64 MiB is 1.3 million).
#define TSR_BUS_REPLY_MAX (64 * 1024 * 1024)
#define TSR_CALL_MESSAGE_MAX 256

//  What a handler sees of one request, and what it answers.
typedef struct {
    const char *service;
    const char *instance_id;
    const char *caller_key;         //  Z85 CURVE public key, authenticated
    uint32_t caller_roles;          //  resolved before the handler (tessera/roles.h)
    const tsr_envelope_t *request;  //  method, request_id, trace_id, payload
    tsr_db_t *db;                   //  inside the request's transaction
    void *state;                    //  the service's state (shared by workers)
    tsr_metrics_t *metrics;         //  the service's registry (may be NULL)
    uint8_t *reply_payload;         //  set by the handler (malloc), may stay NULL
    size_t reply_size;
    char message [TSR_CALL_MESSAGE_MAX];  //  the reply's status message
    //  What is stored under the request id instead of reply_payload, for
    //  a method with a replay (tsr_call_keep; malloc, may stay NULL).
    uint8_t *kept_payload;
    size_t kept_size;
} tsr_call_t;

//  Returns the reply status. STATUS_OK commits the transaction and stores
//  the reply under the request id; any other status rolls back, so bad input
//  changes nothing, and the reply is not stored.
typedef tsr_status_t (tsr_handler_fn) (tsr_call_t *call);

//  A method whose reply holds something large that its handler stores
//  anyway (a CRL, in its table) keeps a short form under the request id
//  instead of a second copy: the handler calls tsr_call_keep beside
//  tsr_call_reply, and on a retry the method's replay turns the short form
//  back into the same payload (tsr_call_reply), reading what it needs in
//  the retry's transaction (call->db; rolled back after). The retry gets
//  the first reply's bytes, as for any method; if the replay fails, it gets
//  UNAVAILABLE and may retry again.
typedef tsr_status_t (tsr_replay_fn) (tsr_call_t *call, const uint8_t *kept, size_t kept_size);

//  Handler helpers. tsr_call_reply packs message as the reply payload and
//  returns STATUS_OK with text as the status message (STATUS_INTERNAL when
//  out of memory). tsr_call_fail sets the status message (printf format:
//  a short lower-case phrase a user can act on) and returns status.
tsr_status_t tsr_call_reply (tsr_call_t *call, const ProtobufCMessage *message,
                             const char *text);
tsr_status_t tsr_call_fail (tsr_call_t *call, tsr_status_t status, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));
//  Packs message as the short form stored under the request id (see
//  tsr_replay_fn). 0, or -1 when out of memory.
int tsr_call_keep (tsr_call_t *call, const ProtobufCMessage *message);

//  message packed into a fresh buffer (caller frees; at least one byte
//  even for an empty message), *size its length; NULL when out of memory.
uint8_t *tsr_message_pack (const ProtobufCMessage *message, size_t *size);

//  Unpacks the request's payload as descriptor's message (free with
//  protobuf_c_message_free_unpacked), or returns NULL with *status and the
//  message set: not such a message, or a text field holding a NUL byte
//  (protobuf-c would cut the string there, so "Alice\0Admin" would pass as
//  "Alice").
ProtobufCMessage *tsr_call_unpack (tsr_call_t *call, const ProtobufCMessageDescriptor *descriptor,
                                   tsr_status_t *status);
//  The NUL check alone, over a message's wire form (nested messages too).
bool tsr_payload_strings_clean (const ProtobufCMessageDescriptor *descriptor, const uint8_t *data,
                                size_t size);

#define TSR_METHOD_READ_ONLY 1u     //  no effect to protect: reply not stored
#define TSR_METHOD_SECRET_REPLY 2u  //  reply sent once; a retry is refused, nothing stored
//  Requests of the method waiting together at a worker share one
//  transaction (group commit), each in a savepoint of its own: a refusal
//  undoes only its own statements, and every reply waits for the commit.
//  For a handler that keeps its last statements for the commit
//  (tsr_db_at_commit) and neither commits nor rolls back itself.
#define TSR_METHOD_BATCHED 4u

typedef struct {
    const char *name;               //  the rpc name in the service's .proto
    tsr_handler_fn *handler;
    unsigned flags;
    //  The roles admitted (tessera/roles.h: TSR_ROLE_* bits, TSR_ROLES_ANY).
    //  0 admits nobody: every method says who may call it.
    uint32_t roles;
} tsr_method_t;

//  A method that keeps a short form of its replies (see tsr_replay_fn).
typedef struct {
    const char *name;
    tsr_replay_fn *replay;
} tsr_replay_t;

//  Resolves a caller's operator roles (not TSR_ROLE_SERVICE, which the bus
//  gives to the services' own keys from the keyring). Returns 0 with
//  *roles (0 for an unknown or disabled key), or -1 when the source cannot
//  answer now (the caller gets UNAVAILABLE). db is the worker's connection,
//  outside any transaction. Must be thread-safe.
typedef int (tsr_role_resolve_fn) (void *resolver, tsr_db_t *db, const char *caller_key,
                                   uint32_t *roles);

typedef struct {
    const char *service;
    const char *instance_id;
    const char *endpoint;           //  e.g. tcp://127.0.0.1:7103
    zcert_t *cert;                  //  the service's own certificate (borrowed)
    const char *db_dsn;
    const char *schema;
    int workers;
    const tsr_method_t *methods;    //  the service's table (Ping and ListEvents are added)
    size_t method_count;
    const tsr_replay_t *replays;    //  methods keeping a short form (may be NULL)
    size_t replay_count;
    void *state;
    tsr_metrics_t *metrics;         //  may be NULL
    const char *keyring_dir;        //  the services' own keys: <service>.cert
    tsr_role_resolve_fn *resolve_roles;
    void *resolver;                 //  passed to resolve_roles
} tsr_bus_server_config_t;

typedef struct _tsr_bus_server_t tsr_bus_server_t;

//  Starts the broker and the workers. NULL with the reason in err.
tsr_bus_server_t *tsr_bus_server_new (const tsr_bus_server_config_t *config,
                                      char *err, size_t err_size);
//  Stops taking requests, waits up to timeout_ms for those in flight to be
//  answered. Returns the number still in flight (0 when all were answered).
int tsr_bus_server_drain (tsr_bus_server_t *self, int timeout_ms);
void tsr_bus_server_destroy (tsr_bus_server_t **self_p);
//  Requests in flight right now (for readiness and metrics).
int tsr_bus_server_in_flight (tsr_bus_server_t *self);

//  Starts the process's zauth actor admitting the certificates in
//  keyring_dir (re-read when files change). One per process.
zactor_t *tsr_bus_auth_new (const char *keyring_dir);

typedef struct _tsr_bus_client_t tsr_bus_client_t;

//  cert: the caller's certificate (borrowed); server_public_key: Z85.
tsr_bus_client_t *tsr_bus_client_new (const char *endpoint, zcert_t *cert,
                                      const char *server_public_key,
                                      int timeout_ms, int retries);
void tsr_bus_client_destroy (tsr_bus_client_t **self_p);
//  Sends method(payload) with request_id (NULL: a fresh random id) and
//  trace_id (NULL or "": the thread's current one, tessera/trace.h, or a
//  fresh one when it has none); retries on timeout with the same envelope.
//  Returns the reply envelope (free with tsr_envelope_free), or NULL after
//  the last timeout or on a reply that is not a valid Envelope.
tsr_envelope_t *tsr_bus_client_call (tsr_bus_client_t *self, const char *method,
                                     const uint8_t *payload, size_t payload_size,
                                     const char *request_id, const char *trace_id);

#endif
