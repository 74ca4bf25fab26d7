/*  tsr_bus worker: decodes, dispatches and answers one request at a time
    (see bus.h). Each worker owns one database connection.

    For a method with an effect, the stored-reply lookup, the handler and the
    storing of its reply share one transaction under an advisory lock on
    (caller, request id): two copies of a request arriving together, or a
    retry after a crash, give one effect and the same reply bytes.

    A batched method's requests waiting together (TSR_METHOD_BATCHED) share
    that transaction, each in a savepoint of its own; their replies are held
    until it commits and, if it does not, each is answered UNAVAILABLE
    (s_dispatch_batched, s_batch_flush).
*/
#include "tessera/bus.h"
#include "tessera/log.h"
#include "bus_internal.h"
#include "tessera/audit.h"
#include "tessera/json.h"
#include "tessera/roles.h"
#include "tessera/trace.h"

#include <openssl/crypto.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  A batched method's requests waiting together share a transaction: at
//  most this many, while the statements kept for the commit have room for
//  one more request's, and while the first has waited less than this long.
#define S_BATCH_MAX 16
#define S_BATCH_AT_COMMIT_ROOM 8
#define S_BATCH_WAIT_US 20000

//  What a request whose transaction failed is told.
#define S_RETRY_MESSAGE "database unavailable; retry with the same request id"

//  A reply held until its batch commits.
typedef struct {
    zmsg_t *route;                  //  the request's route frames
    zframe_t *reply;
    zframe_t *unavailable;          //  sent instead if the commit fails
    const char *method;             //  for the error counter and the latency
    int64_t started_us;             //  when the request was taken: its latency ends at the reply
    char caller [41];               //  a copy of the request comes after the commit
    char request_id [TSR_REQUEST_ID_MAX + 1];
} s_held_t;

typedef struct {
    const tsr_bus_worker_args_t *args;
    tsr_db_t *db;
    uint32_t caller_roles;          //  of the request being handled
    s_held_t held [S_BATCH_MAX];    //  the open batch's replies
    int held_count;
    int64_t batch_started_us;
} s_worker_t;

static const tsr_method_t s_builtins [] = {
    { "Ping", tsr_builtin_ping, 0, TSR_ROLES_ANY },
    { "ListEvents", tsr_builtin_list_events, TSR_METHOD_READ_ONLY, TSR_ROLES_ANY },
};

static const tsr_method_t *
s_find_method (const tsr_bus_server_config_t *config, const char *name)
{
    for (size_t i = 0; i < sizeof s_builtins / sizeof s_builtins [0]; i++)
        if (streq (s_builtins [i].name, name))
            return &s_builtins [i];
    for (size_t i = 0; i < config->method_count; i++)
        if (streq (config->methods [i].name, name))
            return &config->methods [i];
    return NULL;
}

//  The replay of a method that keeps a short form of its replies, or NULL.
static tsr_replay_fn *
s_find_replay (const tsr_bus_server_config_t *config, const char *name)
{
    for (size_t i = 0; i < config->replay_count; i++)
        if (streq (config->replays [i].name, name))
            return config->replays [i].replay;
    return NULL;
}

//  A reply envelope's fields but its payload; request may be NULL when the
//  request did not decode. message_id is the caller's buffer.
static void
s_reply_init (tsr_envelope_t *reply, char message_id [TSR_ID_HEX_SIZE],
              const tsr_envelope_t *request, tsr_status_t status, const char *message)
{
    tsr_random_id (message_id);
    tsr_envelope_t init = TESSERA__V1__ENVELOPE__INIT;
    *reply = init;
    reply->message_id = message_id;
    reply->request_id = request ? request->request_id : "";
    reply->method = request ? request->method : "";
    //  The request's trace id, or the one the worker made up for a request
    //  that came without: the caller can then find the lines it caused.
    const char *trace_id = request ? tsr_trace_or_current (request->trace_id) : NULL;
    reply->trace_id = (char *) (trace_id ? trace_id : "");
    reply->status = status;
    reply->status_message = (char *) (message ? message : "");
    reply->sent_at_unix_ms = tsr_now_ms ();
    reply->is_reply = 1;
}

//  An envelope packed straight into a frame: a large reply (a CRL) is not
//  copied once more on its way to the socket.
static zframe_t *
s_pack (const tsr_envelope_t *envelope)
{
    size_t size = tessera__v1__envelope__get_packed_size (envelope);
    zframe_t *frame = zframe_new (NULL, size);
    if (frame)
        tessera__v1__envelope__pack (envelope, zframe_data (frame));
    return frame;
}

//  A reply envelope; request may be NULL when the request did not decode.
static zframe_t *
s_reply_frame (const tsr_bus_server_config_t *config, const tsr_envelope_t *request,
               tsr_status_t status, const char *message, const uint8_t *payload,
               size_t payload_size)
{
    (void) config;
    char message_id [TSR_ID_HEX_SIZE];
    tsr_envelope_t reply;
    s_reply_init (&reply, message_id, request, status, message);
    reply.payload.data = (uint8_t *) payload;
    reply.payload.len = payload_size;
    return s_pack (&reply);
}

//  The fingerprint kept with a stored reply, to tell a retry from another
//  request under the same id. An HMAC, keyed by a hash of the service's
//  CURVE secret key: requests may hold passwords or answers, and a plain
//  hash in the database could be guessed at hash speed.
static void
s_payload_digest (const s_worker_t *self, const tsr_envelope_t *request, uint8_t digest [32])
{
    uint8_t key [32];
    unsigned int len = 0;
    EVP_MD_CTX *context = EVP_MD_CTX_new ();
    static const char label [] = "tessera bus_requests payload key";
    EVP_DigestInit_ex (context, EVP_sha256 (), NULL);
    EVP_DigestUpdate (context, label, sizeof label - 1);
    EVP_DigestUpdate (context, zcert_secret_key (self->args->config->cert), 32);
    EVP_DigestFinal_ex (context, key, &len);
    EVP_MD_CTX_free (context);
    HMAC (EVP_sha256 (), key, sizeof key,
          request->payload.data ? request->payload.data : (const uint8_t *) "",
          request->payload.len, digest, &len);
    OPENSSL_cleanse (key, sizeof key);
}

static int
s_ensure_db (s_worker_t *self)
{
    if (self->db)
        return 0;
    char err [512];
    const tsr_bus_server_config_t *config = self->args->config;
    self->db = tsr_db_new (config->db_dsn, config->schema, err, sizeof err);
    if (!self->db)
        tsr_log_error (NULL, "db.unavailable", "reason", err, NULL);
    return self->db ? 0 : -1;
}

//  Runs the handler; on OK returns the reply frame and leaves the
//  transaction open for the caller to store and commit. *kept: the frame
//  to store under the request id when the method keeps a short form (the
//  same envelope with the short payload), else NULL.
static zframe_t *
s_run_handler (s_worker_t *self, const tsr_method_t *method, const tsr_envelope_t *request,
               const char *caller, tsr_status_t *status, zframe_t **kept)
{
    const tsr_bus_server_config_t *config = self->args->config;
    tsr_call_t call = {
        .service = config->service, .instance_id = config->instance_id,
        .caller_key = caller, .caller_roles = self->caller_roles, .request = request,
        .db = self->db, .state = config->state, .metrics = config->metrics
    };
    *kept = NULL;
    *status = method->handler (&call);
    if (*status != TESSERA__V1__STATUS__STATUS_OK && tsr_db_connection_lost (self->db)) {
        *status = TESSERA__V1__STATUS__STATUS_UNAVAILABLE;
        snprintf (call.message, sizeof call.message, "%s", S_RETRY_MESSAGE);
    }
    //  A handler stopped because its request id was answered before is
    //  not a failure: its caller replays that answer.
    if (!tsr_db_savepoint_seen (self->db)
    &&  (*status == TESSERA__V1__STATUS__STATUS_INTERNAL
         || (*status == TESSERA__V1__STATUS__STATUS_UNAVAILABLE && *tsr_db_error (self->db))))
        tsr_log_error (request->trace_id, "bus.handler_failed", "method", request->method,
                       "reason", call.message, "db_error", tsr_db_error (self->db), NULL);
    bool ok = *status == TESSERA__V1__STATUS__STATUS_OK;
    char message_id [TSR_ID_HEX_SIZE];
    tsr_envelope_t envelope;
    s_reply_init (&envelope, message_id, request, *status, call.message);
    envelope.payload.data = ok ? call.reply_payload : NULL;
    envelope.payload.len = ok ? call.reply_size : 0;
    zframe_t *reply = s_pack (&envelope);
    free (call.reply_payload);
    if (ok && reply && call.kept_payload && s_find_replay (config, method->name)) {
        envelope.payload.data = call.kept_payload;
        envelope.payload.len = call.kept_size;
        *kept = s_pack (&envelope);
        if (!*kept)
            zframe_destroy (&reply);
    }
    free (call.kept_payload);
    return reply;
}

//  A retry of a method that kept a short form: the stored envelope with
//  the payload its replay rebuilds. NULL when the replay failed.
static zframe_t *
s_replay (s_worker_t *self, tsr_replay_fn *replay, const tsr_envelope_t *request,
          const char *caller, const uint8_t *stored, size_t stored_size)
{
    tsr_envelope_t *envelope = tessera__v1__envelope__unpack (NULL, stored_size, stored);
    if (!envelope)
        return NULL;
    const tsr_bus_server_config_t *config = self->args->config;
    tsr_call_t call = {
        .service = config->service, .instance_id = config->instance_id,
        .caller_key = caller, .caller_roles = self->caller_roles, .request = request,
        .db = self->db, .state = config->state, .metrics = config->metrics
    };
    zframe_t *reply = NULL;
    tsr_status_t status = replay (&call, envelope->payload.data, envelope->payload.len);
    if (status == TESSERA__V1__STATUS__STATUS_OK) {
        ProtobufCBinaryData kept = envelope->payload;
        envelope->payload.data = call.reply_payload;
        envelope->payload.len = call.reply_size;
        reply = s_pack (envelope);
        envelope->payload = kept;
    }
    else
        tsr_log_error (request->trace_id, "bus.replay_failed", "method", request->method,
                       "reason", call.message, "db_error", tsr_db_error (self->db), NULL);
    free (call.reply_payload);
    free (call.kept_payload);
    tessera__v1__envelope__free_unpacked (envelope, NULL);
    return reply;
}

//  The reply to a request whose transaction failed (already ended).
static zframe_t *
s_unavailable_reply (s_worker_t *self, const tsr_envelope_t *request, tsr_status_t *status)
{
    *status = TESSERA__V1__STATUS__STATUS_UNAVAILABLE;
    tsr_log_warn (request->trace_id, "bus.db_failed", "method", request->method,
                  "reason", self->db ? tsr_db_error (self->db) : "not connected", NULL);
    return s_reply_frame (self->args->config, request, *status,
                          S_RETRY_MESSAGE, NULL, 0);
}

static zframe_t *
s_unavailable (s_worker_t *self, const tsr_envelope_t *request, tsr_status_t *status)
{
    if (self->db)
        tsr_db_rollback (self->db);
    return s_unavailable_reply (self, request, status);
}

//  The request id's lock, its stored reply, and the storing of a reply:
//  $1 the caller's key, $2 the request id.
#define S_LOCK_REQUEST_ID "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))"
#define S_LOOK_UP_REPLY "SELECT method, payload_sha256, reply FROM bus_requests" \
                        " WHERE caller_key = $1 AND request_id = $2"
#define S_STORE_REPLY "INSERT INTO bus_requests (caller_key, request_id, method," \
                      " payload_sha256, reply) VALUES ($1, $2, $3, $4, $5)"

//  A request id seen before (res: its stored row): the first reply, or a
//  refusal if this is not the same request. NULL when the replay failed.
static zframe_t *
s_seen_before (s_worker_t *self, const tsr_method_t *method, const tsr_envelope_t *request,
               const char *caller, PGresult *res, const uint8_t digest [32],
               tsr_status_t *status)
{
    if (strcmp (PQgetvalue (res, 0, 0), request->method) == 0
    &&  PQgetlength (res, 0, 1) == 32 && memcmp (PQgetvalue (res, 0, 1), digest, 32) == 0) {
        const uint8_t *stored = (const uint8_t *) PQgetvalue (res, 0, 2);
        size_t stored_size = (size_t) PQgetlength (res, 0, 2);
        tsr_replay_fn *replay = s_find_replay (self->args->config, method->name);
        zframe_t *reply = replay ? s_replay (self, replay, request, caller, stored, stored_size)
                                 : zframe_new (stored, stored_size);
        if (reply) {
            *status = TESSERA__V1__STATUS__STATUS_OK;
            tsr_log_info (request->trace_id, "bus.replayed", "method", request->method,
                          "request_id", request->request_id, NULL);
        }
        return reply;
    }
    *status = TESSERA__V1__STATUS__STATUS_CONFLICT;
    return s_reply_frame (self->args->config, request, *status,
                          "request id already used for another request", NULL, 0);
}

static zframe_t *
s_dispatch (s_worker_t *self, const tsr_method_t *method, const tsr_envelope_t *request,
            const char *caller, tsr_status_t *status)
{
    if (s_ensure_db (self))
        return s_unavailable (self, request, status);
    if (method->flags & TSR_METHOD_READ_ONLY) {
        if (tsr_db_begin (self->db))
            return s_unavailable (self, request, status);
        zframe_t *kept = NULL;
        zframe_t *reply = s_run_handler (self, method, request, caller, status, &kept);
        zframe_destroy (&kept);
        tsr_db_rollback (self->db);
        return reply;
    }
    //  BEGIN, the lock and the lookup in one round trip; the lookup is a
    //  statement of its own, so its snapshot is taken once the lock is held
    //  and it sees a copy of this request that committed meanwhile.
    const char *key [] = { caller, request->request_id };
    PGresult *res = tsr_db_begin_query (self->db,
        S_LOCK_REQUEST_ID, 2, key, S_LOOK_UP_REPLY, 2, key, 1);
    if (!res)
        return s_unavailable (self, request, status);
    uint8_t digest [32];
    s_payload_digest (self, request, digest);
    if (PQntuples (res) == 1) {
        zframe_t *reply = s_seen_before (self, method, request, caller, res, digest, status);
        PQclear (res);
        if (!reply)
            return s_unavailable (self, request, status);
        tsr_db_rollback (self->db);
        return reply;
    }
    PQclear (res);
    zframe_t *kept = NULL;
    zframe_t *reply = s_run_handler (self, method, request, caller, status, &kept);
    if (*status != TESSERA__V1__STATUS__STATUS_OK || !reply) {
        tsr_db_rollback (self->db);
        return reply;
    }
    if (!kept)
        kept = reply;
    //  A reply that carries secrets (key shares) is sent once and never
    //  stored: a retry gets a refusal that says so, not a second effect.
    if (method->flags & TSR_METHOD_SECRET_REPLY) {
        if (kept != reply)
            zframe_destroy (&kept);
        tsr_status_t refusal = TESSERA__V1__STATUS__STATUS_FAILED_PRECONDITION;
        kept = s_reply_frame (self->args->config, request, refusal,
                              "this request was served once; its reply held secrets and is not kept",
                              NULL, 0);
        if (!kept) {
            zframe_destroy (&reply);
            return s_unavailable (self, request, status);
        }
    }
    const char *values [] = { caller, request->request_id, request->method,
                              (const char *) digest, (const char *) zframe_data (kept) };
    int lengths [] = { 0, 0, 0, 32, (int) zframe_size (kept) };
    int formats [] = { 0, 0, 0, 1, 1 };
    //  The reply stored and the commit in one round trip: a handler's last
    //  statements (an audit row, an event) lock rows every request of the
    //  kind waits for, until this commit.
    int stored = tsr_db_commit_after (self->db, S_STORE_REPLY, 5, values, lengths, formats);
    if (kept != reply)
        zframe_destroy (&kept);
    if (stored) {
        zframe_destroy (&reply);
        return s_unavailable (self, request, status);
    }
    return reply;
}

//  s_dispatch for a batched method: the same steps in the batch's
//  transaction (opened by its first request), in a savepoint of the
//  request's own; nothing is committed here. In an open transaction the
//  savepoint, the request id's lock and the lookup of its reply go ahead
//  of the handler's first statement, in its round trip: the handler runs
//  before the lookup's answer is read, and its work is undone when the id
//  was answered before.
static zframe_t *
s_dispatch_batched (s_worker_t *self, const tsr_method_t *method,
                    const tsr_envelope_t *request, const char *caller, tsr_status_t *status)
{
    if (s_ensure_db (self))
        return s_unavailable (self, request, status);
    const char *key [] = { caller, request->request_id };
    bool led = tsr_db_savepoint_lead (self->db, S_LOCK_REQUEST_ID, 2, key,
                                      S_LOOK_UP_REPLY, 2, key, 1) == 0;
    zframe_t *reply = NULL, *kept = NULL;
    PGresult *res = NULL;
    if (led) {
        reply = s_run_handler (self, method, request, caller, status, &kept);
        res = tsr_db_savepoint_led (self->db);
    }
    else
        res = tsr_db_savepoint_query (self->db, S_LOCK_REQUEST_ID, 2, key, S_LOOK_UP_REPLY, 2,
                                      key, 1);
    if (!res) {
        zframe_destroy (&reply);
        zframe_destroy (&kept);
        return s_unavailable_reply (self, request, status);
    }
    uint8_t digest [32];
    s_payload_digest (self, request, digest);
    if (PQntuples (res) == 1) {
        //  Seen before (answered in an earlier batch, or a copy of a
        //  request of this batch ended the batch first): the reply waits
        //  for the commit all the same.
        zframe_destroy (&reply);
        zframe_destroy (&kept);
        reply = s_seen_before (self, method, request, caller, res, digest, status);
    }
    else {
        if (!led)
            reply = s_run_handler (self, method, request, caller, status, &kept);
        if (*status == TESSERA__V1__STATUS__STATUS_OK && reply) {
            const char *values [] = { caller, request->request_id, request->method,
                                      (const char *) digest,
                                      (const char *) zframe_data (kept ? kept : reply) };
            int lengths [] = { 0, 0, 0, 32, (int) zframe_size (kept ? kept : reply) };
            int formats [] = { 0, 0, 0, 1, 1 };
            //  Kept for the commit: the savepoint is left open (the next
            //  request's nests in it) rather than released in a round trip.
            int stored = tsr_db_at_commit (self->db, S_STORE_REPLY, 5, values, lengths, formats);
            zframe_destroy (&kept);
            PQclear (res);
            if (stored == 0)
                return reply;
            zframe_destroy (&reply);
            tsr_db_savepoint_rollback (self->db);
            return s_unavailable_reply (self, request, status);
        }
        zframe_destroy (&kept);
    }
    PQclear (res);
    bool undone = tsr_db_savepoint_rollback (self->db) == 0;
    if (reply && undone)
        return reply;
    zframe_destroy (&reply);
    return s_unavailable_reply (self, request, status);
}

//  Ends the open batch: COMMIT, then every held reply, or each one's
//  "unavailable" when the transaction was lost or its commit failed.
static void
s_batch_flush (s_worker_t *self, zsock_t *socket)
{
    if (self->held_count == 0)
        return;
    bool committed = self->db && tsr_db_in_transaction (self->db)
                  && tsr_db_commit (self->db) == 0;
    if (committed)
        tsr_counter_inc (self->args->group_commits, self->held [0].method, 1);
    else {
        if (self->db)
            tsr_db_rollback (self->db);
        tsr_log_warn (NULL, "bus.batch_failed", "method", self->held [0].method, "reason",
                      self->db ? tsr_db_error (self->db) : "not connected", NULL);
    }
    for (int i = 0; i < self->held_count; i++) {
        s_held_t *held = &self->held [i];
        if (committed) {
            tsr_counter_inc (self->args->group_committed, held->method, 1);
            zframe_destroy (&held->unavailable);
        }
        else {
            tsr_counter_inc (self->args->errors, held->method, 1);
            zframe_destroy (&held->reply);
            held->reply = held->unavailable;
            held->unavailable = NULL;
        }
        //  Observed before the reply leaves, as every other request's is:
        //  a client that reads /metrics on its reply finds it counted.
        tsr_histogram_observe (self->args->latency, held->method,
                               (double) (zclock_usecs () - held->started_us) / 1e6);
        if (held->reply) {
            zmsg_append (held->route, &held->reply);
            zmsg_send (&held->route, socket);
        }
        else
            zmsg_destroy (&held->route);
    }
    self->held_count = 0;
}

//  Whether the open batch holds a request under this id already: its reply
//  is stored at the commit, so a copy waits for the commit.
static bool
s_batch_holds (s_worker_t *self, const char *caller, const char *request_id)
{
    for (int i = 0; i < self->held_count; i++)
        if (streq (self->held [i].caller, caller) && streq (self->held [i].request_id, request_id))
            return true;
    return false;
}

//  Whether the open batch takes the next request: one is waiting already
//  and the batch has room and time left.
static bool
s_batch_goes_on (s_worker_t *self, zsock_t *socket)
{
    return self->held_count < S_BATCH_MAX
        && self->db && tsr_db_in_transaction (self->db)
        && tsr_db_at_commit_room (self->db) >= S_BATCH_AT_COMMIT_ROOM
        && zclock_usecs () - self->batch_started_us < S_BATCH_WAIT_US
        && (zsock_events (socket) & ZMQ_POLLIN);
}

//  The caller's roles: TSR_ROLE_SERVICE for a service's own key, then what
//  the service's resolver says. -1 when the resolver cannot answer.
static int
s_resolve_roles (s_worker_t *self, const char *caller, uint32_t *roles)
{
    const tsr_bus_worker_args_t *args = self->args;
    *roles = 0;
    for (int i = 0; i < args->service_key_count; i++)
        if (streq (args->service_keys [i], caller))
            *roles |= TSR_ROLE_SERVICE;
    if (!args->config->resolve_roles)
        return 0;
    if (s_ensure_db (self))
        return -1;
    uint32_t operator_roles = 0;
    if (args->config->resolve_roles (args->config->resolver, self->db, caller, &operator_roles))
        return -1;
    *roles |= operator_roles;
    return 0;
}

//  A refusal changes nothing, but it is audited, in a transaction of its own.
static zframe_t *
s_deny (s_worker_t *self, const tsr_method_t *method, const tsr_envelope_t *request,
        const char *caller, uint32_t held, tsr_status_t *status)
{
    char needed [256], holds [256], message [TSR_CALL_MESSAGE_MAX];
    tsr_roles_format (method->roles, needed, sizeof needed);
    tsr_roles_format (held, holds, sizeof holds);
    int written = snprintf (message, sizeof message,
                            "%s needs one of the roles: %.100s (the caller holds: %.80s)",
                            method->name, needed, holds);
    (void) written;     //  a long list is cut; the audit row has it whole
    *status = TESSERA__V1__STATUS__STATUS_PERMISSION_DENIED;
    tsr_counter_inc (self->args->denied, method->name, 1);
    tsr_log_warn (request->trace_id, "bus.permission_denied", "caller", caller, "method",
                  method->name, "holds", holds, NULL);
    tsr_json_t *json = tsr_json_new ();
    tsr_json_str (json, "method", method->name);
    tsr_json_str (json, "request_id", request->request_id);
    tsr_json_str (json, "needed", needed);
    tsr_json_str (json, "held", holds);
    char *details = tsr_json_finish (&json);
    if (s_ensure_db (self) || tsr_db_begin (self->db)
    ||  tsr_audit_append (self->db, caller, "bus.permission_denied", method->name,
                          request->trace_id, details)
    ||  tsr_db_commit (self->db)) {
        if (self->db)
            tsr_db_rollback (self->db);
        tsr_log_error (request->trace_id, "bus.audit_failed", "method", method->name, NULL);
    }
    free (details);
    return s_reply_frame (self->args->config, request, *status, message, NULL, 0);
}

static void
s_handle (s_worker_t *self, zsock_t *socket, zmsg_t *msg)
{
    int64_t started_us = zclock_usecs ();
    char *caller = zmsg_popstr (msg);
    zframe_t *frame = zmsg_pop (msg);
    if (!caller || !frame) {
        zstr_free (&caller);
        zframe_destroy (&frame);
        zmsg_destroy (&msg);
        return;
    }
    char err [256] = "";
    tsr_status_t status;
    tsr_envelope_t *request = tsr_envelope_decode (zframe_data (frame), zframe_size (frame),
                                                   &status, err, sizeof err);
    zframe_t *reply = NULL;
    zframe_t *unavailable = NULL;   //  a held reply's stand-in
    bool batched = false, hold = false;
    const char *method_label = "invalid";
    char *client_trace_id = NULL;   //  the envelope's own, while a made-up one stands in
    if (!request) {
        tsr_log_warn (NULL, "bus.malformed", "caller", caller, "reason", err, NULL);
        reply = s_reply_frame (self->args->config, NULL, status, err, NULL, 0);
    }
    else {
        //  Everything done for this request (log lines, calls to other
        //  services, events) carries its trace id; one is made up for a
        //  request that came without (decode checked its bounds).
        if (!tsr_trace_set (request->trace_id)) {
            //  Handlers read request->trace_id (audit rows, events, jobs):
            //  they see the made-up one too. The envelope's own string is
            //  put back before the envelope is freed.
            client_trace_id = request->trace_id;
            request->trace_id = (char *) tsr_trace_set_fresh ();
        }
        const tsr_method_t *method = s_find_method (self->args->config, request->method);
        batched = method && (method->flags & TSR_METHOD_BATCHED)
               && !(method->flags & (TSR_METHOD_READ_ONLY | TSR_METHOD_SECRET_REPLY));
        //  Anything else ends the open batch first.
        if (!batched)
            s_batch_flush (self, socket);
        if (!method) {
            status = TESSERA__V1__STATUS__STATUS_UNIMPLEMENTED;
            snprintf (err, sizeof err, "unknown method for service %s",
                      self->args->config->service);
            tsr_log_warn (request->trace_id, "bus.unknown_method", "caller", caller,
                          "method", request->method, NULL);
            reply = s_reply_frame (self->args->config, request, status, err, NULL, 0);
        }
        else {
            method_label = method->name;
            uint32_t roles = TSR_ROLES_ANY;
            if (method->roles != TSR_ROLES_ANY && s_resolve_roles (self, caller, &roles)) {
                status = TESSERA__V1__STATUS__STATUS_UNAVAILABLE;
                reply = s_reply_frame (self->args->config, request, status,
                                       "cannot resolve the caller's roles now; retry", NULL, 0);
            }
            else
            if (method->roles != TSR_ROLES_ANY && !(roles & method->roles)) {
                s_batch_flush (self, socket);
                reply = s_deny (self, method, request, caller, roles, &status);
            }
            else {
                //  A method open to anyone is not told the caller's roles.
                self->caller_roles = method->roles == TSR_ROLES_ANY ? 0 : roles;
                if (batched) {
                    //  So does a transaction lost under it (when the roles
                    //  were read, say), and a copy of a request it holds.
                    if (self->held_count && (!tsr_db_in_transaction (self->db)
                                         ||  s_batch_holds (self, caller, request->request_id)))
                        s_batch_flush (self, socket);
                    if (self->held_count == 0)
                        self->batch_started_us = started_us;
                    reply = s_dispatch_batched (self, method, request, caller, &status);
                    hold = reply != NULL;
                    unavailable = hold ? s_reply_frame (self->args->config, request,
                        TESSERA__V1__STATUS__STATUS_UNAVAILABLE, S_RETRY_MESSAGE, NULL, 0) : NULL;
                }
                else
                    reply = s_dispatch (self, method, request, caller, &status);
            }
        }
    }
    double seconds = (double) (zclock_usecs () - started_us) / 1e6;
    tsr_counter_inc (self->args->requests, method_label, 1);
    if (status != TESSERA__V1__STATUS__STATUS_OK)
        tsr_counter_inc (self->args->errors, method_label, 1);
    bool held = hold && unavailable;
    if (!held)      //  a held reply's latency is observed when it is sent
        tsr_histogram_observe (self->args->latency, method_label, seconds);
    if (request) {
        char duration_ms [24];
        snprintf (duration_ms, sizeof duration_ms, "%.3f", seconds * 1000.0);
        tsr_log_debug (NULL, "bus.request", "method", method_label, "caller", caller,
                       "status", tsr_status_name (status), "duration_ms", duration_ms, NULL);
    }
    tsr_trace_clear ();
    if (held) {
        //  Sent when the batch commits, or its stand-in if it does not.
        s_held_t *entry = &self->held [self->held_count++];
        *entry = (s_held_t) { .route = msg, .reply = reply, .unavailable = unavailable,
                              .method = method_label, .started_us = started_us };
        snprintf (entry->caller, sizeof entry->caller, "%s", caller);
        snprintf (entry->request_id, sizeof entry->request_id, "%s", request->request_id);
        msg = NULL;
        reply = NULL;
        if (!tsr_db_in_transaction (self->db))
            s_batch_flush (self, socket);
    }
    else
    if (hold)
        zframe_destroy (&reply);    //  no memory for the stand-in: no reply at all
    if (reply) {
        zmsg_append (msg, &reply);   //  after the route frames
        zmsg_send (&msg, socket);
    }
    else
        zmsg_destroy (&msg);
    if (client_trace_id)
        request->trace_id = client_trace_id;
    tsr_envelope_free (&request);
    zframe_destroy (&frame);
    zstr_free (&caller);
}

void
tsr_bus_worker_actor (zsock_t *pipe, void *arg)
{
    s_worker_t self = { .args = arg };
    zsock_t *socket = zsock_new_dealer (self.args->backend_endpoint);
    zsock_signal (pipe, 0);
    if (!socket)
        return;
    s_ensure_db (&self);
    zpoller_t *poller = zpoller_new (pipe, socket, NULL);
    while (poller) {
        zsock_t *which = zpoller_wait (poller, -1);
        if (which == socket) {
            zmsg_t *msg = zmsg_recv (socket);
            if (msg)
                s_handle (&self, socket, msg);
            if (self.held_count && !s_batch_goes_on (&self, socket))
                s_batch_flush (&self, socket);
        }
        else
        if (which == pipe || zpoller_terminated (poller))
            break;      //  $TERM from the server
        //  else a signal interrupted the wait: carry on (the main thread
        //  owns signals and drains through the broker).
    }
    s_batch_flush (&self, socket);
    zpoller_destroy (&poller);
    zsock_destroy (&socket);
    tsr_db_destroy (&self.db);
    //  CZMQ signals the end of an actor after this function returns, but
    //  the thread may still be running its exit handlers when the process
    //  exits: free OpenSSL's per-thread state (libpq's SCRAM draws from a
    //  per-thread DRBG) now, while the thread is ours.
    OPENSSL_thread_stop ();
}
