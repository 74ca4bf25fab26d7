/*  tsr_service: the life of a service process, the same for all seven.

    tsr_service_main reads the configuration (docs/configuration.md), applies
    the migrations when TSR_DB_ADMIN_DSN is set, starts zauth, the bus server
    with its workers, the outbox relay and the HTTP endpoint, then waits for
    SIGTERM or SIGINT: it stops taking requests, lets those in flight finish
    (TSR_DRAIN_TIMEOUT_MS), stops everything and returns 0. Signals are
    blocked in every thread but the main one, which waits for them.

    A service's main.c is its table of methods and one call:

        int main (int argc, char **argv) {
            return tsr_service_main (&s_definition, argc, argv);
        }
*/
#ifndef TSR_SERVICE_H
#define TSR_SERVICE_H

#include "tessera/bus.h"
#include "tessera/config.h"
#include "tessera/event_consumer.h"
#include "tessera/migrate.h"

typedef struct {
    const char *name;                       //  also the default schema
    int port_offset;                        //  1..99: default ports 71xx, 72xx, 81xx
    const tsr_migration_set_t *migrations;  //  the service's own, may be NULL
    const tsr_method_t *methods;
    size_t method_count;
    const tsr_replay_t *replays;        //  methods keeping a short form of replies
    size_t replay_count;
    //  Optional: the service's state, shared by the workers.
    void *(*state_new) (tsr_config_t *config, char *err, size_t err_size);
    void (*state_destroy) (void **state_p);
    //  Optional: called once the metrics registry exists, before the bus
    //  serves (register gauges, start the service's own timers). Returns 0,
    //  or -1 with err to stop the start. on_stop runs before state_destroy.
    int (*on_start) (void *state, tsr_metrics_t *metrics, char *err, size_t err_size);
    void (*on_stop) (void *state);
    //  Optional: how callers' roles are resolved (called with the state).
    //  NULL: ask enrollment over the bus (tsr_role_client).
    tsr_role_resolve_fn *resolve_roles;
    //  Optional: other services' events this one follows (event_consumer.h);
    //  apply is called with the state.
    const tsr_event_subscription_t *subscriptions;
    size_t subscription_count;
} tsr_service_definition_t;

//  The default endpoints of a service (used by services and the CLI alike).
void tsr_service_default_endpoint (int port_offset, char *endpoint, size_t size);
//  Port offsets by service name: enrollment 1, validation 2, ca 3, perso 4,
//  mail 5, revocation 6, publisher 7; 0 for an unknown name.
int tsr_service_port_offset (const char *name);

int tsr_service_main (const tsr_service_definition_t *definition, int argc, char **argv);

#endif
