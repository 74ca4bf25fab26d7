/*  Shared between the bus server's broker (bus_server.c) and its workers
    (bus_worker.c). Not part of the public API.
*/
#ifndef TSR_BUS_INTERNAL_H
#define TSR_BUS_INTERNAL_H

#include <stdatomic.h>
#include "tessera/bus.h"

#define TSR_SERVICE_KEYS_MAX 8

typedef struct {
    const tsr_bus_server_config_t *config;
    const char *backend_endpoint;
    atomic_int *in_flight;
    tsr_counter_t *requests;
    tsr_counter_t *errors;
    tsr_histogram_t *latency;
    tsr_counter_t *denied;
    tsr_counter_t *group_commits;       //  a batched method's transactions
    tsr_counter_t *group_committed;     //  and the requests they committed
    //  The public keys of the services' own certificates in the keyring
    //  (<service>.cert): callers holding TSR_ROLE_SERVICE.
    char service_keys [TSR_SERVICE_KEYS_MAX][41];
    int service_key_count;
} tsr_bus_worker_args_t;

//  The worker actor: connects a DEALER to the broker's backend and answers
//  [caller][envelope][route...] with [route...][reply].
void tsr_bus_worker_actor (zsock_t *pipe, void *args);

//  Ping and ListEvents, served by every service.
tsr_status_t tsr_builtin_ping (tsr_call_t *call);
tsr_status_t tsr_builtin_list_events (tsr_call_t *call);

#endif
